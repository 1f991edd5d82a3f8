//! `redact` on arbitrary text: never panics, gives a string that parses
//! under serde_json, and is a fixpoint: `redact(redact(x)) == redact(x)`,
//! i.e. no detector (every one is enabled) fires on redact's own output.
#![no_main]

use libfuzzer_sys::fuzz_target;
use logveil::pipeline::Scratch;
use logveil_fuzz::actions_pipeline;

fn redact(text: &str, scratch: &mut Scratch) -> Option<String> {
    let record =
        format!("{{\"a_redact\":{}}}", serde_json::to_string(text).expect("a string serializes"));
    actions_pipeline().0.process(record.as_bytes(), scratch).ok()?;
    let v: serde_json::Value =
        serde_json::from_slice(&scratch.out).expect("output is JSON to serde_json");
    Some(v["a_redact"].as_str().expect("redact gives a string").to_owned())
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut scratch = Scratch::default();
    let Some(once) = redact(text, &mut scratch) else { return };
    let twice = redact(&once, &mut scratch).expect("redact accepts its own output");
    assert_eq!(once, twice, "a detector fires on redact's own output");
});
