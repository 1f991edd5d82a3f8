//! Which source offsets may be committed: the at-least-once bookkeeping.
//!
//! A source offset may be committed only when every output it caused
//! (anonymized record or dead letter) has a successful delivery report AND
//! every earlier offset of the same partition is in the same state. Delivery
//! reports arrive out of order, so each partition keeps an [`OffsetTracker`]:
//! an ordered list of offsets still in flight, each with a count of pending
//! units (one for "still being processed", one per gating output). The
//! commit point is the oldest offset still pending, or one past the last
//! offset seen when nothing is pending.
//!
//! An output that finally fails pins its offset forever: the commit point
//! never passes it, and the service stops so a restart re-reads from there.
//! Statistics outputs do not gate offsets here: they aggregate many records
//! and are emitted later, on window close; the processor's commit floor
//! holds those records back instead (see the module docs of `service`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

/// A bookkeeping call that does not fit the partition's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TrackError {
    /// `begin` with an offset not above the last one begun.
    #[error("offset {offset} is not above the last tracked offset {last}")]
    NotIncreasing {
        /// The offending offset.
        offset: i64,
        /// The last offset begun.
        last: i64,
    },
    /// An output or ack for an offset that is not in flight.
    #[error("offset {0} is not in flight")]
    NotInFlight(i64),
}

/// Offsets `offset..end` (a single record or a worker's span).
#[derive(Debug, Clone, Copy)]
struct Entry {
    offset: i64,
    end: i64,
    pending: u32,
    failed: bool,
}

/// Out-of-order acknowledgements in, contiguous commit point out.
#[derive(Debug, Default, Clone)]
pub struct OffsetTracker {
    entries: VecDeque<Entry>,
    last_begun: Option<i64>,
    /// One past the last offset that left the front completed.
    done_up_to: Option<i64>,
    failed: Option<i64>,
}

impl OffsetTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts tracking `offset` with one pending unit, released by
    /// [`OffsetTracker::ack`] once the record has been processed.
    ///
    /// # Errors
    /// [`TrackError::NotIncreasing`] if `offset` is not above the last one.
    pub fn begin(&mut self, offset: i64) -> Result<(), TrackError> {
        if let Some(last) = self.last_begun {
            if offset <= last {
                return Err(TrackError::NotIncreasing { offset, last });
            }
        }
        self.last_begun = Some(offset);
        self.entries.push_back(Entry { offset, end: offset + 1, pending: 1, failed: false });
        Ok(())
    }

    /// Extends the range begun at `offset` (the last one begun) to cover
    /// every offset up to `last`: those records were processed as part of
    /// it, and it completes only when they are all done.
    ///
    /// # Errors
    /// [`TrackError::NotInFlight`] if `offset` is not the last range begun,
    /// [`TrackError::NotIncreasing`] if `last` is below the range's end.
    pub fn extend(&mut self, offset: i64, last: i64) -> Result<(), TrackError> {
        let entry = match self.entries.back_mut() {
            Some(e) if e.offset == offset => e,
            _ => return Err(TrackError::NotInFlight(offset)),
        };
        if last < entry.end - 1 {
            return Err(TrackError::NotIncreasing { offset: last, last: entry.end - 1 });
        }
        entry.end = last + 1;
        self.last_begun = Some(last);
        Ok(())
    }

    fn find(&mut self, offset: i64) -> Result<&mut Entry, TrackError> {
        let idx = self
            .entries
            .binary_search_by_key(&offset, |e| e.offset)
            .map_err(|_| TrackError::NotInFlight(offset))?;
        self.entries.get_mut(idx).ok_or(TrackError::NotInFlight(offset))
    }

    /// Adds one pending unit (an output whose delivery must be awaited).
    ///
    /// # Errors
    /// [`TrackError::NotInFlight`] if `offset` is not being tracked.
    pub fn add_output(&mut self, offset: i64) -> Result<(), TrackError> {
        self.find(offset)?.pending += 1;
        Ok(())
    }

    /// Releases one pending unit. `delivered == false` pins the offset: it
    /// never completes, so the commit point never passes it.
    ///
    /// # Errors
    /// [`TrackError::NotInFlight`] if `offset` is not being tracked.
    pub fn ack(&mut self, offset: i64, delivered: bool) -> Result<(), TrackError> {
        let entry = self.find(offset)?;
        if entry.pending == 0 {
            return Err(TrackError::NotInFlight(offset));
        }
        if !delivered {
            entry.failed = true;
            self.failed = Some(self.failed.map_or(offset, |f| f.min(offset)));
            return Ok(());
        }
        entry.pending -= 1;
        while let Some(front) = self.entries.front() {
            if front.pending > 0 || front.failed {
                break;
            }
            self.done_up_to = Some(front.end);
            self.entries.pop_front();
        }
        Ok(())
    }

    /// The offset to commit (the next one to read), or `None` if no offset
    /// has completed yet and nothing is pending.
    pub fn commit_point(&self) -> Option<i64> {
        match self.entries.front() {
            Some(front) => Some(front.offset),
            None => self.done_up_to,
        }
    }

    /// Records or spans begun but not yet completed.
    pub fn in_flight(&self) -> usize {
        self.entries.len()
    }

    /// The lowest offset whose output finally failed, if any.
    pub fn failed(&self) -> Option<i64> {
        self.failed
    }
}

/// Thread-safe wrapper used by the service: the consumer thread creates it,
/// a worker begins and releases offsets, the producer's delivery callback
/// acks outputs, and a revocation waits for it to drain.
#[derive(Debug)]
pub(crate) struct PartitionTracker {
    pub topic: String,
    pub partition: i32,
    /// Index of the worker thread that owns this partition.
    pub worker: usize,
    /// The provenance header value of this partition's records up to their
    /// offset (`provenance::source_prefix`).
    pub header_prefix: Box<[u8]>,
    state: Mutex<State>,
    /// Mirrors `State::revoked` so workers can check it per record without
    /// taking the lock.
    revoked: AtomicBool,
    drained: Condvar,
    /// Last commit point and metadata handed to the consumer's offset store.
    stored: Mutex<Option<(i64, String)>>,
    /// Paused by the consumer for watermark alignment (consumer thread only).
    paused: AtomicBool,
}

#[derive(Debug, Default)]
struct State {
    tracker: OffsetTracker,
    revoked: bool,
}

impl PartitionTracker {
    pub fn new(topic: &str, partition: i32, worker: usize) -> Self {
        PartitionTracker {
            topic: topic.to_owned(),
            partition,
            worker,
            header_prefix: super::provenance::source_prefix(topic, partition),
            state: Mutex::new(State::default()),
            revoked: AtomicBool::new(false),
            drained: Condvar::new(),
            stored: Mutex::new(None),
            paused: AtomicBool::new(false),
        }
    }

    /// Notes that the consumer paused or resumed this partition.
    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::Relaxed);
    }

    /// Whether the consumer paused this partition (see [`Self::set_paused`]).
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not wedge offset bookkeeping.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts processing `offset`; `Err` if the partition was revoked or the
    /// offset is a repeat (the record must then be skipped).
    pub fn begin(&self, offset: i64) -> Result<(), BeginRefused> {
        let mut s = self.lock();
        if s.revoked {
            return Err(BeginRefused::Revoked);
        }
        s.tracker.begin(offset).map_err(BeginRefused::Track)
    }

    #[cfg(test)]
    pub fn add_output(&self, offset: i64) -> Result<(), TrackError> {
        self.lock().tracker.add_output(offset)
    }

    /// See [`OffsetTracker::extend`].
    pub fn extend(&self, offset: i64, last: i64) -> Result<(), TrackError> {
        self.lock().tracker.extend(offset, last)
    }

    pub fn ack(&self, offset: i64, delivered: bool) -> Result<(), TrackError> {
        let mut s = self.lock();
        let r = s.tracker.ack(offset, delivered);
        if s.tracker.in_flight() == 0 || s.tracker.failed().is_some() {
            self.drained.notify_all();
        }
        r
    }

    pub fn commit_point(&self) -> Option<i64> {
        self.lock().tracker.commit_point()
    }

    pub fn in_flight(&self) -> usize {
        self.lock().tracker.in_flight()
    }

    /// Records `(offset, metadata)` as stored; `false` if it already was.
    pub fn mark_stored(&self, offset: i64, metadata: &str) -> bool {
        let mut stored = self.stored.lock().unwrap_or_else(PoisonError::into_inner);
        if stored.as_ref().is_some_and(|(o, m)| *o == offset && m == metadata) {
            return false;
        }
        *stored = Some((offset, metadata.to_owned()));
        true
    }

    /// Stops new records from starting; queued ones are skipped.
    pub fn revoke(&self) {
        let mut s = self.lock();
        s.revoked = true;
        self.revoked.store(true, Ordering::Release);
    }

    /// Whether the partition was revoked (no lock taken).
    pub fn is_revoked(&self) -> bool {
        self.revoked.load(Ordering::Acquire)
    }

    /// Waits until nothing is in flight (or an output failed, which will
    /// never drain) or until `deadline`. Returns whether it drained.
    pub fn wait_drained(&self, deadline: Instant) -> bool {
        let mut s = self.lock();
        loop {
            if s.tracker.in_flight() == 0 {
                return true;
            }
            if s.tracker.failed().is_some() {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            s = match self.drained.wait_timeout(s, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }
}

/// A run of consecutive records of one partition that one worker processes
/// together, tracked as one range. The worker holds one `Arc<Span>` while
/// it processes the records and every gating output of them holds another
/// (through its delivery [`Gate`](super::producer::Gate)); when the last
/// one is dropped, every record of the span is processed and every output
/// delivered, and the range completes. An output that finally failed (or
/// was abandoned) calls [`Span::pin`] first, which keeps the range from
/// ever completing.
#[derive(Debug)]
pub(crate) struct Span {
    pub tracker: Arc<PartitionTracker>,
    /// The span's first offset, which names its range in the tracker.
    pub first: i64,
}

impl Span {
    /// Begins a span at `first`; refused like [`PartitionTracker::begin`].
    pub fn begin(tracker: &Arc<PartitionTracker>, first: i64) -> Result<Arc<Span>, BeginRefused> {
        tracker.begin(first)?;
        Ok(Arc::new(Span { tracker: tracker.clone(), first }))
    }

    /// Records that the span covers the records up to `last`, all
    /// processed (called by the worker once, when it leaves the span).
    pub fn close(&self, last: i64) {
        if let Err(error) = self.tracker.extend(self.first, last) {
            // Unreachable by construction (the owning worker begins and
            // closes a partition's spans in order); the range then covers
            // fewer records, which only moves the commit point less.
            tracing::error!(%error, "span could not be extended; commit point held back");
        }
    }

    /// An output of the span finally failed or was abandoned: the range
    /// never completes, so the commit point never passes its first offset.
    pub fn pin(&self) {
        let _ = self.tracker.ack(self.first, false);
    }
}

impl Drop for Span {
    fn drop(&mut self) {
        // The last holder: processing done, every output delivered (or the
        // range was pinned by `pin`, which this cannot undo).
        let _ = self.tracker.ack(self.first, true);
    }
}

/// Why a record was not started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BeginRefused {
    /// The partition was revoked; its new owner reads the record again.
    Revoked,
    /// A repeat of an offset already begun in this assignment.
    Track(TrackError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn contiguous_watermark_from_out_of_order_acks() {
        let mut t = OffsetTracker::new();
        assert_eq!(t.commit_point(), None);
        for o in 0..4 {
            t.begin(o).unwrap();
            t.add_output(o).unwrap();
            t.ack(o, true).unwrap(); // processing done, output pending
        }
        assert_eq!(t.commit_point(), Some(0));
        t.ack(2, true).unwrap();
        t.ack(1, true).unwrap();
        assert_eq!(t.commit_point(), Some(0), "0 still pending");
        t.ack(0, true).unwrap();
        assert_eq!(t.commit_point(), Some(3));
        t.ack(3, true).unwrap();
        assert_eq!(t.commit_point(), Some(4));
        assert_eq!(t.in_flight(), 0);
    }

    #[test]
    fn record_without_outputs_completes_on_release() {
        let mut t = OffsetTracker::new();
        t.begin(10).unwrap();
        assert_eq!(t.commit_point(), Some(10));
        t.ack(10, true).unwrap();
        assert_eq!(t.commit_point(), Some(11));
    }

    #[test]
    fn gaps_in_offsets_are_fine() {
        let mut t = OffsetTracker::new();
        t.begin(5).unwrap();
        t.begin(9).unwrap();
        t.ack(9, true).unwrap();
        assert_eq!(t.commit_point(), Some(5));
        t.ack(5, true).unwrap();
        assert_eq!(t.commit_point(), Some(10));
    }

    #[test]
    fn a_failed_output_pins_the_watermark() {
        let mut t = OffsetTracker::new();
        for o in 0..3 {
            t.begin(o).unwrap();
            t.add_output(o).unwrap();
            t.ack(o, true).unwrap();
        }
        t.ack(0, true).unwrap();
        t.ack(1, false).unwrap();
        t.ack(2, true).unwrap();
        assert_eq!(t.commit_point(), Some(1));
        assert_eq!(t.failed(), Some(1));
        t.begin(3).unwrap();
        t.ack(3, true).unwrap();
        assert_eq!(t.commit_point(), Some(1), "never past a failed output");
    }

    #[test]
    fn misuse_is_reported_not_panicked() {
        let mut t = OffsetTracker::new();
        t.begin(3).unwrap();
        assert_eq!(t.begin(3), Err(TrackError::NotIncreasing { offset: 3, last: 3 }));
        assert_eq!(t.add_output(7), Err(TrackError::NotInFlight(7)));
        t.ack(3, true).unwrap();
        assert_eq!(t.ack(3, true), Err(TrackError::NotInFlight(3)));
    }

    #[test]
    fn revoked_partition_refuses_new_records_and_drains() {
        let p = PartitionTracker::new("t", 0, 0);
        p.begin(0).unwrap();
        p.add_output(0).unwrap();
        p.ack(0, true).unwrap();
        p.revoke();
        assert_eq!(p.begin(1), Err(BeginRefused::Revoked));
        let soon = Instant::now() + std::time::Duration::from_millis(20);
        assert!(!p.wait_drained(soon), "an output is still in flight");
        let p = std::sync::Arc::new(p);
        let acker = {
            let p = p.clone();
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(20));
                p.ack(0, true).unwrap();
            })
        };
        assert!(p.wait_drained(Instant::now() + std::time::Duration::from_secs(5)));
        acker.join().unwrap();
        assert_eq!(p.commit_point(), Some(1));
    }

    #[test]
    fn a_span_covers_its_records_and_completes_with_its_last_holder() {
        let mut t = OffsetTracker::new();
        t.begin(10).unwrap();
        t.extend(10, 14).unwrap();
        assert_eq!(t.begin(12), Err(TrackError::NotIncreasing { offset: 12, last: 14 }));
        assert_eq!(t.extend(9, 20), Err(TrackError::NotInFlight(9)), "only the last range");
        t.begin(15).unwrap();
        t.extend(15, 15).unwrap();
        assert_eq!(t.extend(10, 30), Err(TrackError::NotInFlight(10)), "no longer the last");
        t.ack(15, true).unwrap();
        assert_eq!(t.commit_point(), Some(10), "the first span is still open");
        t.ack(10, true).unwrap();
        assert_eq!(t.commit_point(), Some(16));

        // Through the service types: the span completes when the worker and
        // every output holding it have let go, not before.
        let p = std::sync::Arc::new(PartitionTracker::new("t", 0, 0));
        let span = Span::begin(&p, 100).unwrap();
        let output = span.clone();
        span.close(163);
        drop(span);
        assert_eq!(p.commit_point(), Some(100), "an output is undelivered");
        drop(output);
        assert_eq!(p.commit_point(), Some(164));

        // A pinned span never completes, whatever is dropped later.
        let span = Span::begin(&p, 164).unwrap();
        span.close(170);
        let output = span.clone();
        output.pin();
        drop((span, output));
        assert_eq!(p.commit_point(), Some(164));
        assert!(!p.wait_drained(Instant::now()), "a pinned span never drains");
        assert_eq!(
            Span::begin(&p, 170).map(|_| ()),
            Err(BeginRefused::Track(TrackError::NotIncreasing { offset: 170, last: 170 }))
        );
    }

    /// One step of a random schedule: a unit of some record completes.
    fn model_commit_point(
        offsets: &[i64],
        remaining: &[u32],
        failed: &[bool],
        begun: usize,
    ) -> Option<i64> {
        for i in 0..begun {
            if remaining[i] > 0 || failed[i] {
                return Some(offsets[i]);
            }
        }
        if begun == 0 {
            None
        } else {
            Some(offsets[begun - 1] + 1)
        }
    }

    proptest! {
        #[test]
        fn commit_point_matches_model(
            // (gap before this offset, number of gating outputs) per record
            records in prop::collection::vec((1i64..3, 0u32..4), 1..40),
            order_seed in any::<u64>(),
            fail_at in prop::option::of(0usize..40),
        ) {
            let mut offsets = Vec::new();
            let mut next = 0i64;
            for (gap, _) in &records {
                next += gap;
                offsets.push(next);
            }
            // Units: (record index, is the last processing release). Each
            // record has `outputs` delivery units plus one processing unit.
            let mut units: Vec<usize> = Vec::new();
            for (i, (_, outputs)) in records.iter().enumerate() {
                for _ in 0..=*outputs {
                    units.push(i);
                }
            }
            // Deterministic shuffle from the seed.
            let mut state = order_seed | 1;
            for i in (1..units.len()).rev() {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17;
                let j = (state % (i as u64 + 1)) as usize;
                units.swap(i, j);
            }
            let mut t = OffsetTracker::new();
            let mut remaining: Vec<u32> = records.iter().map(|(_, o)| o + 1).collect();
            let mut failed = vec![false; records.len()];
            // Begin all records first (a worker begins in order), registering outputs.
            for (i, (_, outputs)) in records.iter().enumerate() {
                t.begin(offsets[i]).unwrap();
                for _ in 0..*outputs { t.add_output(offsets[i]).unwrap(); }
            }
            let begun = records.len();
            let mut fail_unit = fail_at.filter(|f| *f < units.len());
            for (step, i) in units.iter().copied().enumerate() {
                if failed[i] { continue; }
                let ok = fail_unit != Some(step);
                if !ok { fail_unit = None; failed[i] = true; } else { remaining[i] -= 1; }
                t.ack(offsets[i], ok).unwrap();
                prop_assert_eq!(t.commit_point(), model_commit_point(&offsets, &remaining, &failed, begun));
            }
            if failed.iter().any(|f| *f) {
                let first = failed.iter().position(|f| *f).unwrap();
                prop_assert!(t.commit_point().unwrap() <= offsets[first]);
            } else {
                prop_assert_eq!(t.commit_point(), Some(offsets[offsets.len() - 1] + 1));
                prop_assert_eq!(t.in_flight(), 0);
            }
        }
    }
}
