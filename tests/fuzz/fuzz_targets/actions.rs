//! Every field action on arbitrary strings and numbers: one record puts the
//! same value (a string, a number as written, or a location object of
//! strings) under every action of `src/actions_pipeline.toml`. A refused
//! record is fine (wrong types are dead letters); an accepted one must be
//! byte-identical to the reference walk, parse under serde_json, and give
//! each action's output its promised shape.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use logveil::pipeline::{reference, Scratch};
use logveil_fuzz::{action_fields, actions_pipeline, check_output};

fn fields() -> &'static [String] {
    static F: OnceLock<Vec<String>> = OnceLock::new();
    F.get_or_init(action_fields)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let value = match mode % 3 {
        0 => serde_json::to_string(&text).expect("a string serializes"),
        1 => match serde_json::from_str::<serde_json::Number>(text.trim()) {
            Ok(_) => text.trim().to_owned(),
            Err(_) => return,
        },
        _ => {
            let mut parts = text.splitn(3, '\n');
            let obj: serde_json::Map<String, serde_json::Value> = ["country", "city", "street"]
                .iter()
                .zip(parts.by_ref())
                .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(v.to_owned())))
                .collect();
            serde_json::to_string(&obj).expect("an object serializes")
        }
    };
    let mut record = String::from("{");
    for (i, f) in fields().iter().enumerate() {
        if i > 0 {
            record.push(',');
        }
        record.push_str(&serde_json::to_string(f).expect("name"));
        record.push(':');
        record.push_str(&value);
    }
    record.push('}');
    let (pipe, rules) = actions_pipeline();
    let mut scratch = Scratch::default();
    let got = pipe.process(record.as_bytes(), &mut scratch);
    let want = reference::process(pipe, record.as_bytes());
    match (got, want) {
        (Ok(()), Ok((out, _))) => {
            assert_eq!(scratch.out, out, "output differs from the reference walk");
            if let Err(e) = check_output(rules, &scratch.out) {
                panic!("{e}");
            }
        }
        (Err(a), Err(b)) => assert_eq!(a.code, b.code),
        (a, b) => panic!("accepted by one walk only: {:?} vs {:?}", a.is_ok(), b.is_ok()),
    }
    // Each action alone too: a value one action refuses must not hide what
    // the others do with it.
    for f in fields() {
        let one = format!("{{{}:{value}}}", serde_json::to_string(f).expect("name"));
        if pipe.process(one.as_bytes(), &mut scratch).is_ok() {
            if let Err(e) = check_output(rules, &scratch.out) {
                panic!("{e}");
            }
        }
    }
});
