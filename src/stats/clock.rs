//! Event time per input partition ("source"): which sources an engine
//! reads, how far each has progressed, which are idle, and the watermark
//! they allow together.
//!
//! A statistic's watermark is the minimum, over the sources that are
//! assigned and not idle, of the largest event time each has delivered
//! (Flink's per-split watermarks, Kafka Streams' stream time per task). A
//! source that delivered nothing for `idle_timeout` of wall time (as seen by
//! successive ticks) stops holding the watermark back; a revoked source
//! leaves the minimum. An assigned source that has not delivered a record
//! yet holds the watermark until it delivers one or becomes idle, so a
//! backlog read from many partitions is not "late" because one partition's
//! first fetch came later than another's.
//!
//! Sources are small integers handed out by the caller (the anonymizer
//! interns `(topic, partition)`); an engine fed without sources uses
//! [`IMPLICIT_SOURCE`].

/// Identifies one input partition inside an engine.
pub type SourceId = u32;

/// The source of records fed without one (`observe`, `process --stats`).
pub const IMPLICIT_SOURCE: SourceId = 0;

/// What the engine knows about one source, shared by all its statistics.
#[derive(Debug, Clone, Default)]
pub(crate) struct SourceState {
    /// Currently assigned to this instance (or seen without an assignment).
    pub(crate) assigned: bool,
    /// One past the last offset observed; earlier offsets are replays of
    /// records already counted (a partition re-assigned to this instance).
    pub(crate) next_offset: Option<i64>,
    /// Records observed so far, and the value at the last tick.
    activity: u64,
    activity_at_tick: u64,
    /// Wall time of the last tick that saw activity (or of the assignment).
    pub(crate) last_active: Option<i64>,
}

impl SourceState {
    /// Takes the source's record count summed over all shards; a source
    /// that delivered records since the last count is assigned (records of
    /// a source nobody assigned are read as if it were).
    pub(crate) fn absorb_activity(&mut self, total: u64) {
        if total != self.activity {
            self.activity = total;
            self.assigned = true;
        }
    }

    /// Records a tick at wall time `now`.
    pub(crate) fn tick(&mut self, now: i64) {
        if self.activity != self.activity_at_tick || self.last_active.is_none() {
            self.activity_at_tick = self.activity;
            self.last_active = Some(now);
        }
    }

    /// Assigned and delivered something (or was assigned) within `idle_ms` of `now`.
    pub(crate) fn is_active(&self, now: i64, idle_ms: i64) -> bool {
        self.assigned && self.last_active.is_some_and(|t| now.saturating_sub(t) < idle_ms)
    }
}

/// Grows `v` so that index `i` exists.
pub(crate) fn slot<T: Default>(v: &mut Vec<T>, i: SourceId) -> &mut T {
    let i = i as usize;
    if v.len() <= i {
        v.resize_with(i + 1, T::default);
    }
    &mut v[i]
}

/// The watermark a statistic's sources allow at `now`: `Some` minimum of
/// the active sources' progress, `None` when an active source has no
/// progress yet (hold), or `Err(())` when no source is active (all idle or
/// none assigned: the caller falls back to the idle advance).
pub(crate) fn min_active(
    sources: &[SourceState],
    progress: &[Option<i64>],
    now: i64,
    idle_ms: i64,
) -> Result<Option<i64>, ()> {
    let mut any = false;
    let mut min: Option<i64> = None;
    for (i, s) in sources.iter().enumerate() {
        if !s.is_active(now, idle_ms) {
            continue;
        }
        any = true;
        match progress.get(i).copied().flatten() {
            None => return Ok(None),
            Some(t) => min = Some(min.map_or(t, |m| m.min(t))),
        }
    }
    if any {
        Ok(min)
    } else {
        Err(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(assigned: bool, last_active: i64) -> SourceState {
        SourceState { assigned, last_active: Some(last_active), ..SourceState::default() }
    }

    #[test]
    fn minimum_over_active_sources_only() {
        let sources = [src(true, 100), src(true, 100), src(false, 100), src(true, 0)];
        let progress = [Some(50), Some(30), Some(1), Some(2)];
        // Source 2 is revoked, source 3 idle (100 - 0 >= 60): minimum of 50 and 30.
        assert_eq!(min_active(&sources, &progress, 100, 60), Ok(Some(30)));
        // An active source without progress holds the watermark.
        assert_eq!(min_active(&sources, &[Some(50), None], 100, 60), Ok(None));
        // Nothing active: the caller's fallback.
        assert_eq!(min_active(&sources, &progress, 1_000, 60), Err(()));
        assert_eq!(min_active(&[], &[], 0, 60), Err(()));
    }

    #[test]
    fn activity_is_seen_at_the_next_tick() {
        let mut s = SourceState::default();
        s.absorb_activity(1);
        s.tick(10);
        assert!(s.is_active(69, 60));
        assert!(!s.is_active(70, 60));
        s.tick(80);
        assert!(!s.is_active(80, 60), "no record since the tick at 10");
        s.absorb_activity(2);
        s.tick(90);
        assert!(s.is_active(90, 60));
    }
}
