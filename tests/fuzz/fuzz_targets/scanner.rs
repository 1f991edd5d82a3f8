//! The validating JSON scanner against serde_json: the strict skip accepts
//! exactly what serde_json decodes into a `Value`, the lenient skip exactly
//! what it reads into a `RawValue`, and a string's unescaped text equals
//! serde_json's `String`. Nesting beyond serde_json's recursion limit (128)
//! is left out of the comparison. Input that is not UTF-8 must be refused
//! (serde_json does not check the UTF-8 of strings it skips).
#![no_main]

use libfuzzer_sys::fuzz_target;
use logveil::scan::{unescape, Cursor, Skip};
use serde_json::value::RawValue;

/// serde_json's default recursion limit.
const SERDE_DEPTH: usize = 128;

fn too_deep_for_serde(e: &serde_json::Error) -> bool {
    e.to_string().starts_with("recursion limit exceeded")
}

fuzz_target!(|data: &[u8]| {
    // Strict.
    let mut cur = Cursor::new(data);
    let strict = match cur.skip_strict(1, SERDE_DEPTH) {
        Ok(()) => Some(cur.at_end()),
        Err(Skip::TooDeep) => None,
        Err(Skip::Syntax(_)) => Some(false),
    };
    // serde_json skips an ignored string without checking its UTF-8; the
    // scanner refuses invalid UTF-8 everywhere (documented), so only
    // valid UTF-8 is compared, and anything else must be refused.
    let Ok(text) = std::str::from_utf8(data) else {
        assert_ne!(strict, Some(true), "strict scan accepted invalid UTF-8");
        let mut cur = Cursor::new(data);
        let lenient = cur.skip_raw(&mut Vec::new()).is_ok() && cur.at_end();
        assert!(!lenient, "lenient scan accepted invalid UTF-8");
        return;
    };
    // Strict is how serde_json treats values it decodes: `Value` decodes
    // every string and number (`IgnoredAny` skips numbers by grammar only).
    let serde = serde_json::from_str::<serde_json::Value>(text).map(drop);
    match (strict, &serde) {
        (None, _) => {}
        (_, Err(e)) if too_deep_for_serde(e) => {}
        (Some(ok), _) => {
            assert_eq!(ok, serde.is_ok(), "strict scan vs serde_json Value: {serde:?}")
        }
    }

    // Lenient (a kept value copied as raw bytes).
    let mut cur = Cursor::new(data);
    let mut stack = Vec::new();
    let skipped = cur.skip_raw(&mut stack);
    let lenient = skipped.is_ok() && cur.at_end();
    let raw = serde_json::from_slice::<Box<RawValue>>(data);
    let raw_too_deep = matches!(&raw, Err(e) if too_deep_for_serde(e));
    let scan_too_deep = matches!(skipped, Ok(d) if d + 1 >= SERDE_DEPTH);
    if !raw_too_deep && !scan_too_deep {
        assert_eq!(lenient, raw.is_ok(), "lenient scan vs serde_json RawValue: {raw:?}");
    }

    // A string's decoded text.
    let mut cur = Cursor::new(data);
    if cur.peek_ws() == Some(b'"') {
        if let Ok(span) = cur.string(true) {
            if cur.at_end() {
                let mut text = String::new();
                let decoded = unescape(&data[span.start..span.end], &mut text);
                let want: String = serde_json::from_slice(data)
                    .expect("serde_json refuses a string the strict scan accepted");
                assert!(decoded, "unescape refused a string the strict scan accepted");
                assert_eq!(text, want);
            }
        }
    }
});
