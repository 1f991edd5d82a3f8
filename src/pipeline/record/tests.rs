//! The scanner-driven walk against the serde_json-driven walk it replaced
//! ([`super::super::reference`]): on any input, the same output bytes and
//! dropped-field list, or the same error code (and the same message, which
//! names fields, never values); and every output parses under serde_json.

use std::path::Path;

use proptest::prelude::*;

use super::*;
use crate::keys::KeyStore;
use crate::pipeline::reference;

fn pipeline(fields: &str, top: &str) -> Pipeline {
    let text = format!(
        "name = \"t\"\ncategory = \"log_information\"\n{top}\n[input]\ntopics = [\"in\"]\n[output]\ntopic = \"out\"\n[fields]\n{fields}\n"
    );
    Pipeline::from_toml(&text, Path::new("t.toml"), &KeyStore::for_tests(&["ids".into()]))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Every action, a nested level and a level with more than 16 children.
const ALL_ACTIONS: &str = r#"
ts = { action = "coarsen_time", to = "minute" }
ip = { action = "truncate_ip" }
pip = { action = "pseudonymize_ip", key = "ids" }
uid = { action = "pseudonymize", key = "ids", scope = "user" }
email = { action = "pseudonymize", key = "ids", scope = "email", normalize = true, keep_domain = true }
card = { action = "mask", keep_last = 4 }
path = { action = "url", keep = "path", keep_params = ["page", "q"] }
ref = { action = "url", keep = "origin" }
ua = "reduce_user_agent"
lang = "language"
age = { action = "bucket", bounds = [18, 65] }
loc = { action = "generalize_location", keep = ["country", "city"] }
note = { action = "redact", detectors = ["email", "phone"] }
k = "keep"
ks = "keep_subtree"
d = "drop"
"n.a" = "keep"
"n.s" = "keep_subtree"
"n.b" = { action = "truncate_ip" }
"n.m.x" = "keep"
"#;

fn wide_level() -> String {
    (0..20).map(|i| format!("f{i} = \"{}\"\n", if i % 3 == 0 { "drop" } else { "keep" })).collect()
}

fn pipelines() -> Vec<Pipeline> {
    vec![
        pipeline(ALL_ACTIONS, ""),
        pipeline(ALL_ACTIONS, "unknown_fields = \"error\""),
        pipeline(ALL_ACTIONS, "max_depth = 3"),
        pipeline(&wide_level(), "max_depth = 2"),
    ]
}

/// Same result from both walks, or a failure naming the input.
fn same(p: &Pipeline, input: &[u8], scratch: &mut Scratch) -> Result<(), TestCaseError> {
    let new =
        p.process(input, scratch).map(|()| (scratch.out.clone(), scratch.failed_rules.clone()));
    let old = reference::process(p, input);
    let show = String::from_utf8_lossy(input);
    match (new, old) {
        (Ok(a), Ok(b)) => {
            // Every output parses under serde_json: kept values included.
            prop_assert!(
                serde_json::from_slice::<serde_json::Value>(&a.0).is_ok(),
                "output does not parse: {}",
                String::from_utf8_lossy(&a.0)
            );
            prop_assert_eq!(
                String::from_utf8_lossy(&a.0),
                String::from_utf8_lossy(&b.0),
                "{}",
                show
            );
            prop_assert_eq!(a.1, b.1, "{}", show);
        }
        (Err(a), Err(b)) => {
            prop_assert_eq!(a.code, b.code, "{}", show);
            prop_assert_eq!(a.message, b.message, "{}", show);
        }
        (a, b) => prop_assert!(false, "{show}: new {a:?} vs old {b:?}"),
    }
    Ok(())
}

#[test]
fn reference_workload_is_byte_identical() {
    let keys = KeyStore::for_tests(&["ids".into()]);
    let p = Pipeline::load(Path::new("pipelines/access_log.toml"), &keys).unwrap();
    let mut scratch = Scratch::default();
    for r in crate::workload::generate(7, 3000) {
        same(&p, &r, &mut scratch).unwrap();
    }
}

#[test]
fn edge_cases_match() {
    let mut scratch = Scratch::default();
    let deep = format!("{{\"k\":{}1{}}}", "[".repeat(200), "]".repeat(200));
    let deep_skip = format!("{{\"zz\":{}1{}}}", "[".repeat(200), "]".repeat(200));
    let deep_bad = format!("{{\"k\":{}1{},}}", "[".repeat(200), "]".repeat(199));
    let cases: Vec<&[u8]> = vec![
        b"",
        b"  ",
        "\u{a0}".as_bytes(),
        b"\xff",
        b"{\"k\":\"\xff\"}",
        b"[1]",
        b"[1,",
        b"\"s\"",
        b"\"\\ud800\"",
        b"12",
        b"1e400",
        b"true",
        b"nul",
        b"null",
        b"{}",
        b"{} x",
        b"{}{}",
        b"{\"k\":1,}",
        b"{\"k\" 1}",
        b"{\"k\":1 \"d\":2}",
        b"{\"k\":1,\"k\":2}",
        b"{\"\\u006b\":1}",
        b"{\"k\":\"\\ud800\",\"d\":\"\\ud800\"}",
        b"{\"d\":\"\\ud800\"}",
        b"{\"zz\":\"\\ud800\"}",
        b"{\"zz\":1e400}",
        b"{\"zz\":5E9721474836480,\"k\":1}",
        b"{\"d\":-2e+99999999999}",
        b"{\"age\":0e99999999999}",
        b"{\"zz\":1e-99999999999}",
        b"{\"k\":1e400}",
        b"{\"d\":1e400}",
        b"{\"age\":1e400}",
        b"{\"age\":-0}",
        b"{\"uid\":-0,\"card\":1.5e3,\"ts\":1715673600123,\"age\":18446744073709551616}",
        b"{\"uid\":18446744073709551615,\"card\":-9223372036854775809}",
        b"{\"ts\":1.7e12,\"age\":\"33\",\"ip\":null,\"uid\":true}",
        b"{\"ip\":[1,2,garbage",
        b"{\"ip\":{\"a\":",
        b"{\"loc\":{\"country\":\"CN\",\"city\":[[[[1]]]],\"x\":{\"y\":1}}}",
        b"{\"loc\":\"CN\"}",
        b"{\"n\":{\"a\":1,\"b\":\"1.2.3.4\",\"m\":{\"x\":[],\"y\":2}}}",
        b"{\"n\":[[[[[1]]]]]}",
        b"{\"n\":[[[[[1]]]]],\"k\":[1,}",
        b"{\"n\":{\"m\":{\"x\":{\"deep\":{\"er\":1}}}}}",
        b"{\"n\":\"x\",\"n\":{}}",
        b"{\"k\":[{\"a\":[{\"b\":1}]}]}",
        b"{\"zz\":{\"a\":{\"b\":{\"c\":1}}}}",
        b"{\"zz\":[1,{\"a\":[]}]}",
        b"{\"k\" : \"a\\\"b\" , \"ua\" : \"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)\"}",
        b"{\"path\":\"/a?page=2&q=x&t=1\",\"ref\":\"HTTPS://Ex.COM:8443/x\\u0041\",\"lang\":\"de-DE,de;q=0.9\"}",
        b"{\"note\":\"mail bob@example.com or +8613800138000\",\"email\":\" Bob@Ex.com \"}",
        b"{\"ts\":\"2024-05-14T08:17:42.123+02:00\",\"ip\":\"2a02:810d:9f:3a::17\",\"pip\":\"1.2.3.4\"}",
        b"{\"f0\":1,\"f1\":2,\"f19\":{\"a\":{}},\"f18\":[[]],\"f3\":[[1]]}",
        b"{\"k\":{\"a\":1}}",
        b"{\"k\":[1,2],\"d\":1}",
        b"{\"k\":{\"a\":garbage",
        b"{\"k\":\"\\ud800\"}",
        b"{\"k\":\"\\ud800\x01\"}",
        b"{\"k\":\"\\ud800\\x\"}",
        b"{\"k\":\"a\\u00e9\\ud83d\\ude00\"}",
        b"{\"k\" :\n 1e400 }",
        b"{\"k\":-1E-400,\"ks\":1}",
        b"{\"ks\":{\"a\":[1,{\"b\":\"\\ud800\"}]}}",
        b"{\"ks\":{\"a\":[1,{\"b\":\"\\udc00\"}]},\"k\":1}",
        b"{\"ks\":[1e400]}",
        b"{\"ks\":\n[[[[[[1]]]]]]}",
        b"{\"ks\":{\"a\":{\"b\":{}}},\"n\":{\"s\":[{}],\"a\":{}}}",
        b"{\"loc\":{\"city\":\"a\",\"city\":\"b\"}}",
        b"{\"loc\":{\"city\":\"a\",\"ci\\u0074y\":\"b\"}}",
        b"{\"loc\":{\"x\":1,\"x\":2,\"city\":true}}",
        b"{\"loc\":{\"city\":{\"x\":1}}}",
        b"{\"loc\":{\"city\":[]}}",
        b"{\"loc\":{\"country\":\"\\ud800\"}}",
        b"{\"loc\":{\"country\":1e999,\"city\":1}}",
        b"{\"loc\":null,\"ip\":false}",
        b"{\"loc\":[1]}",
        b"{\"zz\":1,\"yy\":2,\"n\":{\"a\":1,\"q\":2}}",
        b"{\"n\":{\"a\":1,\"\\u0071\":2}}",
        // Members taken by the key-literal fast path and by the general
        // path in one record: duplicates across the two, an escaped
        // spelling of a hinted name, whitespace before and after keys.
        b"{\"ip\":\"1.2.3.4\",\"ts\":1,\"ip\":\"1.2.3.4\"}",
        b"{\"ts\":1,\"ip\":\"1.2.3.4\",\"pip\":\"1.2.3.4\",\"p\\u0069p\":\"1.2.3.4\"}",
        b"{\"ts\":1,\"\\u0069p\":\"1.2.3.4\",\"pip\":\"1.2.3.4\"}",
        b"{ \"ts\" :1,\n\"ip\":\"1.2.3.4\" , \"pip\":\"1.2.3.4\"}",
        b"{\"ts\":1,\"ip\":",
        b"{\"ts\":1,\"ip\"",
        b"{\"ts\":1,\"ip",
        b"{\"n\":{\"a\":1,\"b\":\"1.2.3.4\",\"a\":2}}",
        b"{\"f0\":1,\"f1\":2,\"f2\":3,\"f1\":4}",
        deep.as_bytes(),
        deep_skip.as_bytes(),
        deep_bad.as_bytes(),
    ];
    for p in pipelines() {
        for c in &cases {
            same(&p, c, &mut scratch).unwrap();
        }
    }
}

/// Field names the pipelines know, and some they don't.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "ts", "ip", "pip", "uid", "email", "card", "path", "ref", "ua", "lang", "age", "loc",
            "note", "k", "d", "n", "a", "b", "m", "x", "country", "city", "f0", "f1", "f3", "f19",
            "zz", "k\\u0041", "\\u006b", "ks", "s",
        ])
        .prop_map(String::from),
        "[a-z]{1,3}",
    ]
}

/// JSON values, mostly valid, some with the edge cases that decide between
/// accepting and refusing.
fn value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| f.to_string()),
        prop::sample::select(vec![
            "-0",
            "1e400",
            "0.5e-400",
            "1E2",
            "true",
            "false",
            "null",
            "\"\\ud800\"",
            "\"\\udfff\"",
            "\"a\\ud800\\u0041\"",
            "\"\\ud83d\\ude00\"",
            "\"-\"",
            "\"\"",
            "\"1.2.3.4\"",
            "\"::ffff:1.2.3.4\"",
            "\"2024-05-14T08:00:37.002Z\"",
            "\"2024-02-30T00:00:00Z\"",
            "\"1715673600\"",
            "\"https://u:p@Example.com/a?q=1#f\"",
            "\"/x?page=1&token=t\"",
            "\"de-DE,de;q=0.9\"",
            "\"Mozilla/5.0 (Linux; Android 14; SM-S918B) Chrome/124.0.1 Mobile Safari/537.36\"",
            "\"a@b.com\"",
            "\"4111111111111111\"",
            "\"tab\\there\"",
            "\"caf\u{e9}\"",
        ])
        .prop_map(String::from),
        any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap()),
    ];
    leaf.prop_recursive(4, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((name(), inner), 0..5).prop_map(|v| {
                let members: Vec<String> =
                    v.into_iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    })
}

/// A record of known and unknown members, written compactly (as the walk's
/// key-literal fast path expects) or with spaces.
fn record() -> impl Strategy<Value = String> {
    (prop::collection::vec((name(), value()), 0..8), any::<bool>()).prop_map(|(v, compact)| {
        let (colon, comma) = if compact { (":", ",") } else { (": ", ", ") };
        let members: Vec<String> =
            v.into_iter().map(|(k, v)| format!("\"{k}\"{colon}{v}")).collect();
        format!("{{{}}}", members.join(comma))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn random_records_match_the_reference(
        r in record(), cut in any::<prop::sample::Index>(), byte in any::<u8>(), what in 0..5u8,
    ) {
        let pipes = pipelines();
        let mut scratch = Scratch::default();
        let mut doc = r.into_bytes();
        for p in &pipes {
            same(p, &doc, &mut scratch)?;
        }
        let at = cut.index(doc.len());
        match what {
            0 => doc.truncate(at),
            1 => { doc.remove(at); }
            2 => doc.insert(at, byte),
            3 => doc[at] = byte,
            _ => doc.insert(at, b' '),
        }
        for p in &pipes {
            same(p, &doc, &mut scratch)?;
        }
    }

    #[test]
    fn mutated_workload_records_match_the_reference(
        seed in any::<u64>(), cut in any::<prop::sample::Index>(), byte in any::<u8>(), what in 0..4u8,
    ) {
        let keys = KeyStore::for_tests(&["ids".into()]);
        let p = Pipeline::load(Path::new("pipelines/access_log.toml"), &keys).unwrap();
        let mut scratch = Scratch::default();
        let mut doc = crate::workload::generate(seed, 1).remove(0);
        let at = cut.index(doc.len());
        match what {
            0 => doc.truncate(at),
            1 => { doc.remove(at); }
            2 => doc.insert(at, byte),
            _ => doc[at] = byte,
        }
        same(&p, &doc, &mut scratch)?;
    }
}
