//! The provenance header every output carries, and its parser.
//!
//! One header, [`HEADER`] (`logveil-provenance`), whose value is a list of
//! `name=value` pairs joined by `;`, in this order and each only when known:
//!
//! ```text
//! topic=raw.access;partition=3;offset=12345;pipeline=access_log;key_id=2026a
//! ```
//!
//! `topic`/`partition`/`offset` name the source record (anonymized outputs
//! and dead letters; statistics aggregate many records and have none);
//! consumers deduplicate at-least-once replays on them. `pipeline` names the
//! pipeline, `key_id` the key its pseudonyms were written with. No value can
//! contain `;` or `=`: Kafka topic names are `[a-zA-Z0-9._-]`, and pipeline
//! names and key ids are validated to the same alphabet.
//!
//! It is one header rather than one per field because every header costs
//! librdkafka an allocation, a copy into the batch and a free per message;
//! five headers cost about 2.4 µs of CPU per record, an eighth of what the
//! whole service spent (`benches/kafka_throughput.rs`, CPU per record).

use rdkafka::message::{Header, Headers, OwnedHeaders};

/// Name of the provenance header.
pub const HEADER: &str = "logveil-provenance";

/// The fields of a provenance header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// Source topic, partition and offset (absent on statistics).
    pub source: Option<(String, i32, i64)>,
    /// Pipeline that wrote the output.
    pub pipeline: Option<String>,
    /// Id of the key pseudonyms were written with.
    pub key_id: Option<String>,
    /// Statistics rows: the statistic.
    pub stat: Option<String>,
    /// Statistics rows: the window start (RFC 3339).
    pub window: Option<String>,
    /// Statistics rows: the input offsets that fed the window, as
    /// `(topic, partition, first, last)`.
    pub covers: Vec<(String, i32, i64, i64)>,
}

impl Provenance {
    /// Parses a header value; `None` if it is not a well-formed provenance
    /// value (unknown names are ignored, so fields can be added later).
    pub fn parse(value: &[u8]) -> Option<Provenance> {
        let text = std::str::from_utf8(value).ok()?;
        let (mut topic, mut partition, mut offset) = (None, None, None);
        let mut out = Provenance::default();
        for pair in text.split(';') {
            let (name, v) = pair.split_once('=')?;
            match name {
                "topic" => topic = Some(v.to_owned()),
                "partition" => partition = Some(v.parse().ok()?),
                "offset" => offset = Some(v.parse().ok()?),
                "pipeline" => out.pipeline = Some(v.to_owned()),
                "key_id" => out.key_id = Some(v.to_owned()),
                "stat" => out.stat = Some(v.to_owned()),
                "window" => out.window = Some(v.to_owned()),
                "covers" => {
                    for span in v.split(',').filter(|s| !s.is_empty()) {
                        let (rest, range) = span.rsplit_once(':')?;
                        let (topic, partition) = rest.rsplit_once(':')?;
                        let (first, last) = range.split_once('-')?;
                        out.covers.push((
                            topic.to_owned(),
                            partition.parse().ok()?,
                            first.parse().ok()?,
                            last.parse().ok()?,
                        ));
                    }
                }
                _ => {}
            }
        }
        out.source = match (topic, partition, offset) {
            (Some(t), Some(p), Some(o)) => Some((t, p, o)),
            (None, None, None) => None,
            _ => return None,
        };
        Some(out)
    }

    /// The provenance header of a consumed message, if it has a valid one.
    pub fn of_message<M: rdkafka::Message>(message: &M) -> Option<Provenance> {
        let headers = message.headers()?;
        headers.iter().find(|h| h.key == HEADER).and_then(|h| h.value).and_then(Provenance::parse)
    }
}

/// The start of the value for records of one source partition, up to the
/// offset: `topic=<topic>;partition=<partition>;offset=`. Rendered once per
/// partition (kept by its tracker), so a record's header costs one copy and
/// one integer.
pub(crate) fn source_prefix(topic: &str, partition: i32) -> Box<[u8]> {
    let mut buf = Vec::with_capacity(topic.len() + 32);
    buf.extend_from_slice(b"topic=");
    buf.extend_from_slice(topic.as_bytes());
    buf.extend_from_slice(b";partition=");
    buf.extend_from_slice(itoa::Buffer::new().format(partition).as_bytes());
    buf.extend_from_slice(b";offset=");
    buf.into_boxed_slice()
}

/// Writes the header value of an output of one source record into `buf`
/// (cleared first, reused across records) and returns it: `prefix` from
/// [`source_prefix`], then the offset, pipeline and key id, in the
/// documented format (`Provenance::parse` reads it back).
pub(crate) fn source_value<'b>(
    buf: &'b mut Vec<u8>,
    prefix: &[u8],
    offset: i64,
    pipeline: Option<&str>,
    key_id: Option<&str>,
) -> &'b [u8] {
    buf.clear();
    buf.extend_from_slice(prefix);
    buf.extend_from_slice(itoa::Buffer::new().format(offset).as_bytes());
    tail(buf, None, pipeline, key_id);
    buf
}

/// Writes the header value of an output with no source record (a
/// statistics row: `stats` names what it covers) into `buf` (cleared
/// first, reused across records) and returns it.
pub(crate) fn unsourced_value<'b>(
    buf: &'b mut Vec<u8>,
    stats: Option<&str>,
    pipeline: Option<&str>,
    key_id: Option<&str>,
) -> &'b [u8] {
    buf.clear();
    tail(buf, stats, pipeline, key_id);
    buf
}

/// The provenance header with `value`, as rdkafka headers.
pub(crate) fn owned_headers(value: &[u8]) -> OwnedHeaders {
    OwnedHeaders::new_with_capacity(1).insert(Header { key: HEADER, value: Some(value) })
}

/// Appends the pairs after the source ones, each preceded by `;` unless it
/// comes first.
fn tail(buf: &mut Vec<u8>, stats: Option<&str>, pipeline: Option<&str>, key_id: Option<&str>) {
    let sep = |buf: &mut Vec<u8>| {
        if !buf.is_empty() {
            buf.push(b';');
        }
    };
    if let Some(s) = stats {
        sep(buf);
        buf.extend_from_slice(s.as_bytes());
    }
    if let Some(p) = pipeline {
        sep(buf);
        buf.extend_from_slice(b"pipeline=");
        buf.extend_from_slice(p.as_bytes());
    }
    if let Some(k) = key_id {
        sep(buf);
        buf.extend_from_slice(b"key_id=");
        buf.extend_from_slice(k.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value as a consumer reads it: from the header list.
    fn read(value: &[u8]) -> Vec<u8> {
        let h = owned_headers(value);
        h.iter().find(|h| h.key == HEADER).and_then(|h| h.value).unwrap_or_default().to_vec()
    }

    #[test]
    fn round_trips_every_shape() {
        let mut buf = Vec::new();
        let prefix = source_prefix("raw.access", 3);
        let full = read(source_value(&mut buf, &prefix, 12345, Some("access_log"), Some("k1")));
        assert_eq!(
            full,
            b"topic=raw.access;partition=3;offset=12345;pipeline=access_log;key_id=k1"
        );
        let parsed = Provenance::parse(&full).unwrap();
        assert_eq!(parsed.source, Some(("raw.access".into(), 3, 12345)));
        assert_eq!(parsed.pipeline.as_deref(), Some("access_log"));
        assert_eq!(parsed.key_id.as_deref(), Some("k1"));

        let covers = "stat=rpm;window=2024-05-14T08:17:00Z;covers=raw.a-b:0:5-9,raw.a-b:11:0-0";
        let stats = read(unsourced_value(&mut buf, Some(covers), Some("access_log"), None));
        assert_eq!(stats, format!("{covers};pipeline=access_log").as_bytes());
        let parsed = Provenance::parse(&stats).unwrap();
        assert_eq!(parsed.source, None);
        assert_eq!(parsed.key_id, None);
        assert_eq!(parsed.stat.as_deref(), Some("rpm"));
        assert_eq!(parsed.window.as_deref(), Some("2024-05-14T08:17:00Z"));
        assert_eq!(
            parsed.covers,
            [("raw.a-b".to_owned(), 0, 5, 9), ("raw.a-b".to_owned(), 11, 0, 0)]
        );
        assert_eq!(Provenance::parse(b"covers=t:x:1-2"), None, "malformed covers");

        let dead = read(source_value(&mut buf, &source_prefix("t", 0), 0, None, None));
        assert_eq!(Provenance::parse(&dead).unwrap().source, Some(("t".into(), 0, 0)));
    }

    #[test]
    fn prefixed_source_headers_match_the_documented_value() {
        let mut buf = Vec::new();
        let prefix = source_prefix("raw.access", 3);
        let h = read(source_value(&mut buf, &prefix, 12345, Some("access_log"), Some("k1")));
        assert_eq!(h, b"topic=raw.access;partition=3;offset=12345;pipeline=access_log;key_id=k1");
        // Reused buffer, the largest partition and offset, no key id.
        let prefix = source_prefix("t", 2147483647);
        let h = read(source_value(&mut buf, &prefix, i64::MAX, Some("p"), None));
        assert_eq!(h, b"topic=t;partition=2147483647;offset=9223372036854775807;pipeline=p");
        let h = read(source_value(&mut buf, &prefix, 0, None, None));
        assert_eq!(h, b"topic=t;partition=2147483647;offset=0");
        let parsed = Provenance::parse(&h).unwrap();
        assert_eq!(parsed.source, Some(("t".into(), 2147483647, 0)));
        assert_eq!(parsed.pipeline, None);
    }

    #[test]
    fn rejects_malformed_values() {
        assert_eq!(Provenance::parse(b"topic=t;partition=x;offset=1"), None);
        assert_eq!(Provenance::parse(b"topic=t;offset=1"), None, "incomplete source");
        assert_eq!(Provenance::parse(b"pipeline"), None);
        assert_eq!(Provenance::parse(&[0xff]), None);
        let future = Provenance::parse(b"pipeline=p;shard=7").unwrap();
        assert_eq!(future.pipeline.as_deref(), Some("p"), "unknown names are ignored");
    }
}
