//! The validating JSON scanner against serde_json: the strict skip accepts
//! exactly what serde_json reads into `IgnoredAny`, the lenient skip exactly
//! what it reads into a `RawValue`, and a string's unescaped text equals
//! serde_json's `String`. Nesting beyond serde_json's recursion limit (128)
//! is left out of the comparison.
#![no_main]

use libfuzzer_sys::fuzz_target;
use logveil::scan::{unescape, Cursor, Skip};
use serde::de::IgnoredAny;
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
    let serde = serde_json::from_slice::<IgnoredAny>(data);
    match (strict, &serde) {
        (None, _) => {}
        (_, Err(e)) if too_deep_for_serde(e) => {}
        (Some(ok), _) => {
            assert_eq!(ok, serde.is_ok(), "strict scan vs serde_json IgnoredAny: {serde:?}")
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
