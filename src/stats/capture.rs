//! Statistics fields located by the record walk, so the statistics do not
//! scan each anonymized record a second time.
//!
//! At compile time, [`mark_captures`] gives every rule of the pipeline's
//! field tree whose output a statistic reads the number of its node in the
//! extraction trie (`Child::stats_node`). While the walk writes a record,
//! each such field that is written notes `(trie node, where its value
//! starts in the output)` in `Scratch::stats_located`; the extractor then
//! reads just those values, from the output bytes, with the same code that
//! reads a whole record ([`super::StatsExtractor::extract_located`]), so the
//! statistics still see only anonymized values and exactly the values a
//! scan of the output would find.
//!
//! Marking is all or nothing: when some statistics path cannot be located
//! this way (it names no field of the tree, such as a dual-written
//! `*_prev` pseudonym, or names an object level the tree descends into),
//! the pipeline keeps scanning its output (`Pipeline::stats_capture` is
//! `false`).

use super::compile::CompiledStat;
use super::engine::StatsExtractor;
use super::extract::PathTrie;
use crate::pipeline::compile::{ChildKind, Node};

/// Marks the children of `root` the statistics read; `true` when every
/// statistics path can be located by the walk (see the module doc).
pub fn mark_captures(stats: &[CompiledStat], root: &mut Node) -> bool {
    if stats.is_empty() {
        return false;
    }
    let (extractor, _) = StatsExtractor::build(stats);
    mark(extractor.trie(), 0, root)
}

fn mark(trie: &PathTrie, at: usize, level: &mut Node) -> bool {
    let mut complete = true;
    for (name, node) in trie.children(at) {
        let (Some(ci), Ok(id)) = (level.lookup(name), u32::try_from(*node)) else {
            complete = false;
            continue;
        };
        let child = &mut level.children[ci];
        match &mut child.kind {
            ChildKind::Rule(_) => child.stats_node = Some(id),
            ChildKind::Nested(sub) => {
                // A path ending at the object itself reads it whole.
                complete &= trie.slot_of(*node).is_none();
                complete &= mark(trie, *node, sub);
            }
        }
    }
    complete
}

#[cfg(test)]
mod tests {
    //! Statistics fed from the values the walk located equal statistics fed
    //! from scanning the output, and both equal what serde_json finds at
    //! each path of the output (an independent parser as oracle).
    use std::path::Path;

    use proptest::prelude::*;
    use serde_json::{json, Value};

    use super::super::engine::StatsExtractor;
    use super::super::extract::Val;
    use super::super::{Observation, StatsEngine, StatsRow};
    use crate::keys::KeyStore;
    use crate::pipeline::{Pipeline, Scratch};

    const PIPELINE: &str = r#"
name = "t"
category = "log_information"
[input]
topics = ["in"]
[output]
topic = "out"
[fields]
ts = { action = "coarsen_time", to = "minute" }
status = "keep"
bytes = "keep"
"geo.city" = "keep"
"geo.country" = "keep"
"geo.deep.x" = "keep"
user_id = { action = "pseudonymize", key = "ids", scope = "user" }
user_agent = "reduce_user_agent"
path = { action = "url", keep = "path" }
meta = "keep_subtree"
loc = { action = "generalize_location", keep = ["country", "city"] }
dropped = "drop"

[[stats]]
name = "s"
topic = "stats.t"
window = "1m"
group_by = ["geo.city", "status_class", "user_agent.browser", "meta.kind", "loc.city", "path_template"]
[stats.derive]
status_class = { from = "status", kind = "status_class" }
path_template = { from = "path", kind = "path_template" }
[[stats.measures]]
name = "requests"
kind = "count"
[[stats.measures]]
name = "with_country"
kind = "count"
field = "geo.country"
[[stats.measures]]
name = "users"
kind = "distinct"
field = "user_id"
[[stats.measures]]
name = "bytes"
kind = "sum"
field = "bytes"
[[stats.measures]]
name = "deep"
kind = "sum"
field = "geo.deep.x"
[[stats.measures]]
name = "gone"
kind = "count"
field = "dropped"
"#;

    /// Every path the statistics above read.
    const PATHS: [&str; 12] = [
        "ts",
        "status",
        "bytes",
        "geo.city",
        "geo.country",
        "geo.deep.x",
        "user_id",
        "user_agent.browser",
        "path",
        "meta.kind",
        "loc.city",
        "dropped",
    ];

    fn pipeline(text: &str) -> Pipeline {
        Pipeline::from_toml(text, Path::new("t.toml"), &KeyStore::for_tests(&["ids".into()]))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// What serde_json finds at a dotted path of the output.
    fn at<'v>(v: &'v Value, path: &str) -> Option<&'v Value> {
        path.split('.').try_fold(v, |v, seg| v.as_object()?.get(seg))
    }

    /// Whether the captured value `val` is what serde_json found.
    fn same(obs: &Observation, val: Val, oracle: Option<&Value>) -> bool {
        match (val, oracle) {
            (Val::Missing, None) => true,
            (Val::Null, Some(Value::Null)) => true,
            (Val::Bool(b), Some(Value::Bool(o))) => b == *o,
            (Val::UInt(u), Some(Value::Number(n))) => n.as_u64() == Some(u),
            (Val::Int(i), Some(Value::Number(n))) => n.as_i64() == Some(i) && n.as_u64().is_none(),
            (Val::Float(f), Some(Value::Number(n))) => {
                n.is_f64() && n.as_f64().map(f64::to_bits) == Some(f.to_bits())
            }
            (Val::Str(..), Some(Value::String(s))) => obs.rec.text(val) == s,
            (Val::Composite, Some(Value::Object(_) | Value::Array(_))) => true,
            _ => false,
        }
    }

    /// Checks one record; returns the output for the engines.
    fn check(p: &Pipeline, ex: &StatsExtractor, input: &[u8], scratch: &mut Scratch) -> bool {
        if p.process(input, scratch).is_err() {
            return false;
        }
        let (mut scanned, mut located) = (Observation::default(), Observation::default());
        ex.extract(&scratch.out, &mut scanned);
        ex.extract_located(&scratch.out, &scratch.stats_located, &mut located);
        assert!(scanned.valid && located.valid);
        let out: Value = serde_json::from_slice(&scratch.out).expect("output parses");
        let mut trie = ex.trie().clone();
        for path in PATHS {
            let segs: Vec<String> = path.split('.').map(str::to_owned).collect();
            let slot = trie.insert(&segs);
            let oracle = at(&out, path);
            for (name, obs) in [("located", &located), ("scanned", &scanned)] {
                let val = obs.rec.vals[slot];
                assert!(
                    same(obs, val, oracle),
                    "{name} `{path}`: {val:?} vs {oracle:?} in {}",
                    String::from_utf8_lossy(&scratch.out)
                );
            }
        }
        // Derived dimensions come after the paths and must agree too.
        let n = located.rec.vals.len();
        assert_eq!(n, scanned.rec.vals.len());
        for slot in trie.slots()..n {
            let (a, b) = (located.rec.vals[slot], scanned.rec.vals[slot]);
            assert_eq!(located.rec.text(a), scanned.rec.text(b));
            assert_eq!(std::mem::discriminant(&a), std::mem::discriminant(&b));
        }
        true
    }

    fn rows(rows: &[StatsRow]) -> Vec<Value> {
        rows.iter().map(|r| serde_json::from_slice(&r.json).unwrap()).collect()
    }

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|i| json!(i)),
            any::<u64>().prop_map(|u| json!(u)),
            (-1e6..1e6f64).prop_map(|f| json!(f)),
            "[a-zé\"\\\\/\\u{1}\\u{2028}😀 ]{0,12}".prop_map(Value::String),
            Just(json!("Berlin")),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            4 => scalar(),
            1 => prop::collection::vec(scalar(), 0..3).prop_map(Value::Array),
            2 => prop::collection::btree_map("kind|city|country|x|other", scalar(), 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    }

    /// Records whose fields are sometimes absent, of the wrong type, nested
    /// wrongly or written with escaped keys.
    fn record() -> impl Strategy<Value = Vec<u8>> {
        let ts = prop_oneof![
            (0..600_000i64).prop_map(|ms| {
                json!(format!(
                    "2024-05-14T08:{:02}:{:02}.{:03}Z",
                    ms / 60_000,
                    ms / 1000 % 60,
                    ms % 1000
                ))
            }),
            scalar(),
        ];
        let geo = prop_oneof![
            3 => (scalar(), scalar(), prop::option::of(scalar())).prop_map(|(c, k, x)| {
                let mut g = json!({"city": c, "country": k});
                if let Some(x) = x {
                    g["deep"] = json!({"x": x});
                }
                g
            }),
            1 => value(),
        ];
        let fields = (
            prop::option::of(ts),
            prop::option::of(prop_oneof![Just(json!(200)), Just(json!(404)), scalar()]),
            prop::option::of(scalar()),
            prop::option::of(geo),
            prop::option::of(prop_oneof![Just(json!("u_1")), Just(json!("u_2")), scalar()]),
            prop::option::of(prop_oneof![
                Just(json!("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36")),
                Just(json!("curl/8.0")),
                scalar(),
            ]),
            prop::option::of(prop_oneof![Just(json!("/api/v1/users/42/orders?x=1")), scalar()]),
            prop::option::of(value()),
            prop::option::of(prop_oneof![Just(json!({"country": "DE", "city": "Köln", "street": "x"})), value()]),
            prop::option::of(value()),
            any::<bool>(),
        );
        fields.prop_map(|(ts, status, bytes, geo, uid, ua, path, meta, loc, dropped, escape)| {
            let mut m = serde_json::Map::new();
            let named = [
                ("ts", ts),
                ("status", status),
                ("bytes", bytes),
                ("geo", geo),
                ("user_id", uid),
                ("user_agent", ua),
                ("path", path),
                ("meta", meta),
                ("loc", loc),
                ("dropped", dropped),
            ];
            for (k, v) in named {
                if let Some(v) = v {
                    m.insert(k.to_owned(), v);
                }
            }
            m.insert("unlisted".into(), json!({"city": "nowhere"}));
            let text = serde_json::to_string(&Value::Object(m)).unwrap();
            // The walk matches escaped keys to their rule like plain ones.
            let text = if escape { text.replacen("\"geo\":", "\"g\\u0065o\":", 1) } else { text };
            text.into_bytes()
        })
    }

    #[test]
    fn the_reference_pipeline_is_captured_by_the_walk() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/access_log.toml");
        let p = Pipeline::load(&path, &KeyStore::for_tests(&["ids".into()])).unwrap();
        assert!(p.stats_capture);
        let (ex, _) = StatsExtractor::build(&p.stats);
        let (mut scanned, mut located) =
            (StatsEngine::new(p.stats.clone()), StatsEngine::new(p.stats.clone()));
        let mut scratch = Scratch::default();
        let mut obs = Observation::default();
        for r in crate::workload::generate(5, 3000) {
            p.process(&r, &mut scratch).unwrap();
            scanned.observe(&scratch.out);
            ex.extract_located(&scratch.out, &scratch.stats_located, &mut obs);
            located.observe_extracted(&obs);
        }
        let (mut a, mut b) = (Vec::new(), Vec::new());
        scanned.finish(&mut a);
        located.finish(&mut b);
        assert!(a.len() > 10, "{}", a.len());
        assert_eq!(rows(&a), rows(&b));
        assert_eq!(scanned.counters(), located.counters());
    }

    #[test]
    fn paths_the_walk_cannot_locate_keep_the_scan() {
        // A dual-written `*_prev` field and an object level read whole are
        // not fields of the rule tree: the output is scanned instead.
        for stat_field in ["user_id_prev", "geo"] {
            let text =
                PIPELINE.replacen("field = \"dropped\"", &format!("field = \"{stat_field}\""), 1);
            assert!(!pipeline(&text).stats_capture, "{stat_field}");
        }
        assert!(pipeline(PIPELINE).stats_capture);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn located_values_equal_the_scanned_output_and_serde_json(
            records in prop::collection::vec(record(), 1..40)
        ) {
            let p = pipeline(PIPELINE);
            prop_assert!(p.stats_capture);
            let (ex, _) = StatsExtractor::build(&p.stats);
            let (mut scanned, mut located) = (StatsEngine::new(p.stats.clone()), StatsEngine::new(p.stats.clone()));
            let mut scratch = Scratch::default();
            let mut obs = Observation::default();
            for r in &records {
                if check(&p, &ex, r, &mut scratch) {
                    scanned.observe(&scratch.out);
                    ex.extract_located(&scratch.out, &scratch.stats_located, &mut obs);
                    located.observe_extracted(&obs);
                }
            }
            let (mut a, mut b) = (Vec::new(), Vec::new());
            scanned.finish(&mut a);
            located.finish(&mut b);
            prop_assert_eq!(rows(&a), rows(&b));
            prop_assert_eq!(scanned.counters(), located.counters());
        }
    }
}
