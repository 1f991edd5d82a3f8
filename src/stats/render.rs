//! Turning a closed window into final rows: privacy thresholds on the final
//! (merged) groups, `__other__` folding, optional count noise, and the
//! per-window summary row. Row layout is documented in the `stats` module doc;
//! groups come out in byte order of their key, so output is deterministic.

use std::io::Write as _;

use serde_json::value::RawValue;

use super::compile::{CompiledKind, CompiledStat};
use super::extract::push_json;
use super::noise::Noise;
use super::spec::Suppression;
use super::time::write_rfc3339_secs;
use super::window::{GroupAgg, MeasureAgg, WindowAgg};
use super::{SourceSpan, StatsCounters, StatsRow};

/// Schema tag of final rows.
pub(crate) const SCHEMA: &str = "logveil.stats/1";
/// Dimension value of the row collecting suppressed and overflow groups.
const OTHER: &str = "__other__";

/// Per-window emission context.
pub(crate) struct Emit<'a> {
    pub(crate) stat: &'a CompiledStat,
    pub(crate) start: i64,
    pub(crate) partial: bool,
    /// Input offsets that fed the window (shared by its rows).
    pub(crate) spans: std::sync::Arc<[SourceSpan]>,
}

impl Emit<'_> {
    /// Writes `{"schema":..,"stat":..,"window_start":..,"window_end":..,"partial":..,`.
    fn head(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"schema\":\"");
        out.extend_from_slice(SCHEMA.as_bytes());
        out.extend_from_slice(b"\",\"stat\":");
        push_json(out, &self.stat.name);
        out.extend_from_slice(b",\"window_start\":\"");
        write_rfc3339_secs(self.start, out);
        out.extend_from_slice(b"\",\"window_end\":\"");
        write_rfc3339_secs(self.start.saturating_add(self.stat.window_ms), out);
        out.extend_from_slice(if self.partial {
            b"\",\"partial\":true,"
        } else {
            b"\",\"partial\":false,"
        });
    }

    /// Appends a row keyed `stat|window_start|suffix`.
    fn push(
        &self,
        suffix: &[u8],
        json: Vec<u8>,
        out: &mut Vec<StatsRow>,
        counters: &mut StatsCounters,
    ) {
        counters.rows_emitted += 1;
        let mut key = Vec::with_capacity(self.stat.name.len() + 22 + suffix.len());
        key.extend_from_slice(self.stat.name.as_bytes());
        key.push(b'|');
        write_rfc3339_secs(self.start, &mut key);
        key.push(b'|');
        key.extend_from_slice(suffix);
        out.push(StatsRow {
            topic: self.stat.topic.clone(),
            stat: self.stat.name.clone(),
            key,
            window_start_ms: self.start,
            sources: self.spans.clone(),
            json,
        });
    }

    /// One group row; `key` is the group key, or `None` for `__other__`.
    fn group_row(&self, key: Option<&[u8]>, g: &GroupAgg, noise: &mut Noise) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        self.head(&mut out);
        out.extend_from_slice(b"\"dimensions\":{");
        let values: Option<Vec<&RawValue>> = key.and_then(|k| serde_json::from_slice(k).ok());
        for (i, (name, _)) in self.stat.dims.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_json(&mut out, name);
            out.push(b':');
            match (&values, key) {
                (_, None) => push_json(&mut out, OTHER),
                (Some(v), _) if v.len() == self.stat.dims.len() => {
                    out.extend_from_slice(v[i].get().as_bytes())
                }
                _ => out.extend_from_slice(b"null"),
            }
        }
        out.extend_from_slice(b"},\"measures\":{");
        for (i, (spec, m)) in self.stat.measures.iter().zip(&g.measures).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_json(&mut out, &spec.name);
            out.push(b':');
            match m {
                MeasureAgg::Count(n) => match self.stat.epsilon {
                    Some(eps) => push_json(
                        &mut out,
                        &(*n as i64).saturating_add(noise.two_sided(eps)).max(0),
                    ),
                    None => push_json(&mut out, n),
                },
                MeasureAgg::Sum(s) => s.write(&mut out),
                MeasureAgg::Distinct(h) => push_json(&mut out, &(h.estimate().round() as u64)),
                MeasureAgg::Quantiles(d) => {
                    out.push(b'{');
                    if let CompiledKind::Quantiles { quantiles, mapping, .. } = &spec.kind {
                        for (j, (q, label)) in quantiles.iter().enumerate() {
                            if j > 0 {
                                out.push(b',');
                            }
                            push_json(&mut out, label);
                            out.push(b':');
                            push_json(&mut out, &d.quantile(mapping, *q));
                        }
                    }
                    out.push(b'}');
                }
            }
        }
        out.extend_from_slice(b"}}");
        out
    }

    /// Thresholds a closed window and appends its rows (groups, `__other__`, summary).
    pub(crate) fn final_rows(
        &self,
        mut win: WindowAgg,
        late: u64,
        noise: &mut Noise,
        counters: &mut StatsCounters,
        out: &mut Vec<StatsRow>,
    ) {
        let fold = self.stat.suppression == Suppression::Other;
        let (mut emitted, mut suppressed, mut suppressed_records) = (0_u64, 0_u64, 0_u64);
        let mut other: Option<GroupAgg> = None;
        let mut fold_in = |g: GroupAgg| match &mut other {
            Some(o) => {
                o.merge(&g);
            }
            None => other = Some(g),
        };
        for (key, g) in win.take_sorted() {
            if g.passes(self.stat) {
                emitted += 1;
                self.push(&key, self.group_row(Some(&key), &g, noise), out, counters);
            } else {
                suppressed += 1;
                suppressed_records += g.count;
                if fold {
                    fold_in(g);
                }
            }
        }
        let overflow_records = win.overflow.as_ref().map_or(0, |o| o.count);
        if let Some(o) = win.overflow.take().filter(|_| fold) {
            fold_in(o);
        }
        let mut other_emitted = false;
        if let Some(o) = other {
            if o.passes(self.stat) {
                emitted += 1;
                other_emitted = true;
                self.push(OTHER.as_bytes(), self.group_row(None, &o, noise), out, counters);
            } else {
                counters.other_rows_dropped += 1;
            }
        }
        counters.suppressed_groups += suppressed;
        counters.suppressed_records += suppressed_records;
        counters.overflow_records += overflow_records;
        let overflow_groups = win.overflow_keys.map_or(0, |h| h.estimate().round() as u64);
        counters.overflow_groups += overflow_groups;
        counters.windows_emitted += 1;
        let published = published_totals(
            self.stat.min_count,
            (suppressed, suppressed_records),
            (overflow_groups, overflow_records),
            other_emitted,
        );
        let mut json = Vec::with_capacity(320);
        self.head(&mut json);
        let _ = write!(
            json,
            "\"summary\":true,\"groups_emitted\":{emitted},\"groups_suppressed\":{suppressed},\
             \"records_suppressed\":{},\"overflow_records\":{},\
             \"other_emitted\":{other_emitted},\"late_records\":{}}}",
            Published(published.0),
            Published(published.1),
            late.saturating_add(win.late_records)
        );
        self.push(b"summary", json, out, counters);
    }
}

/// A summary total, or `null` when it is withheld.
struct Published(Option<u64>);

impl std::fmt::Display for Published {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(n) => write!(f, "{n}"),
            None => f.write_str("null"),
        }
    }
}

/// Which record totals a window summary may publish: `(records_suppressed,
/// overflow_records)`, `None` meaning `null` (withheld).
///
/// A total is published when it covers no group at all (it is then 0), or
/// at least two groups and at least `min_count` records; otherwise it would
/// give the size of a lone suppressed group, or a count the thresholds were
/// there to hide. Overflow groups are counted by their HyperLogLog estimate.
/// When the `__other__` row is emitted its count is the sum of both totals,
/// so if either is withheld the other is withheld too (else the withheld one
/// is a subtraction away).
fn published_totals(
    min_count: u64,
    (suppressed_groups, suppressed_records): (u64, u64),
    (overflow_groups, overflow_records): (u64, u64),
    other_emitted: bool,
) -> (Option<u64>, Option<u64>) {
    let shown = |groups: u64, records: u64| records == 0 || (groups >= 2 && records >= min_count);
    let mut suppressed = shown(suppressed_groups, suppressed_records).then_some(suppressed_records);
    let mut overflow = shown(overflow_groups, overflow_records).then_some(overflow_records);
    if other_emitted && (suppressed.is_none() || overflow.is_none()) {
        suppressed = None;
        overflow = None;
    }
    (suppressed, overflow)
}

#[cfg(test)]
mod tests {
    use super::published_totals;
    use crate::stats::tests::{access_spec, engine, parse, rec};

    fn spec(dims: &str) -> String {
        format!(
            "[[stats]]\nname = \"r\"\ntopic = \"t\"\nwindow = \"1m\"\ngroup_by = [{dims}]\n\
             [[stats.measures]]\nname = \"with_x\"\nkind = \"count\"\nfield = \"x\"\n\
             [[stats.measures]]\nname = \"q\"\nkind = \"quantiles\"\nfield = \"x\"\nquantiles = [0.5]\n\
             [[stats.measures]]\nname = \"s\"\nkind = \"sum\"\nfield = \"x\"\n"
        )
    }

    #[test]
    fn dimension_values_keep_their_json_type_and_escaping() {
        let mut e = engine(&spec("\"a\", \"b.c\""));
        e.observe(br#"{"ts":1715674620,"a":"q\"u\\o,te]","b":{"c":7},"x":null}"#);
        e.observe(br#"{"ts":1715674620,"a":true,"x":"text"}"#);
        e.observe(br#"{"ts":1715674620,"a":1.5,"b":{"c":[1]},"x":2.5}"#);
        let mut out = Vec::new();
        e.finish(&mut out);
        let rows = parse(&out);
        let dims: Vec<_> = rows[..3].iter().map(|r| r["dimensions"].to_string()).collect();
        assert_eq!(
            dims,
            [
                r#"{"a":"q\"u\\o,te]","b.c":7}"#,
                r#"{"a":1.5,"b.c":null}"#,
                r#"{"a":true,"b.c":null}"#
            ]
        );
        let m: Vec<_> = rows[..3].iter().map(|r| &r["measures"]).collect();
        assert_eq!(
            m[0].to_string(),
            r#"{"q":{"p50":null},"s":0,"with_x":0}"#,
            "null is not counted"
        );
        assert_eq!((m[1]["with_x"].as_u64(), m[1]["s"].as_f64()), (Some(1), Some(2.5)));
        assert!((m[1]["q"]["p50"].as_f64().unwrap() - 2.5).abs() <= 0.025);
        assert_eq!(
            m[2].to_string(),
            r#"{"q":{"p50":null},"s":0,"with_x":1}"#,
            "text counts, is no number"
        );
    }

    #[test]
    fn no_dimensions_means_one_group_per_window() {
        let mut e = engine(&spec(""));
        for x in 0..5 {
            e.observe(format!(r#"{{"ts":1715674620,"x":{x}}}"#).as_bytes());
        }
        let mut out = Vec::new();
        e.finish(&mut out);
        let rows = parse(&out);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["dimensions"].to_string(), "{}");
        assert_eq!(rows[0]["measures"]["s"], 10);
        assert_eq!(rows[1]["groups_emitted"], 1);
    }

    #[test]
    fn summary_totals_never_give_a_lone_group_or_a_total_under_min_count() {
        // (min_count, suppressed (groups, records), overflow (groups, records), other) → published
        let cases = [
            (5, (0, 0), (0, 0), false, (Some(0), Some(0))),
            (5, (1, 4), (0, 0), false, (None, Some(0))),
            (5, (1, 1), (0, 0), false, (None, Some(0))),
            (5, (2, 4), (0, 0), false, (None, Some(0))),
            (5, (2, 5), (0, 0), false, (Some(5), Some(0))),
            (0, (2, 1), (0, 0), false, (Some(1), Some(0))),
            (1, (1, 7), (0, 0), false, (None, Some(0))),
            (5, (3, 9), (1, 30), false, (Some(9), None)),
            (5, (3, 9), (40, 300), false, (Some(9), Some(300))),
            // __other__ = suppressed + overflow: withhold both or neither.
            (5, (1, 2), (40, 300), true, (None, None)),
            (5, (3, 9), (1, 6), true, (None, None)),
            (5, (3, 9), (40, 300), true, (Some(9), Some(300))),
            (5, (3, 9), (0, 0), true, (Some(9), Some(0))),
        ];
        for (min_count, sup, over, other, want) in cases {
            assert_eq!(published_totals(min_count, sup, over, other), want, "{sup:?} {over:?}");
        }
    }

    /// The window summary as analysts read it: a lone suppressed group's
    /// size is `null` in both suppression modes, and so is a total of two
    /// groups under `min_count`; the `__other__` row, when emitted, passed
    /// the thresholds itself.
    #[test]
    fn window_summaries_withhold_small_suppressed_totals() {
        let summary = |extra: &str, groups: &[(&str, i64)]| {
            let mut e = engine(&access_spec(extra));
            for (path, n) in groups {
                for i in 0..*n {
                    e.observe(&rec(i, path, &format!("k1:u{i}"), 1));
                }
            }
            let mut out = Vec::new();
            e.finish(&mut out);
            parse(&out).last().cloned().unwrap()
        };
        for mode in ["drop", "other"] {
            let extra = format!("min_count = 5\nsuppression = \"{mode}\"");
            let s = summary(&extra, &[("/big", 6), ("/lone", 4)]);
            assert_eq!(s["groups_suppressed"], 1);
            assert!(s["records_suppressed"].is_null(), "{mode}: {s}");
            assert_eq!(s["other_emitted"], false);
            let s = summary(&extra, &[("/big", 6), ("/s1", 1), ("/s2", 2)]);
            assert_eq!(s["groups_suppressed"], 2);
            assert!(s["records_suppressed"].is_null(), "{mode}: 3 < min_count: {s}");
            let s = summary(&extra, &[("/big", 6), ("/s1", 2), ("/s2", 3)]);
            assert_eq!(s["records_suppressed"], 5, "{mode}: {s}");
            assert_eq!(s["other_emitted"], mode == "other");
            let s = summary(&extra, &[("/big", 6)]);
            assert_eq!(s["records_suppressed"], 0);
            assert_eq!(s["overflow_records"], 0);
        }
    }
}
