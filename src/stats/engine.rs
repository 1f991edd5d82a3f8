//! [`StatsEngine`]: feeds anonymized records into the windows of every
//! statistic, tracks per-stat watermarks (with idle advance), closes windows
//! into final rows or mergeable partials, and merges partials from other
//! instances. Single-threaded; the caller wraps it in a `Mutex`.
//!
//! All statistics share one extraction pass per record: their paths live in
//! one trie, derived dimensions are computed once into extra slots, and each
//! stat then builds its group key into a reused buffer, so a record for an
//! existing group allocates nothing.

use std::collections::BTreeMap;

use super::clock::{min_active, slot, SourceId, SourceState, IMPLICIT_SOURCE};
use super::compile::{CompiledStat, Source};
use super::derive::derive;
use super::extract::{PathTrie, Record, Val};
use super::noise::Noise;
use super::partial::{
    canonical_key, decode_group, decode_overflow_keys, window_partials, PartialKind, PartialWire,
    PARTIAL_SCHEMA,
};
use super::render::Emit;
use super::spec::{DeriveKind, TimeFormat};
use super::time::{epoch_to_ms, parse_rfc3339_ms, MAX_EVENT_MS, MIN_EVENT_MS};
use super::window::WindowAgg;
use super::{PartialRow, SourceSpan, StatsCounters, StatsError, StatsRow};

/// Event times further than this many windows ahead of the watermark (or of
/// the last `now_ms`) are invalid; bounds the number of open windows.
const MAX_WINDOWS_AHEAD: i64 = 1000;

/// Slots of one stat's inputs in the shared [`Record`].
#[derive(Debug)]
struct Slots {
    time: usize,
    dims: Vec<usize>,
    measures: Vec<Option<usize>>,
}

/// Runtime state of one statistic.
#[derive(Debug)]
struct StatState {
    spec: CompiledStat,
    slots: Slots,
    windows: BTreeMap<i64, WindowAgg>,
    /// Largest accepted event time (or sender watermark, or idle-advanced).
    watermark: Option<i64>,
    /// Every window ending at or before this has been emitted.
    closed_until: i64,
    /// Late records not yet reported in a summary.
    pending_late: u64,
    /// Accepted records and merged partials so far, and the value at the last poll.
    activity: u64,
    activity_at_poll: u64,
    /// `now_ms` of the poll that last saw activity, and the watermark then.
    active_since: Option<(i64, Option<i64>)>,
    /// Largest `now_ms` seen.
    last_now: Option<i64>,
    /// Merge side: sender watermarks held back until `merge_delay_ms` of wall
    /// time after their arrival (arrival = the next `now_ms` seen), so the
    /// partials of slower instances for the same window arrive first.
    held_watermarks: Vec<(Option<i64>, i64)>,
    /// Per source: largest accepted event time (the source's own progress).
    progress: Vec<Option<i64>>,
    /// Windows ending at or before this were emitted and delivered before a
    /// restart (from the committed offsets' metadata): their records, read
    /// again from the committed offsets, are skipped.
    restored_until: i64,
    /// Every window ending at or before this was emitted as final rows.
    final_until: i64,
}

impl StatState {
    fn is_closed(&self, start: i64) -> bool {
        let end = start.saturating_add(self.spec.window_ms);
        end <= self.closed_until
            || self.watermark.is_some_and(|wm| end.saturating_add(self.spec.lateness_ms) <= wm)
    }

    fn observe(
        &mut self,
        rec: &Record,
        from: (SourceId, Option<i64>),
        key: &mut Vec<u8>,
        scratch: &mut Vec<u8>,
        counters: &mut StatsCounters,
    ) {
        let time = rec.vals.get(self.slots.time).copied().unwrap_or(Val::Missing);
        let Some(t) = event_time(rec, time, self.spec.time_format) else {
            counters.invalid_time += 1;
            return;
        };
        let w = self.spec.window_ms;
        let horizon = w.saturating_mul(MAX_WINDOWS_AHEAD);
        let too_far = |base: Option<i64>| base.is_some_and(|b| t > b.saturating_add(horizon));
        let own = self.progress.get(from.0 as usize).copied().flatten();
        if too_far(self.watermark) || too_far(self.last_now) || too_far(own) {
            counters.invalid_time += 1;
            return;
        }
        let start = t.div_euclid(w) * w;
        let end = start.saturating_add(w);
        if end <= self.restored_until {
            counters.replayed_records += 1;
            return;
        }
        // Late only relative to the record's own partition: its window's
        // close point is behind what that partition already delivered (or
        // the window is gone, which only idleness or a revocation allows).
        let own = slot(&mut self.progress, from.0);
        let behind_own = own.is_some_and(|m| end.saturating_add(self.spec.lateness_ms) <= m);
        if behind_own || self.is_closed(start) {
            counters.late_records += 1;
            self.pending_late += 1;
            return;
        }
        let own = slot(&mut self.progress, from.0);
        *own = Some(own.map_or(t, |m| m.max(t)));
        self.activity += 1;
        key.clear();
        key.push(b'[');
        for (i, &slot) in self.slots.dims.iter().enumerate() {
            if i > 0 {
                key.push(b',');
            }
            rec.write_json(rec.vals.get(slot).copied().unwrap_or(Val::Missing), key);
        }
        key.push(b']');
        let window = self.windows.entry(start).or_default();
        window.observe(key, &self.spec, rec, &self.slots.measures, scratch);
        if let Some(offset) = from.1 {
            window.note_source(from.0, offset);
        }
    }

    /// Applies held sender watermarks that arrived at least `delay` ago (all when `delay` is None).
    fn release_watermarks(&mut self, now: i64, delay: Option<i64>) {
        let mut best = self.watermark;
        self.held_watermarks.retain_mut(|(arrival, wm)| {
            let at = *arrival.get_or_insert(now);
            let due = delay.is_none_or(|d| at.saturating_add(d) <= now);
            if due {
                best = Some(best.map_or(*wm, |b| b.max(*wm)));
            }
            !due
        });
        self.watermark = best;
    }

    fn raise_watermark(&mut self, to: i64) {
        self.watermark = Some(self.watermark.map_or(to, |wm| wm.max(to)));
    }

    /// Records `now_ms` and moves the watermark: the minimum over the active
    /// sources (see `clock`); when no source is active, the furthest
    /// progress plus the wall time since the last record, once that exceeds
    /// `idle_timeout`. A merging engine follows its senders' watermarks and
    /// advances after one idle window length.
    fn tick(&mut self, now: i64, merge_delay: i64, sources: Option<&[SourceState]>) {
        self.release_watermarks(now, Some(merge_delay));
        self.last_now = Some(self.last_now.map_or(now, |n| n.max(now)));
        let changed = self.activity != self.activity_at_poll;
        if changed {
            self.activity_at_poll = self.activity;
            self.active_since = Some((now, self.watermark));
        }
        let Some(sources) = sources else {
            if let (false, Some((since, Some(wm0)))) = (changed, self.active_since) {
                let idle = now.saturating_sub(since);
                if idle >= self.spec.window_ms {
                    self.raise_watermark(wm0.saturating_add(idle));
                }
            }
            return;
        };
        match min_active(sources, &self.progress, now, self.spec.idle_ms) {
            Ok(Some(wm)) => self.raise_watermark(wm),
            Ok(None) => {}
            Err(()) => {
                let furthest = self.progress.iter().flatten().copied().max();
                if let (Some((since, _)), Some(furthest)) = (self.active_since, furthest) {
                    let idle = now.saturating_sub(since);
                    if idle >= self.spec.idle_ms {
                        self.raise_watermark(furthest.saturating_add(idle));
                    }
                }
            }
        }
    }

    /// Lowest first offset of `source` over the open windows.
    fn floor(&self, source: SourceId) -> Option<i64> {
        self.windows.values().filter_map(|w| w.first_offset(source)).min()
    }

    /// Removes the windows to emit: closable ones, or all of them.
    fn take_windows(&mut self, all: bool) -> Vec<(i64, WindowAgg)> {
        let (w, lateness) = (self.spec.window_ms, self.spec.lateness_ms);
        let mut out = Vec::new();
        while let Some(entry) = self.windows.first_entry() {
            let end = entry.key().saturating_add(w);
            if !all && self.watermark.is_none_or(|wm| end.saturating_add(lateness) > wm) {
                break;
            }
            self.closed_until = self.closed_until.max(end);
            // Windows flushed early at shutdown do not count as emitted in
            // the commit metadata: after a restart they are read again and
            // emitted complete.
            if !all {
                self.final_until = self.final_until.max(end);
            }
            out.push(entry.remove_entry());
        }
        out
    }
}

fn event_time(rec: &Record, v: Val, format: TimeFormat) -> Option<i64> {
    match v {
        Val::Str(..) if matches!(format, TimeFormat::Auto | TimeFormat::Rfc3339) => {
            parse_rfc3339_ms(rec.text(v).as_bytes())
        }
        Val::Int(_) | Val::UInt(_) | Val::Float(_) => epoch_to_ms(Record::number(v)?, format),
        _ => None,
    }
}

/// The half of [`StatsEngine::observe`] that reads the record and touches no
/// aggregation state: field extraction and derived dimensions. Workers that
/// share one engine run it outside the engine's lock (it is most of the
/// cost), then hand the [`Observation`] to [`StatsEngine::observe_extracted`].
#[derive(Debug, Clone)]
pub struct StatsExtractor {
    trie: PathTrie,
    derived: Vec<(DeriveKind, usize)>,
}

/// One record's extracted values (reused from record to record).
#[derive(Debug, Default)]
pub struct Observation {
    rec: Record,
    derived_buf: String,
    valid: bool,
}

impl StatsExtractor {
    /// Extracts what the statistics need from one anonymized record.
    pub fn extract(&self, anon_record: &[u8], obs: &mut Observation) {
        obs.valid = self.trie.extract(anon_record, &mut obs.rec).is_ok();
        if !obs.valid {
            return;
        }
        for &(kind, from) in &self.derived {
            let v = obs.rec.vals.get(from).copied().unwrap_or(Val::Missing);
            let val = if derive(kind, &obs.rec, v, &mut obs.derived_buf) {
                obs.rec.push_str(&obs.derived_buf)
            } else {
                Val::Missing
            };
            obs.rec.vals.push(val);
        }
    }
}

/// Computes all statistics of a pipeline. See the module doc for semantics.
#[derive(Debug)]
pub struct StatsEngine {
    extractor: StatsExtractor,
    stats: Vec<StatState>,
    obs: Observation,
    key_buf: Vec<u8>,
    hash_buf: Vec<u8>,
    counters: StatsCounters,
    noise: Noise,
    /// Merge side: wall-clock hold on sender watermarks (0 = none).
    merge_delay_ms: i64,
    /// Merges partials (watermarks come from the senders, not from sources).
    merging: bool,
    /// Input partitions by [`SourceId`].
    sources: Vec<SourceState>,
    /// Offsets that fed windows flushed early by `finish` (`partial: true`):
    /// they stay uncommitted so a restart reads those windows again whole.
    finished_floors: Vec<(SourceId, i64)>,
}

impl StatsEngine {
    /// Builds the engine; stats are emitted in this order.
    pub fn new(stats: Vec<CompiledStat>) -> Self {
        let mut trie = PathTrie::new();
        for s in &stats {
            trie.insert(&s.time_path);
            let sources = s
                .dims
                .iter()
                .map(|d| &d.1)
                .chain(s.measures.iter().filter_map(|m| m.source.as_ref()));
            for src in sources {
                let (Source::Path(p) | Source::Derived(_, p)) = src;
                trie.insert(p);
            }
        }
        let path_slots = trie.slots();
        let mut derived: Vec<(DeriveKind, usize)> = Vec::new();
        let mut slot_of = |src: &Source| match src {
            Source::Path(p) => trie.insert(p),
            Source::Derived(kind, p) => {
                let def = (*kind, trie.insert(p));
                let idx = derived.iter().position(|d| *d == def).unwrap_or_else(|| {
                    derived.push(def);
                    derived.len() - 1
                });
                path_slots + idx
            }
        };
        let mut states = Vec::with_capacity(stats.len());
        for spec in stats {
            let slots = Slots {
                time: slot_of(&Source::Path(spec.time_path.clone())),
                dims: spec.dims.iter().map(|d| slot_of(&d.1)).collect(),
                measures: spec
                    .measures
                    .iter()
                    .map(|m| m.source.as_ref().map(&mut slot_of))
                    .collect(),
            };
            states.push(StatState {
                spec,
                slots,
                windows: BTreeMap::new(),
                watermark: None,
                closed_until: i64::MIN,
                held_watermarks: Vec::new(),
                pending_late: 0,
                activity: 0,
                activity_at_poll: 0,
                active_since: None,
                last_now: None,
                progress: Vec::new(),
                restored_until: i64::MIN,
                final_until: i64::MIN,
            });
        }
        Self {
            extractor: StatsExtractor { trie, derived },
            stats: states,
            obs: Observation::default(),
            key_buf: Vec::new(),
            hash_buf: Vec::new(),
            counters: StatsCounters::default(),
            noise: Noise::from_entropy(),
            merge_delay_ms: 0,
            merging: false,
            sources: Vec::new(),
            finished_floors: Vec::new(),
        }
    }

    /// Merge side of the multi-instance path: hold each partial's sender
    /// watermark for `ms` of wall time (measured by `poll`'s `now_ms`) before
    /// it may close windows, so partials of the same window from instances
    /// that tick a little later are merged instead of counted late.
    pub fn set_merge_delay(&mut self, ms: i64) {
        self.merge_delay_ms = ms.max(0);
        self.merging = true;
    }

    /// A partition was assigned at wall time `now_ms`: it holds the
    /// watermark back until it delivers a record or becomes idle. A source
    /// assigned again keeps its progress and skips offsets it already saw.
    pub fn assign_source(&mut self, source: SourceId, now_ms: i64) {
        let s = slot(&mut self.sources, source);
        s.assigned = true;
        s.last_active = Some(now_ms);
    }

    /// A partition was revoked: it leaves the watermark's minimum. Its
    /// contributions to open windows stay.
    pub fn revoke_source(&mut self, source: SourceId) {
        slot(&mut self.sources, source).assigned = false;
    }

    /// The lowest offset of `source` whose record still feeds a window not
    /// yet emitted (or only emitted early, `partial: true`): the partition's
    /// commit point must not pass it, so a restart reads those windows again.
    pub fn commit_floor(&self, source: SourceId) -> Option<i64> {
        let open = self.stats.iter().filter_map(|st| st.floor(source)).min();
        let finished =
            self.finished_floors.iter().filter(|(s, _)| *s == source).map(|(_, o)| *o).min();
        match (open, finished) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// [`StatsEngine::commit_floor`] of every source at once, indexed by
    /// [`SourceId`] (one pass over the open windows).
    pub fn commit_floors(&self) -> Vec<Option<i64>> {
        let mut floors: Vec<Option<i64>> = Vec::new();
        let mut lower = |source: SourceId, offset: i64| {
            let f = slot(&mut floors, source);
            *f = Some(f.map_or(offset, |g| g.min(offset)));
        };
        for st in &self.stats {
            for w in st.windows.values() {
                w.sources.iter().for_each(|s| lower(s.source, s.first));
            }
        }
        self.finished_floors.iter().for_each(|&(s, o)| lower(s, o));
        floors
    }

    /// Drops every open window `source` fed (a merging engine whose
    /// partials partition moved to another owner, who rebuilds them).
    pub fn drop_windows_of(&mut self, source: SourceId) {
        for st in &mut self.stats {
            st.windows.retain(|_, w| w.first_offset(source).is_none());
        }
    }

    /// Per statistic, the end of the last window emitted as final (every
    /// earlier window was emitted too). Stored with the committed offsets;
    /// see [`StatsEngine::restore_closed`].
    pub fn closed_until(&self) -> Vec<(&str, i64)> {
        self.stats
            .iter()
            .filter(|st| st.final_until > i64::MIN)
            .map(|st| (st.spec.name.as_str(), st.final_until))
            .collect()
    }

    /// After a restart: windows of `stat` ending at or before `until_ms`
    /// were emitted and delivered by an earlier run, so their records, read
    /// again from the committed offsets, are skipped (counted as
    /// `replayed_records`), and those windows are never emitted again.
    pub fn restore_closed(&mut self, stat: &str, until_ms: i64) {
        if let Some(st) = self.stats.iter_mut().find(|s| s.spec.name == stat) {
            st.restored_until = st.restored_until.max(until_ms);
            st.closed_until = st.closed_until.max(until_ms);
            st.final_until = st.final_until.max(until_ms);
        }
    }

    /// Whether `offset` of `source` was already observed (a replay after a
    /// re-assignment); records it as seen otherwise.
    fn is_replay(&mut self, source: SourceId, offset: Option<i64>) -> bool {
        let s = slot(&mut self.sources, source);
        if let Some(offset) = offset {
            if s.next_offset.is_some_and(|n| offset < n) {
                return true;
            }
            s.next_offset = Some(offset.saturating_add(1));
        }
        s.touch();
        false
    }

    /// Makes count noise (`epsilon`) reproducible; for tests and replays only.
    pub fn set_noise_seed(&mut self, seed: u64) {
        self.noise = Noise::seeded(seed);
    }

    /// Feeds one anonymized record (compact JSON object bytes). Records that
    /// are not an object, or lack a valid event time for a stat, or are late,
    /// are only counted (see [`StatsEngine::counters`]).
    pub fn observe(&mut self, anon_record: &[u8]) {
        let mut obs = std::mem::take(&mut self.obs);
        self.extractor.extract(anon_record, &mut obs);
        self.observe_extracted(&obs);
        self.obs = obs;
    }

    /// A copy of this engine's extraction half, for callers that extract
    /// outside a lock shared with other threads.
    pub fn extractor(&self) -> StatsExtractor {
        self.extractor.clone()
    }

    /// Feeds one record already extracted by this engine's
    /// [`StatsEngine::extractor`]: the same as [`StatsEngine::observe`] on the
    /// record it was extracted from.
    pub fn observe_extracted(&mut self, obs: &Observation) {
        self.observe_from(obs, IMPLICIT_SOURCE, None);
    }

    /// Feeds one extracted record read from `source` at `offset`. An offset
    /// the source already delivered (a partition re-assigned to this
    /// instance is read again from its commit point) is skipped and counted
    /// as `replayed_records`.
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

    /// Emits every window with `end + allowed_lateness <= watermark` as final
    /// rows; `now_ms` (wall clock, epoch ms) drives the idle advance.
    pub fn poll(&mut self, now_ms: i64, out: &mut Vec<StatsRow>) {
        self.emit_final(Some(now_ms), out);
    }

    /// Emits all open windows as final rows marked `"partial": true` (graceful shutdown).
    pub fn finish(&mut self, out: &mut Vec<StatsRow>) {
        self.emit_final(None, out);
    }

    fn tick_sources(&mut self, now: Option<i64>) {
        if let Some(now) = now {
            self.sources.iter_mut().for_each(|s| s.tick(now));
        }
    }

    fn emit_final(&mut self, now: Option<i64>, out: &mut Vec<StatsRow>) {
        self.tick_sources(now);
        let sources = (!self.merging).then_some(&self.sources[..]);
        for st in &mut self.stats {
            if let Some(now) = now {
                st.tick(now, self.merge_delay_ms, sources);
            }
            for (start, mut win) in st.take_windows(now.is_none()) {
                let late = std::mem::take(&mut st.pending_late);
                let spans: std::sync::Arc<[SourceSpan]> = std::mem::take(&mut win.sources).into();
                if now.is_none() {
                    self.finished_floors.extend(spans.iter().map(|s| (s.source, s.first)));
                }
                let emit = Emit { stat: &st.spec, start, partial: now.is_none(), spans };
                emit.final_rows(win, late, &mut self.noise, &mut self.counters, out);
            }
        }
    }

    /// Like [`StatsEngine::poll`], but emits mergeable partials (no thresholds) for closed windows.
    pub fn poll_partials(&mut self, now_ms: i64, out: &mut Vec<PartialRow>) {
        self.emit_partials(Some(now_ms), out);
    }

    /// Emits partials for all open windows (graceful shutdown of a non-owner).
    pub fn finish_partials(&mut self, out: &mut Vec<PartialRow>) {
        self.emit_partials(None, out);
    }

    fn emit_partials(&mut self, now: Option<i64>, out: &mut Vec<PartialRow>) {
        self.tick_sources(now);
        let sources = (!self.merging).then_some(&self.sources[..]);
        for st in &mut self.stats {
            if let Some(now) = now {
                st.tick(now, self.merge_delay_ms, sources);
            }
            for (start, win) in st.take_windows(now.is_none()) {
                let late = std::mem::take(&mut st.pending_late);
                self.counters.partials_emitted +=
                    window_partials(&st.spec, start, win, st.watermark, late, out);
            }
        }
    }

    /// Merges one partial (from any instance, including this one); the
    /// owner's `poll`/`finish` then thresholds the merged groups. A partial
    /// for a window this engine already emitted is counted as late records.
    ///
    /// # Errors
    /// [`StatsError::Partial`] when the bytes are not a partial, name an
    /// unknown stat, or their window or measures do not match its definition;
    /// nothing is merged then.
    pub fn merge_partial(&mut self, partial: &[u8]) -> Result<(), StatsError> {
        self.merge_partial_from(partial, IMPLICIT_SOURCE, None)
    }

    /// [`StatsEngine::merge_partial`] for a partial read from `source` at
    /// `offset` (the internal topic's partition): the window remembers the
    /// offset so the partition's commit point waits for the merged rows,
    /// and an offset already merged (a re-assignment) is skipped.
    ///
    /// # Errors
    /// As [`StatsEngine::merge_partial`].
    pub fn merge_partial_from(
        &mut self,
        partial: &[u8],
        source: SourceId,
        offset: Option<i64>,
    ) -> Result<(), StatsError> {
        if self.is_replay(source, offset) {
            self.counters.replayed_records += 1;
            return Ok(());
        }
        let wire: PartialWire<'_> = serde_json::from_slice(partial)
            .map_err(|_| StatsError::Partial("not a partial record"))?;
        if wire.schema != PARTIAL_SCHEMA {
            return Err(StatsError::Partial("unknown schema"));
        }
        let st = self
            .stats
            .iter_mut()
            .find(|s| s.spec.name == wire.stat)
            .ok_or(StatsError::Partial("unknown stat"))?;
        let (start, w) = (wire.window_start_ms, st.spec.window_ms);
        if start.rem_euclid(w) != 0 || !(MIN_EVENT_MS..=MAX_EVENT_MS).contains(&start) {
            return Err(StatsError::Partial("window does not match the stat definition"));
        }
        let watermark = wire.watermark_ms.filter(|wm| (MIN_EVENT_MS..=MAX_EVENT_MS).contains(wm));
        let (group, overflow_keys) = match wire.kind {
            PartialKind::Window => (None, None),
            PartialKind::Group => {
                let raw = wire.group.ok_or(StatsError::Partial("group partial without group"))?;
                canonical_key(raw, st.spec.dims.len(), &mut self.key_buf)?;
                (Some(decode_group(&st.spec, wire.count, wire.measures)?), None)
            }
            PartialKind::Overflow => {
                let keys = decode_overflow_keys(wire.overflow_keys)?;
                (Some(decode_group(&st.spec, wire.count, wire.measures)?), keys)
            }
        };
        self.counters.partials_merged += 1;
        st.activity += 1;
        if let Some(wm) = watermark {
            if self.merge_delay_ms > 0 {
                st.held_watermarks.push((None, wm));
            } else {
                st.watermark = Some(st.watermark.map_or(wm, |cur| cur.max(wm)));
            }
        }
        if start.saturating_add(w) <= st.restored_until {
            self.counters.replayed_records += 1;
            return Ok(());
        }
        if start.saturating_add(w) <= st.closed_until {
            let records = group.as_ref().map_or(0, |g| g.count);
            self.counters.late_records += records;
            st.pending_late =
                st.pending_late.saturating_add(records).saturating_add(wire.late_records);
            return Ok(());
        }
        let win = st.windows.entry(start).or_default();
        if let Some(offset) = offset {
            win.note_source(source, offset);
        }
        win.late_records = win.late_records.saturating_add(wire.late_records);
        match (wire.kind, group) {
            (PartialKind::Group, Some(g)) => {
                win.merge_group(&self.key_buf, g, &st.spec)
                    .ok_or(StatsError::Partial("measures do not match the stat definition"))?;
            }
            (PartialKind::Overflow, Some(g)) => win.merge_overflow(g, overflow_keys),
            _ => {}
        }
        Ok(())
    }

    /// Cumulative counters.
    pub fn counters(&self) -> StatsCounters {
        self.counters
    }

    /// Distinct output topics, in stat order.
    pub fn topics(&self) -> Vec<String> {
        let mut topics: Vec<String> = Vec::new();
        for st in &self.stats {
            if !topics.contains(&st.spec.topic) {
                topics.push(st.spec.topic.clone());
            }
        }
        topics
    }

    /// Number of open windows over all stats (a gauge for bounded state).
    pub fn open_windows(&self) -> usize {
        self.stats.iter().map(|s| s.windows.len()).sum()
    }

    /// Number of groups held in open windows over all stats.
    pub fn open_groups(&self) -> usize {
        self.stats.iter().flat_map(|s| s.windows.values()).map(|w| w.groups.len()).sum()
    }
}

#[cfg(test)]
mod source_tests {
    //! Per-partition event time, commit floors and restarts.
    use super::super::tests::{access_spec, engine, parse, rec, T0};
    use super::*;

    fn feed(e: &mut StatsEngine, source: SourceId, offset: i64, at_ms: i64) {
        let mut obs = Observation::default();
        e.extractor().extract(&rec(at_ms, "/a", "u", 1), &mut obs);
        e.observe_from(&obs, source, Some(offset));
    }

    fn summaries(out: &[StatsRow]) -> Vec<(String, u64)> {
        parse(out)
            .iter()
            .filter(|r| r.get("summary").is_some())
            .map(|r| (r["window_start"].as_str().unwrap().to_owned(), 0))
            .collect()
    }

    #[test]
    fn a_partition_behind_another_is_not_late() {
        let mut e = engine(&access_spec("allowed_lateness = \"0s\""));
        let now = T0 + 3_600_000;
        e.assign_source(1, now);
        e.assign_source(2, now);
        // Partition 1 races ten minutes ahead before partition 2 is read.
        for i in 0..10 {
            feed(&mut e, 1, i, i * 60_000);
        }
        let mut out = Vec::new();
        e.poll(now, &mut out);
        assert!(out.is_empty(), "partition 2 has delivered nothing yet: hold");
        for i in 0..10 {
            feed(&mut e, 2, i, i * 60_000 + 30_000);
        }
        assert_eq!(e.counters().late_records, 0);
        e.poll(now + 1, &mut out);
        // Watermark = min(09:00 of p1, 09:30 of p2) = 9 min: windows 0..8 close.
        assert_eq!(summaries(&out).len(), 9);
        // Late only relative to its own partition: p2 going back 2 windows.
        feed(&mut e, 2, 10, 7 * 60_000);
        assert_eq!(e.counters().late_records, 1);
    }

    #[test]
    fn idle_and_revoked_partitions_stop_holding_the_watermark() {
        let mut e = engine(&access_spec("idle_timeout = \"10s\""));
        let now = T0 + 3_600_000;
        for s in [1, 2, 3] {
            e.assign_source(s, now);
        }
        feed(&mut e, 1, 0, 0);
        feed(&mut e, 2, 0, 120_000);
        let mut out = Vec::new();
        e.poll(now, &mut out);
        assert!(out.is_empty(), "partition 3 holds the watermark");
        e.revoke_source(3);
        e.poll(now + 1, &mut out);
        assert!(out.is_empty(), "partition 1 is at 08:17:00");
        feed(&mut e, 2, 1, 121_000);
        e.poll(now + 5_000, &mut out);
        assert!(out.is_empty());
        // Partition 1 idle for 10 s (its last activity was seen at `now`).
        feed(&mut e, 2, 2, 122_000);
        e.poll(now + 10_000, &mut out);
        assert_eq!(summaries(&out).len(), 1, "window 08:17 closes on partition 2 alone");
    }

    #[test]
    fn floors_follow_the_oldest_open_window_and_metadata_restores() {
        let spec = access_spec("");
        let mut e = engine(&spec);
        let now = T0 + 3_600_000;
        e.assign_source(1, now);
        feed(&mut e, 1, 100, 0);
        feed(&mut e, 1, 101, 10_000);
        feed(&mut e, 1, 102, 60_000);
        assert_eq!(e.commit_floor(1), Some(100));
        assert_eq!(e.commit_floor(2), None);
        let mut out = Vec::new();
        e.poll(now, &mut out);
        assert_eq!(summaries(&out).len(), 1);
        assert_eq!(e.commit_floor(1), Some(102), "window 08:17 emitted");
        assert_eq!(e.closed_until(), vec![("rpm", T0 + 60_000)]);
        let row = &out[0];
        assert!(row.key.starts_with(b"rpm|2024-05-14T08:17:00Z|["), "{:?}", row.key);
        assert_eq!(&row.sources[..], &[SourceSpan { source: 1, first: 100, last: 101 }]);
        // A re-assigned partition is read again from its floor: the offsets
        // this engine already holds are skipped.
        feed(&mut e, 1, 102, 60_000);
        assert_eq!(e.counters().replayed_records, 1);

        // A restarted engine reads from offset 102 with the metadata: only
        // window 08:18 is rebuilt; a replayed record of 08:17 is skipped.
        let mut fresh = engine(&spec);
        fresh.restore_closed("rpm", T0 + 60_000);
        fresh.assign_source(1, now);
        feed(&mut fresh, 1, 101, 10_000);
        feed(&mut fresh, 1, 102, 60_000);
        assert_eq!(fresh.counters().replayed_records, 1);
        assert_eq!(fresh.counters().late_records, 0);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        e.finish(&mut a);
        fresh.finish(&mut b);
        assert_eq!(a, b, "the restarted engine emits the same rows");
        assert_eq!(e.commit_floor(1), Some(102), "flushed early: still uncommitted");
        assert_eq!(e.closed_until(), vec![("rpm", T0 + 60_000)], "partial windows are not final");
    }
}
