//! Pipeline engine tests: every action through the record path, bad input,
//! nesting, unknown fields, keys, formats, and every shipped pipeline's own
//! `[[tests]]` cases.

use std::path::Path;

use logveil::error::ErrorCode;
use logveil::keys::{KeyRing, KeyStore, LoadedKey, SecretKey};
use logveil::pipeline::{Pipeline, Scratch};
use serde_json::{json, Value};

fn pipeline(fields: &str) -> Pipeline {
    pipeline_with(fields, "")
}

fn pipeline_with(fields: &str, top: &str) -> Pipeline {
    let text = format!(
        "name = \"t\"\ncategory = \"log_information\"\n{top}\n[input]\ntopics = [\"in\"]\n[output]\ntopic = \"out\"\n[fields]\n{fields}\n"
    );
    Pipeline::from_toml(&text, Path::new("t.toml"), &KeyStore::for_tests(&["ids".into()]))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn run(p: &Pipeline, input: &str) -> Result<Value, ErrorCode> {
    let mut s = Scratch::default();
    p.process(input.as_bytes(), &mut s).map_err(|e| e.code)?;
    Ok(serde_json::from_slice(&s.out).expect("output is valid JSON"))
}

fn run_counting(p: &Pipeline, input: &str) -> (Value, Vec<String>) {
    let mut s = Scratch::default();
    p.process(input.as_bytes(), &mut s).unwrap();
    let failed = s.failed_rules.iter().map(|&i| p.rules[i].path.clone()).collect();
    (serde_json::from_slice(&s.out).unwrap(), failed)
}

#[test]
fn keep_drop_and_default_deny() {
    let p = pipeline("a = \"keep\"\nb = \"drop\"\nt = \"keep_subtree\"\n");
    let out = run(&p, r#"{"a":"GET","t":{"x":[1,2.50,"s"]},"b":"secret","c":"unlisted"}"#).unwrap();
    assert_eq!(out, json!({"a":"GET","t":{"x":[1,2.5,"s"]}}));
    // kept bytes are copied verbatim (number formatting untouched)
    let mut s = Scratch::default();
    p.process(br#"{"a":2.50,"t":[1.0E2]}"#, &mut s).unwrap();
    assert_eq!(s.out, br#"{"a":2.50,"t":[1.0E2]}"#);
}

/// `keep` is a scalar rule: an object or array under it is refused with
/// `wrong_type` whatever `unknown_fields` says, and the message names the
/// configured path, the action and the accepted types, never the values.
#[test]
fn keep_refuses_objects_and_arrays_in_every_pipeline() {
    for top in ["", "unknown_fields = \"error\""] {
        let p = pipeline_with("method = \"keep\"\n\"n.result\" = \"keep\"\n", top);
        for input in [
            r#"{"method":{"card_number":"4111111111111111","cvv":"123"}}"#,
            r#"{"method":["4111111111111111"]}"#,
            r#"{"method":[]}"#,
            r#"{"method":{}}"#,
            r#"{"n":{"result":{"id":"11010519491231002X"}}}"#,
        ] {
            let mut s = Scratch::default();
            let e = p.process(input.as_bytes(), &mut s).unwrap_err();
            assert_eq!(e.code, ErrorCode::WrongType, "{input} ({top})");
            assert!(
                e.message.contains("keep accepts string, number, boolean or null, not a JSON"),
                "{}",
                e.message
            );
            for secret in ["4111", "123", "card_number", "cvv", "11010519491231002X", "\"id\""] {
                assert!(!e.message.contains(secret), "{}", e.message);
            }
        }
        // every scalar passes, bytes untouched
        let out = run(&p, r#"{"method":true,"n":{"result":null}}"#).unwrap();
        assert_eq!(out, json!({"method":true,"n":{"result":null}}));
    }
}

/// An independent table of what each action takes (written from the
/// README's field-action table), checked against the record walk and
/// against the type sets `explain` shows.
#[test]
fn every_action_accepts_exactly_its_json_types() {
    let samples: [(&str, &str); 6] = [
        ("string", r#""203.0.113.7""#),
        ("number", "1715673600"),
        ("boolean", "true"),
        ("null", "null"),
        ("object", r#"{"city":"x"}"#),
        ("array", r#"["x"]"#),
    ];
    let table: [(&str, &str, &[&str]); 14] = [
        ("keep", "\"keep\"", &["string", "number", "boolean", "null"]),
        (
            "keep_subtree",
            "\"keep_subtree\"",
            &["string", "number", "boolean", "null", "object", "array"],
        ),
        ("drop", "\"drop\"", &["string", "number", "boolean", "null", "object", "array"]),
        ("truncate_ip", "\"truncate_ip\"", &["string", "null"]),
        ("pseudonymize_ip", "{ action = \"pseudonymize_ip\", key = \"ids\" }", &["string", "null"]),
        (
            "pseudonymize",
            "{ action = \"pseudonymize\", key = \"ids\", scope = \"u\" }",
            &["string", "number", "null"],
        ),
        ("mask", "\"mask\"", &["string", "number", "null"]),
        (
            "coarsen_time",
            "{ action = \"coarsen_time\", to = \"hour\" }",
            &["string", "number", "null"],
        ),
        ("url", "\"url\"", &["string", "null"]),
        ("reduce_user_agent", "\"reduce_user_agent\"", &["string", "null"]),
        ("redact", "\"redact\"", &["string", "null"]),
        ("bucket", "{ action = \"bucket\", bounds = [0, 10] }", &["string", "number", "null"]),
        (
            "generalize_location",
            "{ action = \"generalize_location\", keep = [\"city\"] }",
            &["null", "object"],
        ),
        ("language", "\"language\"", &["string", "null"]),
    ];
    assert_eq!(table.len(), logveil::pipeline::spec::ActionSpec::NAMES.len());
    for (name, rule, accepted) in table {
        for top in ["", "unknown_fields = \"error\""] {
            let p = pipeline_with(&format!("f = {rule}\n"), top);
            let shown: Vec<&str> = p.rules[0].accepts.types().map(|t| t.name()).collect();
            assert_eq!(shown, accepted, "{name}: type set shown by explain");
            for (kind, value) in samples {
                let got = run(&p, &format!("{{\"f\":{value}}}"));
                if accepted.contains(&kind) {
                    assert!(got.is_ok(), "{name} should accept a {kind}: {got:?}");
                } else {
                    assert_eq!(got.unwrap_err(), ErrorCode::WrongType, "{name} on a {kind}");
                }
            }
        }
    }
}

/// Kept and decoded values are held to the same rule: what serde_json
/// refuses to decode (a lone surrogate escape, a number beyond f64) is
/// `invalid_json` wherever it is, and every output parses under serde_json.
#[test]
fn kept_and_decoded_values_are_equally_strict() {
    let p = pipeline_with(
        "k = \"keep\"\nt = \"keep_subtree\"\nu = { action = \"pseudonymize\", key = \"ids\", scope = \"u\" }\nd = \"drop\"\nloc = { action = \"generalize_location\", keep = [\"city\"] }\n",
        "",
    );
    for bad in [r#""\ud800""#, r#""x\udfff""#, "1e400", "-2E+999"] {
        for field in ["k", "t", "u", "d", "unlisted"] {
            let input = format!("{{\"{field}\":{bad}}}");
            assert_eq!(run(&p, &input).unwrap_err(), ErrorCode::InvalidJson, "{input}");
        }
        for input in [
            format!("{{\"t\":{{\"a\":[1,{bad}]}}}}"),
            format!("{{\"loc\":{{\"city\":{bad}}}}}"),
            format!("{{\"loc\":{{\"street\":{bad}}}}}"),
        ] {
            assert_eq!(run(&p, &input).unwrap_err(), ErrorCode::InvalidJson, "{input}");
        }
    }
    // Valid escapes and numbers at the edge pass through verbatim and parse.
    let mut s = Scratch::default();
    let ok = r#"{"k":"\ud83d\ude00\u00e9","t":{"a":[1.7976931348623157e308,"\u0041"]},"loc":{"city":-0}}"#;
    p.process(ok.as_bytes(), &mut s).unwrap();
    assert_eq!(s.out, ok.as_bytes());
    serde_json::from_slice::<Value>(&s.out).unwrap();
}

#[test]
fn keep_subtree_keeps_nested_values_within_the_depth_limit() {
    let p = pipeline_with("t = \"keep_subtree\"\n", "max_depth = 3");
    assert_eq!(run(&p, r#"{"t":[[1]]}"#).unwrap(), json!({"t":[[1]]}));
    assert_eq!(run(&p, r#"{"t":[[[1]]]}"#).unwrap_err(), ErrorCode::TooDeep);
    assert_eq!(run(&p, r#"{"t":"s","t":1}"#).unwrap_err(), ErrorCode::DuplicateField);
}

#[test]
fn truncate_ip_defaults_and_settable() {
    let p = pipeline("a = \"truncate_ip\"\nb = { action = \"truncate_ip\", ipv4_prefix = 16, ipv6_prefix = 32 }\n");
    let out = run(&p, r#"{"a":"203.0.113.77","b":"2a02:810d:9f:3a::17"}"#).unwrap();
    assert_eq!(out, json!({"a":"203.0.113.0","b":"2a02:810d::"}));
    let out = run(&p, r#"{"a":"2a02:810d:9f:3a::17","b":"10.20.30.40"}"#).unwrap();
    assert_eq!(out, json!({"a":"2a02:810d:9f::","b":"10.20.0.0"}));
}

#[test]
fn value_that_cannot_be_transformed_is_dropped_and_counted() {
    let p = pipeline(
        "ip = \"truncate_ip\"\nts = { action = \"coarsen_time\", to = \"hour\" }\nok = \"keep\"\n",
    );
    let (out, failed) = run_counting(&p, r#"{"ip":"not-an-ip 1.2.3.4","ts":"yesterday","ok":1}"#);
    assert_eq!(out, json!({"ok":1}));
    assert_eq!(failed, vec!["ip".to_string(), "ts".to_string()]);
}

#[test]
fn pseudonymize_ip_is_prefix_preserving() {
    let p = pipeline("ip = { action = \"pseudonymize_ip\", key = \"ids\" }\n");
    let a = run(&p, r#"{"ip":"192.0.2.10"}"#).unwrap()["ip"].as_str().unwrap().to_string();
    let b = run(&p, r#"{"ip":"192.0.2.200"}"#).unwrap()["ip"].as_str().unwrap().to_string();
    let a: std::net::Ipv4Addr = a.parse().unwrap();
    let b: std::net::Ipv4Addr = b.parse().unwrap();
    assert_ne!(a, "192.0.2.10".parse::<std::net::Ipv4Addr>().unwrap());
    // 192.0.2.10 and 192.0.2.200 share 24 bits: so do their pseudonyms
    assert_eq!(u32::from(a) >> 8, u32::from(b) >> 8);
    assert_ne!(a, b);
    let v6 = run(&p, r#"{"ip":"2001:db8::1"}"#).unwrap();
    assert!(v6["ip"].as_str().unwrap().parse::<std::net::Ipv6Addr>().is_ok());
}

#[test]
fn pseudonymize_format_scopes_and_numbers() {
    let p = pipeline(
        "u = { action = \"pseudonymize\", key = \"ids\", scope = \"user\" }\ns = { action = \"pseudonymize\", key = \"ids\", scope = \"session\" }\n",
    );
    let out = run(&p, r#"{"u":"abc","s":"abc"}"#).unwrap();
    let u = out["u"].as_str().unwrap();
    assert!(u.starts_with("test:") && u.len() == 5 + 22, "{u}");
    assert_ne!(out["u"], out["s"], "scopes must be unlinkable");
    assert_eq!(run(&p, r#"{"u":"abc"}"#).unwrap()["u"], out["u"], "deterministic");
    // a numeric id hashes its decimal text
    assert_eq!(run(&p, r#"{"u":12345}"#).unwrap()["u"], run(&p, r#"{"u":"12345"}"#).unwrap()["u"]);
    assert_eq!(run(&p, r#"{"u":null}"#).unwrap(), json!({"u":null}));
    assert_eq!(run(&p, r#"{"u":true}"#).unwrap_err(), ErrorCode::WrongType);
}

#[test]
fn dual_write_during_rotation_overlap() {
    let mut keys = KeyStore::for_tests(&["ids".into()]);
    let current = keys.ring("ids").unwrap().current.clone();
    keys.insert(KeyRing {
        name: "ids".into(),
        current,
        previous: Some((
            LoadedKey { id: "old".into(), key: SecretKey::well_known_test_key("old") },
            Some(i64::MAX),
        )),
    });
    let text = "name = \"t\"\ncategory = \"payment\"\n[input]\ntopics = [\"in\"]\n[output]\ntopic = \"out\"\n[fields]\nuser_id = { action = \"pseudonymize\", key = \"ids\", scope = \"user\" }\n";
    let p = Pipeline::from_toml(text, Path::new("t.toml"), &keys).unwrap();
    let out = run(&p, r#"{"user_id":"u_1"}"#).unwrap();
    assert!(out["user_id"].as_str().unwrap().starts_with("test:"));
    assert!(out["user_id_prev"].as_str().unwrap().starts_with("old:"));
}

#[test]
fn mask_coarsen_url_language_bucket() {
    let p = pipeline(
        "card = { action = \"mask\", keep_last = 4 }\n\
         t1 = { action = \"coarsen_time\", to = \"minute\" }\n\
         t2 = { action = \"coarsen_time\", to = \"hour\" }\n\
         t3 = { action = \"coarsen_time\", to = \"day\" }\n\
         path = { action = \"url\", keep = \"path\", keep_params = [\"page\"] }\n\
         ref = { action = \"url\", keep = \"origin\" }\n\
         lang = \"language\"\n\
         age = { action = \"bucket\", bounds = [0, 18, 25, 35] }\n",
    );
    let out = run(
        &p,
        r#"{"card":"4111 1111 1111 1234","t1":"2024-05-14T08:17:42.123Z","t2":1715674662123,"t3":1715674662,
            "path":"/api/v1/users/44?token=abc&page=2#x","ref":"https://user:pw@www.bing.com/search?q=alice",
            "lang":"de-DE,de;q=0.9,en;q=0.6","age":29}"#,
    )
    .unwrap();
    assert_eq!(
        out,
        json!({"card":"************1234","t1":"2024-05-14T08:17:00.000Z","t2":1715673600000_i64,
               "t3":1715644800,"path":"/api/v1/users/44?page=2","ref":"https://www.bing.com",
               "lang":"de","age":"25-35"})
    );
}

#[test]
fn language_keeps_absent_markers_and_drops_garbage() {
    let p = pipeline("lang = \"language\"\n");
    assert_eq!(run_counting(&p, r#"{"lang":"-"}"#), (json!({"lang":"-"}), vec![]));
    assert_eq!(run_counting(&p, r#"{"lang":""}"#), (json!({"lang":""}), vec![]));
    assert_eq!(run_counting(&p, r#"{"lang":"*;q=0.1"}"#), (json!({}), vec!["lang".to_string()]));
}

#[test]
fn reduce_user_agent_replaces_string_by_object() {
    let p = pipeline("ua = \"reduce_user_agent\"\n");
    let out = run(&p, r#"{"ua":"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36"}"#).unwrap();
    assert_eq!(
        out,
        json!({"ua":{"browser":"Chrome","browser_major":"124","os":"Android","device":"mobile"}})
    );
    assert!(!out.to_string().contains("SM-S918B"));
}

#[test]
fn redact_free_text() {
    let p = pipeline("msg = \"redact\"\n");
    let out = run(&p, r#"{"msg":"call me on 13800138000 or mail bob@example.com, card 4111 1111 1111 1111, id 11010519491231002X"}"#).unwrap();
    let m = out["msg"].as_str().unwrap();
    for label in ["[PHONE]", "[EMAIL]", "[CARD]", "[CN_ID]"] {
        assert!(m.contains(label), "{m}");
    }
    for raw in ["13800138000", "bob@example.com", "4111", "11010519491231002X"] {
        assert!(!m.contains(raw), "{m}");
    }
}

#[test]
fn generalize_location_keeps_listed_levels() {
    let p =
        pipeline("loc = { action = \"generalize_location\", keep = [\"country\", \"city\"] }\n");
    let out = run(&p, r#"{"loc":{"country":"CN","region":"Guangdong","city":"Shenzhen","street":"1 Main St","postcode":"518000"}}"#).unwrap();
    assert_eq!(out, json!({"loc":{"country":"CN","city":"Shenzhen"}}));
    assert_eq!(run(&p, r#"{"loc":"Shenzhen"}"#).unwrap_err(), ErrorCode::WrongType);
}

/// Levels are scalars (an object or array level is `wrong_type`, never
/// copied) and appear once (a repeated level is `duplicate_field`, however
/// it is escaped); unlisted keys may repeat, they are dropped anyway.
#[test]
fn generalize_location_levels_are_single_scalars() {
    let p =
        pipeline("loc = { action = \"generalize_location\", keep = [\"country\", \"city\"] }\n");
    let mut s = Scratch::default();
    for (input, code) in [
        (r#"{"loc":{"city":{"street":"88 Shennan Rd","name":"Ling Chen"}}}"#, ErrorCode::WrongType),
        (r#"{"loc":{"country":"CN","city":["Shenzhen","88 Shennan Rd"]}}"#, ErrorCode::WrongType),
        (r#"{"loc":{"city":"Shenzhen","city":"88 Shennan Rd"}}"#, ErrorCode::DuplicateField),
        (r#"{"loc":{"city":"Shenzhen","ci\u0074y":"88 Shennan Rd"}}"#, ErrorCode::DuplicateField),
    ] {
        let e = p.process(input.as_bytes(), &mut s).unwrap_err();
        assert_eq!(e.code, code, "{input}");
        assert!(e.message.contains("`loc.city`"), "{}", e.message);
        assert!(!e.message.contains("Shennan") && !e.message.contains("street"), "{}", e.message);
    }
    let out = run(&p, r#"{"loc":{"street":"a","street":"b","city":7,"country":null}}"#).unwrap();
    assert_eq!(out, json!({"loc":{"city":7,"country":null}}));
}

#[test]
fn nested_paths() {
    let p = pipeline(
        "\"device.os\" = \"keep\"\n\"device.model\" = \"drop\"\n\"geo.ip\" = \"truncate_ip\"\n",
    );
    let out = run(&p, r#"{"device":{"os":"Android","model":"SM-S918B","imei":"35"},"geo":{"ip":"1.2.3.4"},"x":1}"#).unwrap();
    assert_eq!(out, json!({"device":{"os":"Android"},"geo":{"ip":"1.2.3.0"}}));
    // an object whose kept fields are all absent disappears
    let out = run(&p, r#"{"device":{"model":"X"},"geo":"not an object"}"#).unwrap();
    assert_eq!(out, json!({}));
}

#[test]
fn unknown_fields_error_mode() {
    let p = pipeline_with("a = \"keep\"\n\"device.os\" = \"keep\"\n", "unknown_fields = \"error\"");
    assert_eq!(run(&p, r#"{"a":1}"#).unwrap(), json!({"a":1}));
    // The unlisted field is named by its position, never by its name: names
    // can be personal (IDs, phones and emails are used as keys).
    let mut s = Scratch::default();
    for (input, message) in [
        (r#"{"a":1,"secret_field":"value123"}"#, "field #2 of the record is not listed"),
        (r#"{"11010519491231002X":"x"}"#, "field #1 of the record is not listed"),
        (
            r#"{"device":{"os":"iOS","13800138000":1}}"#,
            "field #2 of the object at `device` is not listed",
        ),
        (r#"{"a":1,"\u0031\u0033\u0038":1}"#, "field #2 of the record is not listed"),
    ] {
        let e = p.process(input.as_bytes(), &mut s).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnknownField);
        assert_eq!(e.message, message);
    }
}

#[test]
fn bad_input_kinds_have_their_own_codes() {
    let p = pipeline_with(
        "a = \"keep_subtree\"\nip = \"truncate_ip\"\nk = \"keep\"\n",
        "max_record_bytes = 64\nmax_depth = 3",
    );
    let cases: &[(&[u8], ErrorCode)] = &[
        (b"", ErrorCode::EmptyRecord),
        (b"   ", ErrorCode::EmptyRecord),
        (b"{\"a\":\"\xff\xfe\"}", ErrorCode::InvalidUtf8),
        (b"{\"a\":1", ErrorCode::InvalidJson),
        (b"{\"a\":1}}", ErrorCode::InvalidJson),
        (b"{a:1}", ErrorCode::InvalidJson),
        (b"[1,2]", ErrorCode::NotAnObject),
        (b"\"str\"", ErrorCode::NotAnObject),
        (b"42", ErrorCode::NotAnObject),
        (b"null", ErrorCode::NotAnObject),
        (&[b' '; 65], ErrorCode::TooLarge),
        (b"{\"a\":[[[1]]]}", ErrorCode::TooDeep),
        (b"{\"z\":[[[1]]]}", ErrorCode::TooDeep),
        (b"{\"ip\":{\"x\":1}}", ErrorCode::WrongType),
        (b"{\"ip\":[1]}", ErrorCode::WrongType),
        (b"{\"k\":[1]}", ErrorCode::WrongType),
        (b"{\"k\":{\"x\":1}}", ErrorCode::WrongType),
        (b"{\"k\":\"\\ud800\"}", ErrorCode::InvalidJson),
        (b"{\"k\":1e400}", ErrorCode::InvalidJson),
        (b"{\"a\":1,\"a\":2}", ErrorCode::DuplicateField),
    ];
    for (input, code) in cases {
        let mut s = Scratch::default();
        let e = p.process(input, &mut s).unwrap_err();
        assert_eq!(e.code, *code, "input {:?}", String::from_utf8_lossy(input));
        assert!(s.out.is_empty());
    }
    // depth within the limit passes
    assert!(run(&p, r#"{"a":[[1]]}"#).is_ok());
}

#[test]
fn errors_never_contain_raw_values() {
    let p = pipeline("ip = \"truncate_ip\"\n");
    for input in [
        r#"{"ip":{"x":"SECRETVALUE"}}"#,
        r#"{"ip":"SECRETVALUE""#,
        r#"["SECRETVALUE"]"#,
        r#"{"ip":"SECRETVALUE","ip":"x"}"#,
    ] {
        let mut s = Scratch::default();
        let e = p.process(input.as_bytes(), &mut s).unwrap_err();
        assert!(!e.message.contains("SECRETVALUE"), "{}", e.message);
    }
}

#[test]
fn deeply_nested_garbage_does_not_panic() {
    let p = pipeline("a = \"keep\"\n");
    let deep = "[".repeat(100_000);
    let mut s = Scratch::default();
    assert!(p.process(format!("{{\"a\":{deep}").as_bytes(), &mut s).is_err());
    assert!(p.process(format!("{{\"b\":{deep}").as_bytes(), &mut s).is_err());
}

#[test]
fn escaped_keys_and_strings() {
    let p = pipeline("\"a\\\"b\" = \"keep\"\nmsg = \"redact\"\n");
    let out = run(&p, r#"{"a\"b":1,"msg":"line\nbreak \"quoted\" \u00e9"}"#).unwrap();
    assert_eq!(out, json!({"a\"b":1,"msg":"line\nbreak \"quoted\" é"}));
}

#[test]
fn config_errors_name_file_field_problem() {
    let keys = KeyStore::for_tests(&["ids".into()]);
    let base = "name = \"t\"\ncategory = \"payment\"\n[input]\ntopics = [\"in\"]\n[output]\ntopic = \"out\"\n[fields]\n";
    let cases = [
        ("ip = { action = \"truncate_ip\", ipv4_prefix = 33 }", "fields.ip.ipv4_prefix"),
        ("ip = \"truncate\"", "unknown action `truncate`"),
        ("u = { action = \"pseudonymize\", key = \"nope\", scope = \"u\" }", "key ring `nope`"),
        ("a = \"keep\"\n\"a.b\" = \"keep\"", "fields.a.b"),
        ("b = { action = \"bucket\", bounds = [3, 1] }", "fields.b.bounds"),
        ("m = { action = \"mask\", keep_lst = 4 }", "keep_lst"),
        (
            "l = { action = \"generalize_location\", keep = [\"city\", \"city\"] }",
            "fields.l.keep: level `city` is listed twice",
        ),
        ("t = { action = \"keep_subtree\", depth = 2 }", "depth"),
    ];
    for (fields, needle) in cases {
        let err =
            Pipeline::from_toml(&format!("{base}{fields}\n"), Path::new("pipelines/x.toml"), &keys)
                .unwrap_err()
                .to_string();
        assert!(err.starts_with("pipelines/x.toml: "), "{err}");
        assert!(err.contains(needle), "{err} should mention {needle}");
    }
    let err =
        Pipeline::from_toml("name = \"t\"\ncategory = \"nope\"\n", Path::new("x.toml"), &keys)
            .unwrap_err()
            .to_string();
    assert!(err.contains("x.toml") && err.contains("nope"), "{err}");
}

#[test]
fn record_key_treatments() {
    let keys = KeyStore::for_tests(&["ids".into()]);
    let mk = |key: &str| {
        let text = format!("name = \"t\"\ncategory = \"payment\"\n[input]\ntopics = [\"in\"]\n[output]\ntopic = \"out\"\nkey = {key}\n[fields]\na = \"keep\"\n");
        Pipeline::from_toml(&text, Path::new("t.toml"), &keys).unwrap()
    };
    let mut s = Scratch::default();
    assert!(mk("\"keep\"").transform_key(Some(b"k1"), &mut s));
    assert_eq!(s.key_out, b"k1");
    assert!(!mk("\"drop\"").transform_key(Some(b"k1"), &mut s));
    // Without `[output] key` the key is dropped: keys are often user IDs.
    assert!(!pipeline("a = \"keep\"\n").transform_key(Some(b"u_6113088066"), &mut s));
    assert!(s.key_out.is_empty());
    for not_for_keys in ["\"keep_subtree\"", "\"truncate_ip\"", "\"mask\""] {
        let text = format!("name = \"t\"\ncategory = \"payment\"\n[input]\ntopics = [\"in\"]\n[output]\ntopic = \"out\"\nkey = {not_for_keys}\n[fields]\na = \"keep\"\n");
        let e = Pipeline::from_toml(&text, Path::new("t.toml"), &keys).unwrap_err().to_string();
        assert!(e.contains("output.key") && e.contains("not allowed for record keys"), "{e}");
    }
    let p = mk("{ action = \"pseudonymize\", key = \"ids\", scope = \"user\" }");
    assert!(p.transform_key(Some(b"u_1"), &mut s));
    assert!(s.key_out.starts_with(b"test:") && !s.key_out.windows(3).any(|w| w == b"u_1"));
}

#[test]
fn combined_and_common_formats() {
    let keys = KeyStore::for_tests(&["ids".into()]);
    let p = Pipeline::load(Path::new("pipelines/web_server_combined.toml"), &keys).unwrap();
    let line = r#"203.0.113.77 - frank [14/May/2024:08:17:42 +0200] "GET /u/4411?token=abc&page=2 HTTP/1.1" 200 1156 "https://www.google.com/search?q=frank" "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36""#;
    let out = run(&p, line).unwrap();
    assert_eq!(out["client_ip"], "203.0.113.0");
    assert_eq!(out["ts"], "2024-05-14T08:17:00+02:00");
    assert_eq!(out["path"], "/u/4411?page=2");
    assert_eq!(out["referrer"], "https://www.google.com");
    assert_eq!(out["user_agent"]["browser"], "Chrome");
    assert!(out["user"].as_str().unwrap().starts_with("test:"));
    assert!(out.get("ident").is_none());
    assert_eq!(run(&p, "garbage line").unwrap_err(), ErrorCode::InvalidLogLine);

    let common =
        pipeline_with("client_ip = \"truncate_ip\"\nstatus = \"keep\"\n", "format = \"common\"");
    let out = run(&common, r#"10.1.2.3 - - [01/Feb/2024:00:00:01 +0000] "GET / HTTP/1.1" 304 -"#)
        .unwrap();
    assert_eq!(out, json!({"client_ip":"10.1.2.0","status":304}));
}
#[test]
fn every_shipped_pipeline_passes_its_own_cases() {
    let files = logveil::pipeline::set::pipeline_files(Path::new("pipelines")).unwrap();
    assert!(files.len() >= 7);
    let mut categories = std::collections::BTreeSet::new();
    for f in &files {
        let p = logveil::cmd::test_cases::load_with_test_keys(f).unwrap();
        categories.insert(p.category);
        assert!(!p.tests.is_empty(), "{} has no [[tests]]", f.display());
        for (name, result) in logveil::cmd::test_cases::run_cases(&p) {
            assert_eq!(
                result,
                logveil::cmd::test_cases::CaseResult::Passed,
                "{} :: {name}",
                p.name
            );
        }
    }
    assert_eq!(categories.len(), 7, "one pipeline per data category");
}

/// `explain` shows each rule's accepted types, marks `keep_subtree`
/// unprotected, and shows the record-key choice (dropped by default).
#[test]
fn explain_shows_types_unprotected_subtrees_and_key_choice() {
    let keys = KeyStore::for_tests(&["ids".into()]);
    let p = pipeline("method = \"keep\"\nextra = \"keep_subtree\"\nip = \"truncate_ip\"\n");
    let keyed = Pipeline::from_toml(
        "name = \"k\"\ncategory = \"payment\"\n[input]\ntopics = [\"in2\"]\n[output]\ntopic = \"out2\"\nkey = { action = \"pseudonymize\", key = \"ids\", scope = \"user\" }\n[fields]\na = \"keep\"\n",
        Path::new("k.toml"),
        &keys,
    )
    .unwrap();
    let set = logveil::pipeline::PipelineSet::new(vec![p, keyed]).unwrap();
    let md =
        logveil::cmd::explain::render(&logveil::config::Config::defaults(), &set, &keys, false);
    assert!(
        md.contains("| `method` | kept as is (scalars only) | string, number, boolean or null |"),
        "{md}"
    );
    assert!(md.contains("| `ip` |") && md.contains("| string or null |"), "{md}");
    assert!(md.contains("| `extra` | **unprotected**"), "{md}");
    assert!(md.contains("**Unprotected:** `extra` is kept whole"), "{md}");
    assert!(md.contains("- Kafka record key: removed (the default)"), "{md}");
    assert!(
        md.contains("- Kafka record key: pseudonymized") && md.contains("scope `user`"),
        "{md}"
    );
}
