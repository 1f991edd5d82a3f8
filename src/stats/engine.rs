//! [`StatsEngine`]: feeds anonymized records into the windows of every
//! statistic, tracks per-stat watermarks (with idle advance), closes windows
//! into final rows or mergeable partials, and merges partials from other
//! instances.
//!
//! The engine is split in two so that worker threads share no lock per
//! record: a [`StatsShard`] per worker holds what a record touches (its
//! share of the open windows, each source's progress and replay point, the
//! record counters), and the [`StatsCore`] holds the clock (watermarks,
//! closed windows, source assignment and idleness) and everything emitted.
//! The core works on all shards at once, under their locks, only when it
//! moves the clock: `poll`/`finish` first gather the shards' progress and
//! activity, then take each closable window's shares out of every shard,
//! merge them and threshold the merged window. [`StatsEngine`] is one core
//! with one shard, for single-threaded callers (`process --stats`, the merge
//! side of the multi-instance mode, tests).
//!
//! All statistics share one extraction per record: their paths live in one
//! trie, derived dimensions are computed once into extra slots, and each
//! stat then builds its group key into a reused buffer, so a record for an
//! existing group allocates nothing.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::clock::{min_active, slot, SourceId, SourceState, IMPLICIT_SOURCE};
use super::compile::{CompiledStat, Source};
use super::derive::{derive, PathTemplates};
use super::extract::{LocatedObjects, PathTrie, Record, Val};
use super::noise::Noise;
use super::partial::{
    canonical_key, decode_group, decode_overflow_keys, window_partials, PartialKind, PartialWire,
    PARTIAL_SCHEMA,
};
use super::render::Emit;
use super::shard::{ClockView, Slots, StatDef, StatsShard};
use super::spec::{DeriveKind, TimeFormat};
use super::time::{epoch_to_ms, parse_rfc3339_ms, MAX_EVENT_MS, MIN_EVENT_MS};
use super::window::WindowAgg;
use super::{PartialRow, SourceSpan, StatsCounters, StatsError, StatsRow};

/// The clock of one statistic (the core's half of its state).
#[derive(Debug)]
struct StatClock {
    def: Arc<StatDef>,
    /// Largest accepted event time (or sender watermark, or idle-advanced).
    watermark: Option<i64>,
    /// Every window ending at or before this has been emitted.
    closed_until: i64,
    /// Late records gathered from the shards, not yet reported in a summary.
    pending_late: u64,
    /// Accepted records and merged partials over all shards at the last
    /// gather, and the value at the last poll.
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
    /// Per source: largest accepted event time over all shards.
    progress: Vec<Option<i64>>,
    /// Windows ending at or before this were emitted and delivered before a
    /// restart (from the committed offsets' metadata): their records, read
    /// again from the committed offsets, are skipped.
    restored_until: i64,
    /// Every window ending at or before this was emitted as final rows.
    final_until: i64,
}

impl StatClock {
    fn view(&self) -> ClockView {
        ClockView {
            watermark: self.watermark,
            closed_until: self.closed_until,
            restored_until: self.restored_until,
            last_now: self.last_now,
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
        let spec = &self.def.spec;
        let (window_ms, idle_ms) = (spec.window_ms, spec.idle_ms);
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
                if idle >= window_ms {
                    self.raise_watermark(wm0.saturating_add(idle));
                }
            }
            return;
        };
        match min_active(sources, &self.progress, now, idle_ms) {
            Ok(Some(wm)) => self.raise_watermark(wm),
            Ok(None) => {}
            Err(()) => {
                let furthest = self.progress.iter().flatten().copied().max();
                if let (Some((since, _)), Some(furthest)) = (self.active_since, furthest) {
                    let idle = now.saturating_sub(since);
                    if idle >= idle_ms {
                        self.raise_watermark(furthest.saturating_add(idle));
                    }
                }
            }
        }
    }

    /// Removes the windows to emit (closable ones, or all of them) from
    /// every shard (stat `k` of each), merging each window's shares. Beyond
    /// `max_open_windows` open windows, the oldest are taken too (counted
    /// in `closed_early`).
    fn take_windows(
        &mut self,
        k: usize,
        shards: &mut [&mut StatsShard],
        all: bool,
        closed_early: &mut u64,
    ) -> BTreeMap<i64, WindowAgg> {
        let spec = &self.def.spec;
        let (w, lateness) = (spec.window_ms, spec.lateness_ms);
        let closable_at = |start: i64, wm: Option<i64>| {
            wm.is_some_and(|wm| start.saturating_add(w).saturating_add(lateness) <= wm)
        };
        // The first window start that may stay open under the cap.
        let mut keep_from = i64::MIN;
        if !all
            && shards.iter().map(|s| s.stats[k].windows.len()).sum::<usize>()
                > spec.max_open_windows
        {
            let open: std::collections::BTreeSet<i64> = shards
                .iter()
                .flat_map(|s| s.stats[k].windows.keys().copied())
                .filter(|&start| !closable_at(start, self.watermark))
                .collect();
            if let Some(&first_kept) =
                open.iter().nth(open.len().saturating_sub(spec.max_open_windows))
            {
                keep_from = first_kept;
                *closed_early += open.range(..first_kept).count() as u64;
            }
        }
        let closable =
            |start: i64, wm: Option<i64>| all || start < keep_from || closable_at(start, wm);
        let mut out: BTreeMap<i64, WindowAgg> = BTreeMap::new();
        for shard in shards.iter_mut() {
            let windows = &mut shard.stats[k].windows;
            while let Some(entry) = windows.first_entry() {
                if !closable(*entry.key(), self.watermark) {
                    break;
                }
                let (start, win) = entry.remove_entry();
                match out.entry(start) {
                    Entry::Vacant(v) => {
                        v.insert(win);
                    }
                    Entry::Occupied(mut o) => o.get_mut().absorb(win, spec),
                }
            }
        }
        for &start in out.keys() {
            let end = start.saturating_add(w);
            self.closed_until = self.closed_until.max(end);
            // Windows flushed early at shutdown do not count as emitted in
            // the commit metadata: after a restart they are read again and
            // emitted complete.
            if !all {
                self.final_until = self.final_until.max(end);
            }
        }
        out
    }
}

pub(super) fn event_time(rec: &Record, v: Val, format: TimeFormat) -> Option<i64> {
    match v {
        Val::Str(..) if matches!(format, TimeFormat::Auto | TimeFormat::Rfc3339) => {
            parse_rfc3339_ms(rec.text(v).as_bytes())
        }
        Val::Int(_) | Val::UInt(_) | Val::Float(_) => epoch_to_ms(Record::number(v)?, format),
        _ => None,
    }
}

/// The half of [`StatsEngine::observe`] that reads the record and touches no
/// aggregation state: field extraction and derived dimensions. Workers run
/// it before handing the [`Observation`] to their [`StatsShard`].
#[derive(Debug, Clone)]
pub struct StatsExtractor {
    trie: PathTrie,
    derived: Vec<(DeriveKind, usize)>,
}

/// One record's extracted values (reused from record to record).
#[derive(Debug, Default)]
pub struct Observation {
    pub(super) rec: Record,
    derived_buf: String,
    templates: PathTemplates,
    objects: LocatedObjects,
    pub(super) valid: bool,
}

impl StatsExtractor {
    /// The extraction of `stats` (one trie for all their paths, derived
    /// dimensions after the paths) and where each stat's inputs land.
    /// Deterministic: the same stats give the same trie (the record walk's
    /// capture marks, see `super::capture`, rely on it).
    pub(super) fn build(stats: &[CompiledStat]) -> (Self, Vec<Slots>) {
        let mut trie = PathTrie::new();
        for s in stats {
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
        let slots = stats
            .iter()
            .map(|spec| Slots {
                time: slot_of(&Source::Path(spec.time_path.clone())),
                dims: spec.dims.iter().map(|d| slot_of(&d.1)).collect(),
                measures: spec
                    .measures
                    .iter()
                    .map(|m| m.source.as_ref().map(&mut slot_of))
                    .collect(),
            })
            .collect();
        (Self { trie, derived }, slots)
    }

    /// The trie of the captured paths.
    pub(super) fn trie(&self) -> &PathTrie {
        &self.trie
    }

    /// Extracts what the statistics need from the values the record walk
    /// located in its output (`Scratch::stats_located`), instead of
    /// scanning the whole output again: the same values as
    /// [`StatsExtractor::extract`] on that output, for a pipeline whose
    /// `stats_capture` is set.
    pub fn extract_located(
        &self,
        anon_record: &[u8],
        located: &[(u32, u32, u32)],
        obs: &mut Observation,
    ) {
        obs.valid =
            self.trie.extract_located(anon_record, located, &mut obs.objects, &mut obs.rec).is_ok();
        if obs.valid {
            self.derive_all(obs);
        }
    }

    /// Extracts what the statistics need from one anonymized record.
    pub fn extract(&self, anon_record: &[u8], obs: &mut Observation) {
        obs.valid = self.trie.extract(anon_record, &mut obs.rec).is_ok();
        if obs.valid {
            self.derive_all(obs);
        }
    }

    /// Appends the derived dimensions to an extracted record.
    fn derive_all(&self, obs: &mut Observation) {
        for &(kind, from) in &self.derived {
            let v = obs.rec.vals.get(from).copied().unwrap_or(Val::Missing);
            let val = if derive(kind, &obs.rec, v, &mut obs.templates, &mut obs.derived_buf) {
                obs.rec.push_str(&obs.derived_buf)
            } else {
                Val::Missing
            };
            obs.rec.vals.push(val);
        }
    }
}

/// The clock and output side of a pipeline's statistics, working on the
/// [`StatsShard`]s that hold the records' state (see the module doc).
#[derive(Debug)]
pub struct StatsCore {
    extractor: StatsExtractor,
    defs: Vec<Arc<StatDef>>,
    stats: Vec<StatClock>,
    key_buf: Vec<u8>,
    /// Counters of what the core did (rows, suppression, partials); the
    /// shards count records.
    counters: StatsCounters,
    noise: Noise,
    /// Merge side: wall-clock hold on sender watermarks (0 = none).
    merge_delay_ms: i64,
    /// Merges partials (watermarks come from the senders, not from sources).
    merging: bool,
    /// Input partitions by [`SourceId`], with activity and replay points
    /// gathered from the shards.
    sources: Vec<SourceState>,
    /// Offsets that fed windows flushed early by `finish` (`partial: true`):
    /// they stay uncommitted so a restart reads those windows again whole.
    finished_floors: Vec<(SourceId, i64)>,
}

impl StatsCore {
    /// Builds the core; stats are emitted in this order. Shards come from
    /// [`StatsCore::new_shard`].
    pub fn new(stats: Vec<CompiledStat>) -> Self {
        let (extractor, slots) = StatsExtractor::build(&stats);
        let defs: Vec<Arc<StatDef>> = stats
            .into_iter()
            .zip(slots)
            .map(|(spec, slots)| Arc::new(StatDef { spec, slots }))
            .collect();
        let stats = defs
            .iter()
            .map(|def| StatClock {
                def: Arc::clone(def),
                watermark: None,
                closed_until: i64::MIN,
                pending_late: 0,
                held_watermarks: Vec::new(),
                activity: 0,
                activity_at_poll: 0,
                active_since: None,
                last_now: None,
                progress: Vec::new(),
                restored_until: i64::MIN,
                final_until: i64::MIN,
            })
            .collect();
        Self {
            extractor,
            defs,
            stats,
            key_buf: Vec::new(),
            counters: StatsCounters::default(),
            noise: Noise::from_entropy(),
            merge_delay_ms: 0,
            merging: false,
            sources: Vec::new(),
            finished_floors: Vec::new(),
        }
    }

    /// A new, empty shard for one more worker, seeded with the clock and
    /// every source's replay point and progress known so far.
    pub fn new_shard(&self) -> StatsShard {
        let mut shard = StatsShard::new(&self.defs);
        for (st, clock) in shard.stats.iter_mut().zip(&self.stats) {
            st.view = clock.view();
            st.progress.clone_from(&clock.progress);
        }
        for (i, s) in self.sources.iter().enumerate() {
            slot(&mut shard.sources, i as SourceId).next_offset = s.next_offset;
        }
        shard
    }

    /// A copy of the extraction half, for workers.
    pub fn extractor(&self) -> StatsExtractor {
        self.extractor.clone()
    }

    /// Collects the shards' per-source activity, replay points and progress
    /// into the core (before the clock moves).
    fn gather(&mut self, shards: &[&mut StatsShard]) {
        let n = shards.iter().map(|s| s.sources.len()).max().unwrap_or(0);
        for i in 0..n {
            let (mut activity, mut next) = (0_u64, None::<i64>);
            for s in shards {
                if let Some(src) = s.sources.get(i) {
                    activity += src.activity;
                    next = next.max(src.next_offset);
                }
            }
            let state = slot(&mut self.sources, i as SourceId);
            state.absorb_activity(activity);
            state.next_offset = state.next_offset.max(next);
        }
        for (k, st) in self.stats.iter_mut().enumerate() {
            st.activity = shards.iter().map(|s| s.stats[k].activity).sum();
            for s in shards {
                let shard_stat = &s.stats[k];
                for (i, p) in shard_stat.progress.iter().enumerate() {
                    let mine = slot(&mut st.progress, i as SourceId);
                    *mine = (*mine).max(*p);
                }
            }
        }
    }

    /// Hands the moved clock to every shard.
    fn scatter(&self, shards: &mut [&mut StatsShard]) {
        for shard in shards.iter_mut() {
            for (st, clock) in shard.stats.iter_mut().zip(&self.stats) {
                st.view = clock.view();
            }
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
    /// assigned again keeps its progress and skips offsets it already saw,
    /// whichever shard reads it now.
    pub fn assign_source(&mut self, shards: &mut [&mut StatsShard], source: SourceId, now_ms: i64) {
        self.gather(shards);
        let s = slot(&mut self.sources, source);
        s.assigned = true;
        s.last_active = Some(now_ms);
        let next = s.next_offset;
        for shard in shards.iter_mut() {
            let src = slot(&mut shard.sources, source);
            src.next_offset = src.next_offset.max(next);
            for (st, clock) in shard.stats.iter_mut().zip(&self.stats) {
                let known = clock.progress.get(source as usize).copied().flatten();
                let mine = slot(&mut st.progress, source);
                *mine = (*mine).max(known);
            }
        }
    }

    /// A partition was revoked: it leaves the watermark's minimum. Its
    /// contributions to open windows stay.
    pub fn revoke_source(&mut self, shards: &mut [&mut StatsShard], source: SourceId) {
        // Activity seen before the revocation must not re-assign it later.
        self.gather(shards);
        slot(&mut self.sources, source).assigned = false;
    }

    /// The lowest offset of `source` whose record still feeds a window not
    /// yet emitted (or only emitted early, `partial: true`): the partition's
    /// commit point must not pass it, so a restart reads those windows again.
    pub fn commit_floor(&self, shards: &[&StatsShard], source: SourceId) -> Option<i64> {
        self.commit_floors(shards).get(source as usize).copied().flatten()
    }

    /// [`StatsCore::commit_floor`] of every source at once, indexed by
    /// [`SourceId`] (one pass over the open windows).
    pub fn commit_floors(&self, shards: &[&StatsShard]) -> Vec<Option<i64>> {
        let mut floors: Vec<Option<i64>> = Vec::new();
        let mut lower = |source: SourceId, offset: i64| {
            let f = slot(&mut floors, source);
            *f = Some(f.map_or(offset, |g| g.min(offset)));
        };
        for shard in shards {
            for st in &shard.stats {
                for w in st.windows.values() {
                    w.sources.iter().for_each(|s| lower(s.source, s.first));
                }
            }
        }
        self.finished_floors.iter().for_each(|&(s, o)| lower(s, o));
        floors
    }

    /// The largest event time each source has delivered, over every
    /// statistic and shard, indexed by [`SourceId`]: how far each input
    /// partition has progressed (the service pauses partitions that run far
    /// ahead of the slowest, so fewer windows stay open).
    pub fn source_progress(&self, shards: &[&StatsShard]) -> Vec<Option<i64>> {
        let mut out: Vec<Option<i64>> = Vec::new();
        let clocks = self.stats.iter().map(|st| &st.progress);
        let shard_stats = shards.iter().flat_map(|s| s.stats.iter().map(|st| &st.progress));
        for progress in clocks.chain(shard_stats) {
            for (i, t) in progress.iter().enumerate() {
                if let Some(t) = *t {
                    let p = slot(&mut out, i as SourceId);
                    *p = Some(p.map_or(t, |q| q.max(t)));
                }
            }
        }
        out
    }

    /// Drops every open window `source` fed (a merging engine whose
    /// partials partition moved to another owner, who rebuilds them).
    pub fn drop_windows_of(&mut self, shards: &mut [&mut StatsShard], source: SourceId) {
        for shard in shards.iter_mut() {
            for st in &mut shard.stats {
                st.windows.retain(|_, w| w.first_offset(source).is_none());
            }
        }
    }

    /// Per statistic, the end of the last window emitted as final (every
    /// earlier window was emitted too). Stored with the committed offsets;
    /// see [`StatsCore::restore_closed`].
    pub fn closed_until(&self) -> Vec<(&str, i64)> {
        self.stats
            .iter()
            .filter(|st| st.final_until > i64::MIN)
            .map(|st| (st.def.spec.name.as_str(), st.final_until))
            .collect()
    }

    /// After a restart: windows of `stat` ending at or before `until_ms`
    /// were emitted and delivered by an earlier run, so their records, read
    /// again from the committed offsets, are skipped (counted as
    /// `replayed_records`), and those windows are never emitted again.
    pub fn restore_closed(&mut self, shards: &mut [&mut StatsShard], stat: &str, until_ms: i64) {
        if let Some(st) = self.stats.iter_mut().find(|s| s.def.spec.name == stat) {
            st.restored_until = st.restored_until.max(until_ms);
            st.closed_until = st.closed_until.max(until_ms);
            st.final_until = st.final_until.max(until_ms);
        }
        self.scatter(shards);
    }

    /// Makes count noise (`epsilon`) reproducible; for tests and replays only.
    pub fn set_noise_seed(&mut self, seed: u64) {
        self.noise = Noise::seeded(seed);
    }

    /// Emits every window with `end + allowed_lateness <= watermark` as final
    /// rows, merged over all shards and only then thresholded; `now_ms`
    /// (wall clock, epoch ms) drives the idle advance.
    pub fn poll(&mut self, shards: &mut [&mut StatsShard], now_ms: i64, out: &mut Vec<StatsRow>) {
        self.emit_final(shards, Some(now_ms), out);
    }

    /// Emits all open windows as final rows marked `"partial": true` (graceful shutdown).
    pub fn finish(&mut self, shards: &mut [&mut StatsShard], out: &mut Vec<StatsRow>) {
        self.emit_final(shards, None, out);
    }

    /// Gathers the shards, moves every stat's clock to `now` and takes the
    /// windows to emit (all of them when `now` is `None`) with each stat's
    /// late records to report.
    fn close(
        &mut self,
        shards: &mut [&mut StatsShard],
        now: Option<i64>,
    ) -> Vec<(BTreeMap<i64, WindowAgg>, u64)> {
        self.gather(shards);
        if let Some(now) = now {
            self.sources.iter_mut().for_each(|s| s.tick(now));
        }
        let sources = (!self.merging).then_some(&self.sources[..]);
        let mut closed = Vec::with_capacity(self.stats.len());
        for (k, st) in self.stats.iter_mut().enumerate() {
            if let Some(now) = now {
                st.tick(now, self.merge_delay_ms, sources);
            }
            let windows =
                st.take_windows(k, shards, now.is_none(), &mut self.counters.windows_closed_early);
            let mut late = 0;
            if !windows.is_empty() {
                for shard in shards.iter_mut() {
                    st.pending_late += std::mem::take(&mut shard.stats[k].pending_late);
                }
                late = std::mem::take(&mut st.pending_late);
            }
            closed.push((windows, late));
        }
        self.scatter(shards);
        closed
    }

    fn emit_final(
        &mut self,
        shards: &mut [&mut StatsShard],
        now: Option<i64>,
        out: &mut Vec<StatsRow>,
    ) {
        let closed = self.close(shards, now);
        for (st, (windows, mut late)) in self.stats.iter().zip(closed) {
            for (start, mut win) in windows {
                let spans: Arc<[SourceSpan]> = std::mem::take(&mut win.sources).into();
                if now.is_none() {
                    self.finished_floors.extend(spans.iter().map(|s| (s.source, s.first)));
                }
                let emit = Emit { stat: &st.def.spec, start, partial: now.is_none(), spans };
                let late = std::mem::take(&mut late);
                emit.final_rows(win, late, &mut self.noise, &mut self.counters, out);
            }
        }
    }

    /// Like [`StatsCore::poll`], but emits mergeable partials (no thresholds) for closed windows.
    pub fn poll_partials(
        &mut self,
        shards: &mut [&mut StatsShard],
        now_ms: i64,
        out: &mut Vec<PartialRow>,
    ) {
        self.emit_partials(shards, Some(now_ms), out);
    }

    /// Emits partials for all open windows (graceful shutdown of a non-owner).
    pub fn finish_partials(&mut self, shards: &mut [&mut StatsShard], out: &mut Vec<PartialRow>) {
        self.emit_partials(shards, None, out);
    }

    fn emit_partials(
        &mut self,
        shards: &mut [&mut StatsShard],
        now: Option<i64>,
        out: &mut Vec<PartialRow>,
    ) {
        let closed = self.close(shards, now);
        for (st, (windows, mut late)) in self.stats.iter().zip(closed) {
            for (start, win) in windows {
                let late = std::mem::take(&mut late);
                self.counters.partials_emitted +=
                    window_partials(&st.def.spec, start, win, st.watermark, late, out);
            }
        }
    }

    /// Cumulative counters: the core's plus every shard's.
    pub fn counters(&self, shards: &[&StatsShard]) -> StatsCounters {
        shards.iter().fold(self.counters, |acc, s| acc.plus(&s.counters))
    }

    /// Distinct output topics, in stat order.
    pub fn topics(&self) -> Vec<String> {
        let mut topics: Vec<String> = Vec::new();
        for st in &self.stats {
            if !topics.contains(&st.def.spec.topic) {
                topics.push(st.def.spec.topic.clone());
            }
        }
        topics
    }
}

/// Open window states over all shards (a window fed by several shards
/// counts once per shard): a gauge for bounded state.
pub fn open_windows(shards: &[&StatsShard]) -> usize {
    shards.iter().map(|s| s.open_windows()).sum()
}

/// Groups held in open windows over all shards (a group fed by several
/// shards counts once per shard).
pub fn open_groups(shards: &[&StatsShard]) -> usize {
    shards.iter().map(|s| s.open_groups()).sum()
}

/// Computes all statistics of a pipeline on one thread: a [`StatsCore`]
/// with a single [`StatsShard`]. See the module doc for semantics.
#[derive(Debug)]
pub struct StatsEngine {
    core: StatsCore,
    shard: StatsShard,
    obs: Observation,
}

impl StatsEngine {
    /// Builds the engine; stats are emitted in this order.
    pub fn new(stats: Vec<CompiledStat>) -> Self {
        let core = StatsCore::new(stats);
        let shard = core.new_shard();
        Self { core, shard, obs: Observation::default() }
    }

    /// See [`StatsCore::set_merge_delay`].
    pub fn set_merge_delay(&mut self, ms: i64) {
        self.core.set_merge_delay(ms);
    }

    /// See [`StatsCore::assign_source`].
    pub fn assign_source(&mut self, source: SourceId, now_ms: i64) {
        self.core.assign_source(&mut [&mut self.shard], source, now_ms);
    }

    /// See [`StatsCore::revoke_source`].
    pub fn revoke_source(&mut self, source: SourceId) {
        self.core.revoke_source(&mut [&mut self.shard], source);
    }

    /// See [`StatsCore::commit_floor`].
    pub fn commit_floor(&self, source: SourceId) -> Option<i64> {
        self.core.commit_floor(&[&self.shard], source)
    }

    /// See [`StatsCore::commit_floors`].
    pub fn commit_floors(&self) -> Vec<Option<i64>> {
        self.core.commit_floors(&[&self.shard])
    }

    /// See [`StatsCore::source_progress`].
    pub fn source_progress(&self) -> Vec<Option<i64>> {
        self.core.source_progress(&[&self.shard])
    }

    /// See [`StatsCore::drop_windows_of`].
    pub fn drop_windows_of(&mut self, source: SourceId) {
        self.core.drop_windows_of(&mut [&mut self.shard], source);
    }

    /// See [`StatsCore::closed_until`].
    pub fn closed_until(&self) -> Vec<(&str, i64)> {
        self.core.closed_until()
    }

    /// See [`StatsCore::restore_closed`].
    pub fn restore_closed(&mut self, stat: &str, until_ms: i64) {
        self.core.restore_closed(&mut [&mut self.shard], stat, until_ms);
    }

    /// Makes count noise (`epsilon`) reproducible; for tests and replays only.
    pub fn set_noise_seed(&mut self, seed: u64) {
        self.core.set_noise_seed(seed);
    }

    /// Feeds one anonymized record (compact JSON object bytes). Records that
    /// are not an object, or lack a valid event time for a stat, or are late,
    /// are only counted (see [`StatsEngine::counters`]).
    pub fn observe(&mut self, anon_record: &[u8]) {
        let mut obs = std::mem::take(&mut self.obs);
        self.core.extractor.extract(anon_record, &mut obs);
        self.observe_extracted(&obs);
        self.obs = obs;
    }

    /// A copy of this engine's extraction half.
    pub fn extractor(&self) -> StatsExtractor {
        self.core.extractor()
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
        self.shard.observe_from(obs, source, offset);
    }

    /// See [`StatsCore::poll`].
    pub fn poll(&mut self, now_ms: i64, out: &mut Vec<StatsRow>) {
        self.core.poll(&mut [&mut self.shard], now_ms, out);
    }

    /// See [`StatsCore::finish`].
    pub fn finish(&mut self, out: &mut Vec<StatsRow>) {
        self.core.finish(&mut [&mut self.shard], out);
    }

    /// See [`StatsCore::poll_partials`].
    pub fn poll_partials(&mut self, now_ms: i64, out: &mut Vec<PartialRow>) {
        self.core.poll_partials(&mut [&mut self.shard], now_ms, out);
    }

    /// See [`StatsCore::finish_partials`].
    pub fn finish_partials(&mut self, out: &mut Vec<PartialRow>) {
        self.core.finish_partials(&mut [&mut self.shard], out);
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
        let (core, shard) = (&mut self.core, &mut self.shard);
        if shard.is_replay(source, offset) {
            core.counters.replayed_records += 1;
            return Ok(());
        }
        let wire: PartialWire<'_> = serde_json::from_slice(partial)
            .map_err(|_| StatsError::Partial("not a partial record"))?;
        if wire.schema != PARTIAL_SCHEMA {
            return Err(StatsError::Partial("unknown schema"));
        }
        let k = core
            .stats
            .iter()
            .position(|s| s.def.spec.name == wire.stat)
            .ok_or(StatsError::Partial("unknown stat"))?;
        let (st, mine) = (&mut core.stats[k], &mut shard.stats[k]);
        let def = Arc::clone(&st.def);
        let spec = &def.spec;
        let (start, w) = (wire.window_start_ms, spec.window_ms);
        if start.rem_euclid(w) != 0 || !(MIN_EVENT_MS..=MAX_EVENT_MS).contains(&start) {
            return Err(StatsError::Partial("window does not match the stat definition"));
        }
        let watermark = wire.watermark_ms.filter(|wm| (MIN_EVENT_MS..=MAX_EVENT_MS).contains(wm));
        let (group, overflow_keys) = match wire.kind {
            PartialKind::Window => (None, None),
            PartialKind::Group => {
                let raw = wire.group.ok_or(StatsError::Partial("group partial without group"))?;
                canonical_key(raw, spec.dims.len(), &mut core.key_buf)?;
                (Some(decode_group(spec, wire.count, wire.measures)?), None)
            }
            PartialKind::Overflow => {
                let keys = decode_overflow_keys(wire.overflow_keys)?;
                (Some(decode_group(spec, wire.count, wire.measures)?), keys)
            }
        };
        core.counters.partials_merged += 1;
        mine.activity += 1;
        if let Some(wm) = watermark {
            if core.merge_delay_ms > 0 {
                st.held_watermarks.push((None, wm));
            } else {
                st.raise_watermark(wm);
                mine.view = st.view();
            }
        }
        if start.saturating_add(w) <= st.restored_until {
            core.counters.replayed_records += 1;
            return Ok(());
        }
        if start.saturating_add(w) <= st.closed_until {
            let records = group.as_ref().map_or(0, |g| g.count);
            core.counters.late_records += records;
            st.pending_late =
                st.pending_late.saturating_add(records).saturating_add(wire.late_records);
            return Ok(());
        }
        let win = mine.windows.entry(start).or_default();
        if let Some(offset) = offset {
            win.note_source(source, offset);
        }
        win.late_records = win.late_records.saturating_add(wire.late_records);
        match (wire.kind, group) {
            (PartialKind::Group, Some(g)) => {
                win.merge_group(&core.key_buf, g, spec)
                    .ok_or(StatsError::Partial("measures do not match the stat definition"))?;
            }
            (PartialKind::Overflow, Some(g)) => win.merge_overflow(g, overflow_keys),
            _ => {}
        }
        Ok(())
    }

    /// Cumulative counters.
    pub fn counters(&self) -> StatsCounters {
        self.core.counters(&[&self.shard])
    }

    /// Distinct output topics, in stat order.
    pub fn topics(&self) -> Vec<String> {
        self.core.topics()
    }

    /// Number of open windows over all stats (a gauge for bounded state).
    pub fn open_windows(&self) -> usize {
        self.shard.open_windows()
    }

    /// Number of groups held in open windows over all stats.
    pub fn open_groups(&self) -> usize {
        self.shard.open_groups()
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
    fn source_progress_is_the_largest_event_time_per_partition() {
        let mut e = engine(&access_spec(""));
        let now = T0 + 3_600_000;
        e.assign_source(1, now);
        e.assign_source(3, now);
        assert!(e.source_progress().iter().all(Option::is_none), "nothing delivered yet");
        feed(&mut e, 1, 0, 50_000);
        feed(&mut e, 1, 1, 20_000);
        feed(&mut e, 3, 0, 90_000);
        let p = e.source_progress();
        assert_eq!(
            p.get(1).copied().flatten(),
            Some(T0 + 50_000),
            "an older record does not lower it"
        );
        assert_eq!(p.get(2).copied().flatten(), None);
        assert_eq!(p.get(3).copied().flatten(), Some(T0 + 90_000));
        // Still known after the clock gathered the shard's progress.
        let mut out = Vec::new();
        e.poll(now, &mut out);
        assert_eq!(e.source_progress().get(3).copied().flatten(), Some(T0 + 90_000));
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
