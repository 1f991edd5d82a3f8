//! [`StatsShard`]: the per-record half of the statistics, one per worker
//! thread, so that no lock shared between workers is taken per record.
//!
//! A shard owns everything a record touches: the open windows it fed (its
//! own share of each window's groups), each source's progress and replay
//! point as far as this shard saw it, and the record counters. It decides
//! alone whether a record is a replay, invalid or late, from a copy of the
//! statistic's clock ([`ClockView`]) that the engine's core refreshes each
//! time it moves the clock (at `poll`, assignment and restore).
//!
//! Shards never threshold anything. The core (`engine`) takes the closable
//! windows out of every shard, merges each window's shares into one
//! aggregate (counts and sums add, HyperLogLog registers take the max,
//! DDSketch buckets add) and only then applies `min_count`/`min_distinct`
//! to the merged groups, so a group is released or suppressed on its whole
//! count, never on one worker's share of it.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::clock::{slot, SourceId};
use super::compile::CompiledStat;
use super::engine::{event_time, Observation};
use super::extract::{Record, Val};
use super::intern::{DimInterner, MAX_INTERNED};
use super::spec::TimeFormat;
use super::window::WindowAgg;
use super::StatsCounters;

/// Event times further than this many windows ahead of the watermark (or of
/// the last `now_ms`) are invalid; bounds the number of open windows.
pub(super) const MAX_WINDOWS_AHEAD: i64 = 1000;

/// Slots of one stat's inputs in the shared [`Record`].
#[derive(Debug)]
pub(super) struct Slots {
    pub(super) time: usize,
    pub(super) dims: Vec<usize>,
    pub(super) measures: Vec<Option<usize>>,
}

/// A statistic's definition and where its inputs sit in an [`Observation`],
/// shared by the core and every shard.
#[derive(Debug)]
pub(super) struct StatDef {
    pub(super) spec: CompiledStat,
    pub(super) slots: Slots,
}

/// The part of a statistic's clock a shard needs per record; copied from
/// the core whenever the core moves it.
#[derive(Debug, Clone, Copy)]
pub(super) struct ClockView {
    pub(super) watermark: Option<i64>,
    pub(super) closed_until: i64,
    pub(super) restored_until: i64,
    pub(super) last_now: Option<i64>,
}

impl Default for ClockView {
    fn default() -> Self {
        Self { watermark: None, closed_until: i64::MIN, restored_until: i64::MIN, last_now: None }
    }
}

/// One source as one shard saw it.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct ShardSource {
    /// One past the last offset observed here (or seeded by the core).
    pub(super) next_offset: Option<i64>,
    /// Records (and partials) seen from the source by this shard.
    pub(super) activity: u64,
}

/// One statistic's per-record state in one shard.
#[derive(Debug)]
pub(super) struct ShardStat {
    pub(super) def: Arc<StatDef>,
    /// This shard's share of the open windows, by window start.
    pub(super) windows: BTreeMap<i64, WindowAgg>,
    /// Per source: largest accepted event time seen by this shard (or seeded).
    pub(super) progress: Vec<Option<i64>>,
    /// Late records not yet reported in a summary.
    pub(super) pending_late: u64,
    /// Accepted records and merged partials.
    pub(super) activity: u64,
    pub(super) view: ClockView,
    /// This shard's ids of the statistic's dimension values; windows
    /// leaving the shard are resolved with it (`DimInterner::resolve`).
    pub(super) interner: DimInterner,
    /// The current record's dimension ids.
    ids: Vec<u32>,
    /// The last event-time text parsed and its result: a record's time is
    /// usually coarsened (`coarsen_time`), so consecutive records share it.
    /// An anonymized output value, like everything the statistics keep.
    last_time: TimeMemo,
}

/// One-entry memo of [`event_time`] for text times.
#[derive(Debug, Default)]
struct TimeMemo {
    text: Vec<u8>,
    parsed: Option<i64>,
}

impl TimeMemo {
    /// [`event_time`] of `v`, reusing the previous answer for the same text.
    fn event_time(&mut self, rec: &Record, v: Val, format: TimeFormat) -> Option<i64> {
        if !matches!(v, Val::Str(..)) {
            return event_time(rec, v, format);
        }
        let text = rec.text(v).as_bytes();
        if text != self.text.as_slice() {
            self.parsed = event_time(rec, v, format);
            self.text.clear();
            self.text.extend_from_slice(text);
        }
        self.parsed
    }
}

/// The per-record state of one worker's statistics (see the module doc).
#[derive(Debug)]
pub struct StatsShard {
    pub(super) stats: Vec<ShardStat>,
    pub(super) sources: Vec<ShardSource>,
    key_buf: Vec<u8>,
    hash_buf: Vec<u8>,
    /// Record counters (`records_observed`, `replayed_records`,
    /// `invalid_records`, `invalid_time`, `late_records`).
    pub(super) counters: StatsCounters,
}

impl StatsShard {
    pub(super) fn new(defs: &[Arc<StatDef>]) -> Self {
        let stats = defs
            .iter()
            .map(|def| ShardStat {
                def: Arc::clone(def),
                windows: BTreeMap::new(),
                progress: Vec::new(),
                pending_late: 0,
                activity: 0,
                view: ClockView::default(),
                interner: DimInterner::default(),
                ids: Vec::new(),
                last_time: TimeMemo::default(),
            })
            .collect();
        Self {
            stats,
            sources: Vec::new(),
            key_buf: Vec::new(),
            hash_buf: Vec::new(),
            counters: StatsCounters::default(),
        }
    }

    /// Whether `offset` of `source` was already observed (a replay after a
    /// re-assignment); records it as seen otherwise.
    pub(super) fn is_replay(&mut self, source: SourceId, offset: Option<i64>) -> bool {
        let s = slot(&mut self.sources, source);
        if let Some(offset) = offset {
            if s.next_offset.is_some_and(|n| offset < n) {
                return true;
            }
            s.next_offset = Some(offset.saturating_add(1));
        }
        s.activity += 1;
        false
    }

    /// Feeds one extracted record read from `source` at `offset` (see
    /// `StatsEngine::observe_from`).
    pub fn observe_from(&mut self, obs: &Observation, source: SourceId, offset: Option<i64>) {
        if self.is_replay(source, offset) {
            self.counters.replayed_records += 1;
            return;
        }
        self.counters.records_observed += 1;
        if !obs.valid {
            self.counters.invalid_records += 1;
            return;
        }
        for st in &mut self.stats {
            st.observe(
                &obs.rec,
                (source, offset),
                &mut self.key_buf,
                &mut self.hash_buf,
                &mut self.counters,
            );
        }
    }

    /// Window states held (a window fed by several shards counts once per shard).
    pub(super) fn open_windows(&self) -> usize {
        self.stats.iter().map(|s| s.windows.len()).sum()
    }

    /// Groups held in this shard's windows.
    pub(super) fn open_groups(&self) -> usize {
        self.stats
            .iter()
            .flat_map(|s| s.windows.values())
            .map(|w| w.groups.len() + w.by_id.len())
            .sum()
    }
}

impl ShardStat {
    fn is_closed(&self, start: i64) -> bool {
        let spec = &self.def.spec;
        let end = start.saturating_add(spec.window_ms);
        end <= self.view.closed_until
            || self.view.watermark.is_some_and(|wm| end.saturating_add(spec.lateness_ms) <= wm)
    }

    fn observe(
        &mut self,
        rec: &Record,
        from: (SourceId, Option<i64>),
        key: &mut Vec<u8>,
        scratch: &mut Vec<u8>,
        counters: &mut StatsCounters,
    ) {
        let def = &*self.def;
        let spec = &def.spec;
        let time = rec.vals.get(def.slots.time).copied().unwrap_or(Val::Missing);
        let Some(t) = self.last_time.event_time(rec, time, spec.time_format) else {
            counters.invalid_time += 1;
            return;
        };
        let w = spec.window_ms;
        let horizon = w.saturating_mul(MAX_WINDOWS_AHEAD);
        let too_far = |base: Option<i64>| base.is_some_and(|b| t > b.saturating_add(horizon));
        let own = self.progress.get(from.0 as usize).copied().flatten();
        if too_far(self.view.watermark) || too_far(self.view.last_now) || too_far(own) {
            counters.invalid_time += 1;
            return;
        }
        let start = t.div_euclid(w) * w;
        let end = start.saturating_add(w);
        if end <= self.view.restored_until {
            counters.replayed_records += 1;
            return;
        }
        // Late only relative to the record's own partition: its window's
        // close point is behind what that partition already delivered (or
        // the window is gone, which only idleness or a revocation allows).
        let behind_own = own.is_some_and(|m| end.saturating_add(spec.lateness_ms) <= m);
        if behind_own || self.is_closed(start) {
            counters.late_records += 1;
            self.pending_late += 1;
            return;
        }
        let own = slot(&mut self.progress, from.0);
        *own = Some(own.map_or(t, |m| m.max(t)));
        self.activity += 1;
        if self.interner.len() >= MAX_INTERNED {
            // Bounded: every open window goes back to byte keys, and ids start afresh.
            for w in self.windows.values_mut() {
                self.interner.resolve(w, spec);
            }
            self.interner = DimInterner::default();
        }
        self.ids.clear();
        for &slot in &def.slots.dims {
            let v = rec.vals.get(slot).copied().unwrap_or(Val::Missing);
            self.ids.push(self.interner.id(rec, v));
        }
        let window = self.windows.entry(start).or_default();
        window.observe_ids(&self.ids, &self.interner, key, spec, rec, &def.slots.measures, scratch);
        if let Some(offset) = from.1 {
            window.note_source(from.0, offset);
        }
    }
}

#[cfg(test)]
mod tests {
    //! Several shards behind one core: thresholds see merged groups only,
    //! the watermark waits for every shard's sources, a partition moving to
    //! another worker keeps its replay point, and the rows equal a single
    //! engine's.
    use serde_json::Value;

    use super::super::tests::{access_spec, parse, rec, T0};
    use super::super::{
        compile_all, open_windows, spec::StatSpec, Observation, StatsCore, StatsEngine,
    };
    use super::*;

    fn core(toml_text: &str) -> StatsCore {
        #[derive(serde::Deserialize)]
        struct P {
            stats: Vec<StatSpec>,
        }
        let specs = toml::from_str::<P>(toml_text).unwrap().stats;
        StatsCore::new(compile_all(&specs).unwrap())
    }

    fn feed(core: &StatsCore, shard: &mut StatsShard, source: SourceId, offset: i64, r: &[u8]) {
        let mut obs = Observation::default();
        core.extractor().extract(r, &mut obs);
        shard.observe_from(&obs, source, Some(offset));
    }

    fn group_counts(rows: &[Value]) -> Vec<(String, i64, i64)> {
        rows.iter()
            .filter(|r| r.get("dimensions").is_some())
            .map(|r| {
                (
                    r["dimensions"]["path_template"].as_str().unwrap_or("?").to_owned(),
                    r["measures"]["requests"].as_i64().unwrap(),
                    r["measures"]["users"].as_i64().unwrap(),
                )
            })
            .collect()
    }

    /// The memo answers what `event_time` answers, for text and numbers,
    /// the same text repeated or alternating.
    #[test]
    fn the_time_memo_answers_like_event_time() {
        let texts = [
            "",
            "2024-05-14T08:00:00.000Z",
            "2024-05-14T08:00:00.000Z",
            "not a time",
            "2024-05-14T08:01:00Z",
            "2024-05-14T08:00:00.000Z",
            "2024-05-14T08:00:00.000Z",
            "",
        ];
        for format in [TimeFormat::Auto, TimeFormat::Rfc3339, TimeFormat::EpochMs] {
            let mut memo = TimeMemo::default();
            let mut rec = Record::default();
            for t in texts {
                let v = rec.push_str(t);
                assert_eq!(memo.event_time(&rec, v, format), event_time(&rec, v, format), "{t}");
                let n = Val::UInt(1_715_673_600_000);
                assert_eq!(memo.event_time(&rec, n, format), event_time(&rec, n, format));
            }
        }
    }

    #[test]
    fn thresholds_apply_to_the_merged_group_only() {
        let c = &mut core(&access_spec("min_count = 5\nmin_distinct = 3"));
        let (mut a, mut b) = (c.new_shard(), c.new_shard());
        let mut offsets = [0_i64; 3];
        let mut put = |shard: &mut StatsShard, source: SourceId, path: &str, user: &str| {
            let o = &mut offsets[source as usize];
            feed(c, shard, source, *o, &rec(1_000, path, user, 1));
            *o += 1;
        };
        // `/a`: 3 records on each worker, 3 users: neither share passes, the whole does.
        for u in ["u1", "u2", "u3"] {
            put(&mut a, 1, "/a", u);
            put(&mut b, 2, "/a", u);
        }
        // `/b`: 2 + 2 records: suppressed, never released by a share.
        for u in ["u1", "u2"] {
            put(&mut a, 1, "/b", u);
            put(&mut b, 2, "/b", u);
        }
        // `/c`: 5 records on each worker (each share passes min_count) by
        // the same two users: the merged group has 2 distinct users.
        for i in 0..5 {
            let u = if i % 2 == 0 { "u1" } else { "u2" };
            put(&mut a, 1, "/c", u);
            put(&mut b, 2, "/c", u);
        }
        let mut out = Vec::new();
        c.finish(&mut [&mut a, &mut b], &mut out);
        let rows = parse(&out);
        assert_eq!(group_counts(&rows), [("/a".to_owned(), 6, 3)], "{rows:?}");
        let summary = rows.iter().find(|r| r.get("summary").is_some()).unwrap();
        assert_eq!(summary["groups_suppressed"], 2);
        assert_eq!(summary["records_suppressed"], 14);
    }

    #[test]
    fn a_worker_behind_holds_the_watermark() {
        let c = &mut core(&access_spec("allowed_lateness = \"0s\""));
        let (mut a, mut b) = (c.new_shard(), c.new_shard());
        let now = T0 + 3_600_000;
        c.assign_source(&mut [&mut a, &mut b], 1, now);
        c.assign_source(&mut [&mut a, &mut b], 2, now);
        for i in 0..10 {
            feed(c, &mut a, 1, i, &rec(i * 60_000, "/a", "u", 1));
        }
        let mut out = Vec::new();
        c.poll(&mut [&mut a, &mut b], now, &mut out);
        assert!(out.is_empty(), "partition 2, read by the other worker, has delivered nothing");
        for i in 0..10 {
            feed(c, &mut b, 2, i, &rec(i * 60_000 + 30_000, "/a", "u", 1));
        }
        c.poll(&mut [&mut a, &mut b], now + 1, &mut out);
        let summaries = parse(&out).into_iter().filter(|r| r.get("summary").is_some()).count();
        assert_eq!(summaries, 9, "windows 0..8 close once both workers passed them");
        assert_eq!(c.counters(&[&a, &b]).late_records, 0);
        // The moved clock reached both shards: partition 2 going back is late.
        feed(c, &mut b, 2, 10, &rec(60_000, "/a", "u", 1));
        assert_eq!(c.counters(&[&a, &b]).late_records, 1);
    }

    #[test]
    fn at_most_max_open_windows_stay_open() {
        let c = &mut core(&access_spec("max_open_windows = 3\nallowed_lateness = \"0s\""));
        let (mut a, mut b) = (c.new_shard(), c.new_shard());
        let now = T0 + 3_600_000;
        c.assign_source(&mut [&mut a, &mut b], 1, now);
        c.assign_source(&mut [&mut a, &mut b], 2, now);
        // Partition 1 races ten windows ahead; partition 2 holds the
        // watermark at its first record.
        feed(c, &mut b, 2, 0, &rec(0, "/a", "u", 1));
        for i in 0..10 {
            feed(c, &mut a, 1, i, &rec(i * 60_000, "/a", "u", 1));
        }
        let mut out = Vec::new();
        c.poll(&mut [&mut a, &mut b], now, &mut out);
        let counters = c.counters(&[&a, &b]);
        assert_eq!(counters.windows_closed_early, 7);
        assert_eq!(open_windows(&[&a, &b]), 3, "windows 7, 8 and 9 stay open");
        let rows = parse(&out);
        let summaries: Vec<&Value> = rows.iter().filter(|r| r.get("summary").is_some()).collect();
        assert_eq!(summaries.len(), 7);
        assert!(summaries.iter().all(|r| r["partial"] == false), "emitted as final");
        assert_eq!(group_counts(&rows)[0].1, 2, "window 0 merged both workers' records");
        // Partition 2 catching up: its records of the closed windows are late.
        feed(c, &mut b, 2, 1, &rec(60_000, "/a", "u", 1));
        feed(c, &mut b, 2, 2, &rec(7 * 60_000, "/a", "u", 1));
        assert_eq!(c.counters(&[&a, &b]).late_records, 1);
        assert_eq!(c.closed_until(), vec![("rpm", T0 + 7 * 60_000)]);
    }

    #[test]
    fn a_partition_moving_to_another_worker_keeps_its_replay_point() {
        let c = &mut core(&access_spec(""));
        let (mut a, mut b) = (c.new_shard(), c.new_shard());
        let now = T0 + 3_600_000;
        c.assign_source(&mut [&mut a, &mut b], 1, now);
        for o in 0..6 {
            feed(c, &mut a, 1, o, &rec(1_000, "/a", "u", 1));
        }
        c.revoke_source(&mut [&mut a, &mut b], 1);
        c.assign_source(&mut [&mut a, &mut b], 1, now);
        // The partition is read again from offset 3, now by the other worker.
        for o in 3..9 {
            feed(c, &mut b, 1, o, &rec(1_000, "/a", "u", 1));
        }
        let counters = c.counters(&[&a, &b]);
        assert_eq!((counters.replayed_records, counters.records_observed), (3, 9));
        // A shard added later starts from what the core gathered (offset 6).
        let mut fresh = c.new_shard();
        feed(c, &mut fresh, 1, 5, &rec(1_000, "/a", "u", 1));
        assert_eq!(fresh.counters.replayed_records, 1, "a shard added later is seeded too");
    }

    #[test]
    fn shards_emit_what_one_engine_emits() {
        let spec = access_spec("min_count = 3\nmin_distinct = 2\nallowed_lateness = \"5s\"");
        let mut single = {
            #[derive(serde::Deserialize)]
            struct P {
                stats: Vec<StatSpec>,
            }
            StatsEngine::new(compile_all(&toml::from_str::<P>(&spec).unwrap().stats).unwrap())
        };
        let c = &mut core(&spec);
        let mut shards: Vec<StatsShard> = (0..3).map(|_| c.new_shard()).collect();
        let now = T0 + 86_400_000;
        for s in 0..4 {
            single.assign_source(s, now);
            let mut refs: Vec<&mut StatsShard> = shards.iter_mut().collect();
            c.assign_source(&mut refs, s, now);
        }
        let paths = ["/a", "/b/1", "/c/x", "/d"];
        let (mut one, mut many) = (Vec::new(), Vec::new());
        for i in 0..4_000_i64 {
            // Four partitions, each in order, read by three workers.
            let source = (i % 4) as SourceId;
            let offset = i / 4;
            let at = offset * 700 + i64::from(source) * 2_000;
            let r = rec(at, paths[(i * 7 % 4) as usize], &format!("u{}", i % 13), (i % 50) as u64);
            let mut obs = Observation::default();
            c.extractor().extract(&r, &mut obs);
            single.observe_from(&obs, source, Some(offset));
            shards[source as usize % 3].observe_from(&obs, source, Some(offset));
            if i % 500 == 0 {
                single.poll(now + i, &mut one);
                let mut refs: Vec<&mut StatsShard> = shards.iter_mut().collect();
                c.poll(&mut refs, now + i, &mut many);
            }
        }
        single.finish(&mut one);
        let mut refs: Vec<&mut StatsShard> = shards.iter_mut().collect();
        c.finish(&mut refs, &mut many);
        assert!(one.len() > 50, "{}", one.len());
        assert_eq!(parse(&one), parse(&many));
        let keys = |rows: &[crate::stats::StatsRow]| {
            rows.iter().map(|r| r.key.clone()).collect::<Vec<_>>()
        };
        assert_eq!(keys(&one), keys(&many));
        let refs: Vec<&StatsShard> = shards.iter().collect();
        assert_eq!(single.counters(), c.counters(&refs));
    }
}
