//! The combined/common log-line parser: whatever it accepts becomes one JSON
//! object that serde_json parses, with only the documented members, the
//! bare fields copied verbatim from the line, and a request split only into
//! `METHOD target HTTP/x[.y]`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use logveil::pipeline::clf::to_json;
use logveil::pipeline::spec::Format;
use serde_json::Value;

const MEMBERS: &[&str] = &[
    "client_ip",
    "ident",
    "user",
    "ts",
    "method",
    "path",
    "protocol",
    "request",
    "status",
    "bytes",
    "referrer",
    "user_agent",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let Ok(line) = std::str::from_utf8(rest) else { return };
    let format = if pick & 1 == 0 { Format::Combined } else { Format::Common };
    let mut out = Vec::new();
    if to_json(line, format, &mut out).is_err() {
        return;
    }
    let v: Value = serde_json::from_slice(&out).expect("parser output is JSON to serde_json");
    let obj = v.as_object().expect("an object");
    for (k, x) in obj {
        assert!(MEMBERS.contains(&k.as_str()), "unexpected member {k}");
        match k.as_str() {
            "client_ip" | "ident" | "user" => {
                let s = x.as_str().expect("text");
                assert!(!s.is_empty() && line.contains(s), "{k} not copied from the line");
            }
            "status" => assert!(x.is_u64(), "status is a number"),
            "bytes" => assert!(x.is_u64() || x.is_null(), "bytes is a number or null"),
            "ts" => assert_eq!(x.as_str().map(str::len), Some(25), "ts is RFC 3339 with offset"),
            "protocol" => {
                let p = x.as_str().expect("text");
                let ok = p.strip_prefix("HTTP/").is_some_and(|v| {
                    let b = v.as_bytes();
                    matches!(b, [d] if d.is_ascii_digit())
                        || matches!(b, [d, b'.', e] if d.is_ascii_digit() && e.is_ascii_digit())
                });
                assert!(ok, "request line split into a protocol that is not HTTP/x[.y]");
            }
            _ => {}
        }
    }
    assert_eq!(format == Format::Combined, obj.contains_key("user_agent"));
});
