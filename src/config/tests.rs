//! Loading `config/logveil.toml`: the overlay, errors without values,
//! librdkafka values as strings, unknown and unworkable settings refused.

use super::*;

#[test]
fn unknown_setting_names_it() {
    let err =
        Config::from_text("pipelines_dr = \"x\"\n", Path::new("c.toml"), Path::new("."), vec![])
            .unwrap_err()
            .to_string();
    assert!(err.starts_with("c.toml:") && err.contains("pipelines_dr"), "{err}");
}

#[test]
fn env_override_applies_and_is_reported() {
    let c = Config::from_text(
        "pipelines_dir = \"a\"\n",
        Path::new("c.toml"),
        Path::new("/etc/logveil"),
        vec![("LOGVEIL_PIPELINES_DIR".to_string(), "/srv/p".to_string())],
    )
    .unwrap();
    assert_eq!(c.pipelines_dir(), PathBuf::from("/srv/p"));
    assert_eq!(c.overrides, vec!["LOGVEIL_PIPELINES_DIR".to_string()]);
    let c = Config::from_text(
        "pipelines_dir = \"p\"\n",
        Path::new("c.toml"),
        Path::new("/etc/l"),
        vec![],
    )
    .unwrap();
    assert_eq!(c.pipelines_dir(), PathBuf::from("/etc/l/p"));
}

/// Issue 9: serde's messages quote values; what reaches the user names
/// the setting and the kind of problem only.
#[test]
fn errors_never_echo_values() {
    let canary = "98765432";
    for (text, env, field, problem) in [
        (
            "",
            vec![("LOGVEIL_SERVICE__HTTP_LISTEN", canary)],
            "service.http_listen",
            "invalid type: integer, expected socket address",
        ),
        (
            "[service]\nhttp_listen = \"98765432\"\n",
            vec![],
            "service.http_listen",
            "invalid socket address syntax",
        ),
        (
            "",
            vec![("LOGVEIL_KAFKA__AUTO_OFFSET_RESET", "x98765432")],
            "kafka.auto_offset_reset",
            "unknown variant, expected `earliest` or `latest`",
        ),
        (
            "[kafka]\nbrokers = 98765432\n",
            vec![],
            "kafka.brokers",
            "invalid type: integer, expected a string",
        ),
        (
            "[kafka]\nbrokers = [\"98765432\"]\n",
            vec![],
            "kafka.brokers",
            "invalid type: sequence, expected a string",
        ),
        (
            "[kafka.client]\n\"sasl.password\" = [98765432]\n",
            vec![],
            "kafka.client.sasl.password",
            "invalid type: sequence, expected a string, number or boolean",
        ),
        (
            "[service]\nworker_threads = \"98765432\"\n",
            vec![],
            "service.worker_threads",
            "invalid type: string, expected usize",
        ),
        (
            "[service]\nworker_threads = -98765432\n",
            vec![],
            "service.worker_threads",
            "invalid value: integer, expected usize",
        ),
    ] {
        let env: Vec<(String, String)> =
            env.into_iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        let err = Config::from_text(text, Path::new("c.toml"), Path::new("."), env.clone())
            .unwrap_err()
            .to_string();
        assert!(!err.contains(canary), "{err}");
        assert!(err.starts_with(&format!("c.toml: {field}")), "{err}");
        assert!(err.ends_with(problem), "{err}");
        if !env.is_empty() {
            assert!(err.contains(&env[0].0), "names the variable: {err}");
        }
    }
}

/// Issue 9: librdkafka properties are strings whatever they look like,
/// from TOML or from the environment.
#[test]
fn librdkafka_properties_take_any_scalar_as_its_string() {
    let c = Config::from_text(
        "[kafka.consumer]\n\"session.timeout.ms\" = 6000\n\"check.crcs\" = true\n\
         [kafka.producer]\n\"batch.size\" = \"1000\"\n\"queue.buffering.backpressure.threshold\" = 1.5\n",
        Path::new("c.toml"),
        Path::new("."),
        vec![
            ("LOGVEIL_KAFKA__CLIENT__SASL_PASSWORD".to_string(), "98765432".to_string()),
            ("LOGVEIL_KAFKA__CONSUMER__FETCH_WAIT_MAX_MS".to_string(), "100".to_string()),
        ],
    )
    .unwrap();
    let k = &c.file.kafka;
    assert_eq!(k.consumer["session.timeout.ms"], "6000");
    assert_eq!(k.consumer["check.crcs"], "true");
    assert_eq!(k.consumer["fetch.wait.max.ms"], "100");
    assert_eq!(k.producer["batch.size"], "1000");
    assert_eq!(k.producer["queue.buffering.backpressure.threshold"], "1.5");
    assert_eq!(k.client["sasl.password"], "98765432");
}

/// TOML syntax errors name the line, never the text around it.
#[test]
fn syntax_errors_never_echo_values() {
    for text in [
        "a = 98765432x\n",
        "a = \"98765432\n",
        "a = 98765432.\n",
        "a = 1_98765432_\n",
        "a = [98765432,\n",
        "a = 2024-13-98765432\n",
        "a = '98765432\n",
        "a = \"\\q98765432\"\n",
        "[kafka.client]\n\"sasl.password\" = 98765432 98765432\n",
        "a = { b = 98765432\n",
    ] {
        let err = Config::from_text(text, Path::new("c.toml"), Path::new("."), vec![])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("c.toml: line "), "{err}");
        assert!(!err.contains("98765432"), "{text:?} gave {err}");
    }
}

/// Every section refuses unknown keys, naming the path; `[stats]` also
/// refuses merged-only settings under `mode = "direct"`.
#[test]
fn unknown_keys_are_refused_in_every_section() {
    for (text, field) in [
        ("[service]\nworkers = 2\n", "c.toml: service.workers: unknown field `workers`"),
        ("[kafka]\nbrokerz = \"x\"\n", "c.toml: kafka.brokerz: unknown field `brokerz`"),
        ("[keys.ids]\nkey = \"x\"\n", "c.toml: keys.ids.key: unknown field `key`"),
        (
            "[stats]\nmode = \"merged\"\ntopic = \"x\"\n",
            "c.toml: stats.topic: unknown field `topic`",
        ),
        (
            "[stats]\nmode = \"direct\"\npartials_topic = \"x\"\n",
            "c.toml: stats: `partials_topic` and `merge_delay_ms` only apply",
        ),
    ] {
        let err = Config::from_text(text, Path::new("c.toml"), Path::new("."), vec![])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(field), "{text:?} gave {err}");
    }
}

#[test]
fn load_or_defaults_prefers_the_named_file_then_the_default_path() {
    let err =
        Config::load_or_defaults(Some(Path::new("no/such.toml")), vec![]).unwrap_err().to_string();
    assert!(err.starts_with("no/such.toml: (file): cannot read"), "{err}");
    let c = Config::load_or_defaults(None, vec![]).unwrap();
    let want = if Path::new(DEFAULT_CONFIG).exists() {
        PathBuf::from(DEFAULT_CONFIG)
    } else {
        PathBuf::from("(built-in defaults)")
    };
    assert_eq!(c.path, want);
}

/// Settings that parse but cannot work name their path as the field;
/// `[keys.*]` tables are checked here, before any key is looked up.
#[test]
fn unworkable_settings_name_their_path() {
    for (text, want) in [
        ("[kafka]\ngroup_id = \" \"\n", "c.toml: kafka.group_id: must not be empty"),
        ("[service]\nworker_threads = 0\n", "c.toml: service.worker_threads: must be 1..=1024"),
        (
            "[kafka.consumer]\n\"group.id\" = \"98765432\"\n",
            "c.toml: kafka.consumer.\"group.id\": reserved by logveil: set kafka.group_id",
        ),
        ("[keys.ids]\nid = \"98765432:x\"\n", "c.toml: keys.ids.id: key ids must be"),
        (
            "[keys.ids.previous]\ndual_write_until = \"98765432\"\n",
            "c.toml: keys.ids.previous.dual_write_until: not an RFC 3339 timestamp",
        ),
    ] {
        let err = Config::from_text(text, Path::new("c.toml"), Path::new("."), vec![])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(want), "{text:?} gave {err}");
        assert!(!err.contains("98765432"), "{err}");
    }
}

#[test]
fn syntax_error_names_line() {
    let err = Config::from_text("a = 1\nb = = 2\n", Path::new("c.toml"), Path::new("."), vec![])
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 2"), "{err}");
}
