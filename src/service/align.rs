//! Watermark alignment: which input partitions to pause because their event
//! time runs too far ahead of the slowest partition still delivering.
//!
//! A statistics window closes only when every active partition's event time
//! has passed it (`stats::clock`). A backlog read from many partitions
//! arrives partition by partition in large fetches, so without flow control
//! one partition can be an hour of event time ahead of another and every
//! window in between stays open: state grows with the backlog. As Flink's
//! watermark alignment and Kafka Streams' stream-time partition choice do,
//! the consumer thread pauses a partition whose event time is more than
//! `max_lead` ahead of the slowest active one and resumes it once the slowest
//! has come within half that lead (hysteresis, so a partition is not flipped
//! on every round). Pausing drops the partition's pre-fetched records in
//! librdkafka; resuming fetches again from the next record not yet handed
//! out, so nothing is skipped.
//!
//! Only partitions that delivered newer event time within `idle` take part
//! in the minimum: one that ran dry (or whose records carry no event time)
//! never holds the others back, and with no active partition left every
//! paused one is resumed. A partition that has not delivered any event time
//! yet holds nothing back either. The decision is a pure function of what
//! [`Aligner::update`] is told, so it is tested without a broker.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::offsets::PartitionTracker;

/// What the aligner knows of one partition.
struct Part {
    /// The tracker of the assignment this state belongs to (a re-assigned
    /// partition has a new tracker and starts afresh).
    tracker: Arc<PartitionTracker>,
    event_time: i64,
    /// When `event_time` last grew.
    advanced: Instant,
}

/// Partitions to pause and to resume after one round.
#[derive(Default)]
pub(crate) struct Changes {
    pub pause: Vec<Arc<PartitionTracker>>,
    pub resume: Vec<Arc<PartitionTracker>>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.pause.is_empty() && self.resume.is_empty()
    }
}

/// Pause/resume decisions from per-partition event times (see the module note).
pub(crate) struct Aligner {
    max_lead_ms: i64,
    idle: Duration,
    parts: HashMap<(String, i32), Part>,
}

impl Aligner {
    /// `max_lead_ms > 0`: how far a partition may run ahead of the slowest
    /// active one; `idle`: how long without progress makes a partition
    /// inactive.
    pub fn new(max_lead_ms: i64, idle: Duration) -> Self {
        Aligner { max_lead_ms, idle, parts: HashMap::new() }
    }

    /// Partitions paused now.
    pub fn paused(&self) -> usize {
        self.parts.values().filter(|p| p.tracker.is_paused()).count()
    }

    /// One round: `seen` holds every assigned partition with the event time
    /// the processor reported for it (`None`: none yet). Partitions not in
    /// `seen` are forgotten (revoked; librdkafka drops their pause with the
    /// assignment).
    pub fn update(
        &mut self,
        now: Instant,
        seen: &[(Arc<PartitionTracker>, Option<i64>)],
    ) -> Changes {
        let mut current: HashMap<(String, i32), Part> = HashMap::with_capacity(seen.len());
        for (tracker, event_time) in seen {
            let key = (tracker.topic.clone(), tracker.partition);
            let part = match self.parts.remove(&key) {
                Some(p) if Arc::ptr_eq(&p.tracker, tracker) => Some(p),
                _ => None,
            };
            let part = match (part, *event_time) {
                (Some(mut p), Some(t)) => {
                    if t > p.event_time {
                        p.event_time = t;
                        p.advanced = now;
                    }
                    p
                }
                (Some(p), None) => p,
                (None, Some(t)) => Part { tracker: tracker.clone(), event_time: t, advanced: now },
                (None, None) => continue,
            };
            current.insert(key, part);
        }
        self.parts = current;
        let slowest = self
            .parts
            .values()
            .filter(|p| {
                !p.tracker.is_paused() && now.saturating_duration_since(p.advanced) < self.idle
            })
            .map(|p| p.event_time)
            .min();
        let mut changes = Changes::default();
        for part in self.parts.values_mut() {
            let lead = slowest.map(|s| part.event_time.saturating_sub(s));
            // Paused or not is the tracker's flag, which the consumer sets
            // once librdkafka took the call: a refused call is asked again
            // next round.
            if part.tracker.is_paused() {
                // Resume once the slowest came within half the lead, or when
                // nobody else is delivering.
                if lead.is_none_or(|l| l <= self.max_lead_ms / 2) {
                    // Its pause is not inactivity: it takes part again at once.
                    part.advanced = now;
                    changes.resume.push(part.tracker.clone());
                }
            } else if lead.is_some_and(|l| l > self.max_lead_ms) {
                changes.pause.push(part.tracker.clone());
            }
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn trackers(n: i32) -> Vec<Arc<PartitionTracker>> {
        (0..n).map(|p| Arc::new(PartitionTracker::new("in", p, 0))).collect()
    }

    fn seen(
        t: &[Arc<PartitionTracker>],
        times: &[Option<i64>],
    ) -> Vec<(Arc<PartitionTracker>, Option<i64>)> {
        t.iter().cloned().zip(times.iter().copied()).collect()
    }

    /// One round, with every change taken by librdkafka (the consumer then
    /// sets the trackers' flags).
    fn applied(
        a: &mut Aligner,
        now: Instant,
        seen: &[(Arc<PartitionTracker>, Option<i64>)],
    ) -> Changes {
        let c = a.update(now, seen);
        c.pause.iter().for_each(|t| t.set_paused(true));
        c.resume.iter().for_each(|t| t.set_paused(false));
        c
    }

    #[test]
    fn a_refused_pause_is_asked_again_next_round() {
        let t = trackers(2);
        let mut a = Aligner::new(MIN, Duration::from_secs(2));
        let t0 = Instant::now();
        let times = [Some(0), Some(5 * MIN)];
        // librdkafka refused: the consumer leaves the flag unset.
        let c = a.update(t0, &seen(&t, &times));
        assert_eq!(ids(&c.pause), vec![1]);
        assert_eq!(a.paused(), 0);
        let c = applied(&mut a, t0, &seen(&t, &times));
        assert_eq!(ids(&c.pause), vec![1]);
        assert_eq!(a.paused(), 1);
    }

    fn ids(v: &[Arc<PartitionTracker>]) -> Vec<i32> {
        let mut ids: Vec<i32> = v.iter().map(|t| t.partition).collect();
        ids.sort_unstable();
        ids
    }

    #[test]
    fn pauses_the_partition_far_ahead_and_resumes_it_at_half_the_lead() {
        let t = trackers(3);
        let mut a = Aligner::new(10 * MIN, Duration::from_secs(2));
        let t0 = Instant::now();
        let c = applied(&mut a, t0, &seen(&t, &[Some(0), Some(5 * MIN), Some(11 * MIN)]));
        assert_eq!((ids(&c.pause), ids(&c.resume)), (vec![2], vec![]));
        assert_eq!(a.paused(), 1);
        // Exactly at the lead: not paused; the slowest moves, still > half.
        let c = applied(&mut a, t0, &seen(&t, &[Some(MIN), Some(11 * MIN), Some(11 * MIN)]));
        assert!(c.is_empty(), "partition 1 is exactly 10 min ahead; 2 is 10 min > 5 min");
        let c = applied(&mut a, t0, &seen(&t, &[Some(6 * MIN), Some(11 * MIN), Some(11 * MIN)]));
        assert_eq!((ids(&c.pause), ids(&c.resume)), (vec![], vec![2]));
        assert_eq!(a.paused(), 0);
    }

    #[test]
    fn a_partition_without_progress_holds_nothing_back() {
        let t = trackers(3);
        let mut a = Aligner::new(10 * MIN, Duration::from_secs(2));
        let t0 = Instant::now();
        // Partition 0 has no event time yet: no evidence to pause against.
        let c = applied(&mut a, t0, &seen(&t, &[None, Some(0), Some(5 * MIN)]));
        assert!(c.is_empty());
        // Partition 1 stops advancing: once idle, partition 2 runs free again.
        let c = applied(&mut a, t0, &seen(&t, &[None, Some(0), Some(30 * MIN)]));
        assert_eq!(ids(&c.pause), vec![2]);
        let later = t0 + Duration::from_secs(3);
        let c = applied(&mut a, later, &seen(&t, &[None, Some(0), Some(30 * MIN)]));
        assert_eq!(ids(&c.resume), vec![2], "the only active partition is paused: resume");
    }

    #[test]
    fn never_pauses_the_slowest_and_always_resumes_when_nothing_else_runs() {
        let t = trackers(4);
        let mut a = Aligner::new(MIN, Duration::from_secs(2));
        let t0 = Instant::now();
        let times = [Some(0), Some(2 * MIN), Some(3 * MIN), Some(4 * MIN)];
        let c = applied(&mut a, t0, &seen(&t, &times));
        assert_eq!(ids(&c.pause), vec![1, 2, 3]);
        // The slowest ran dry: every paused partition comes back.
        let c = applied(&mut a, t0 + Duration::from_secs(5), &seen(&t, &times));
        assert_eq!(ids(&c.resume), vec![1, 2, 3]);
        assert_eq!(a.paused(), 0);
    }

    #[test]
    fn revoked_and_reassigned_partitions_start_afresh() {
        let t = trackers(2);
        let mut a = Aligner::new(MIN, Duration::from_secs(2));
        let t0 = Instant::now();
        let c = applied(&mut a, t0, &seen(&t, &[Some(0), Some(5 * MIN)]));
        assert_eq!(ids(&c.pause), vec![1]);
        // Partition 1 revoked: forgotten, no resume asked for it.
        let c = applied(&mut a, t0, &seen(&t[..1], &[Some(0)]));
        assert!(c.is_empty());
        assert_eq!(a.paused(), 0);
        // Assigned again (a new tracker): paused again only by a new decision.
        let again = Arc::new(PartitionTracker::new("in", 1, 0));
        let c = applied(&mut a, t0, &[(t[0].clone(), Some(0)), (again, Some(30_000))]);
        assert!(c.is_empty());
    }
}
