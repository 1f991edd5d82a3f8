//! The statistics engine fed arbitrary operations: records (raw bytes, or
//! bytes desensitized by the pipeline first), poll times, partials (emitted
//! by a second engine, optionally with one byte changed, or arbitrary bytes)
//! and a final flush. Never panics; every final row parses under serde_json;
//! a window never has two rows with the same dimensions; summaries never
//! reveal a lone suppressed group's size (see `check_stats_rows`).
#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use logveil::pipeline::Scratch;
use logveil::stats::{PartialRow, StatsEngine, StatsRow};
use logveil_fuzz::{check_stats_rows, shipped};

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let with_stats: Vec<_> = shipped().iter().filter(|s| !s.pipeline.stats.is_empty()).collect();
    let s = with_stats[u.choose_index(with_stats.len())?];
    let mut sender = StatsEngine::new(s.pipeline.stats.clone());
    let mut owner = StatsEngine::new(s.pipeline.stats.clone());
    let mut scratch = Scratch::default();
    let (mut rows, mut partials): (Vec<StatsRow>, Vec<PartialRow>) = (Vec::new(), Vec::new());
    // Around the shipped samples' times, or anywhere.
    let base: i64 = 1_715_674_620_000;
    for _ in 0..u.int_in_range(0..=24)? {
        match u.int_in_range(0..=6)? {
            0 => {
                let rec: &[u8] = u.arbitrary()?;
                if s.pipeline.process(rec, &mut scratch).is_ok() {
                    let engine = if u.arbitrary()? { &mut sender } else { &mut owner };
                    engine.observe(&scratch.out);
                }
            }
            1 => {
                let rec: &[u8] = u.arbitrary()?;
                owner.observe(rec);
            }
            2 => {
                let t = if u.arbitrary()? {
                    base + i64::from(u.arbitrary::<i32>()?) * 1000
                } else {
                    u.arbitrary()?
                };
                owner.poll(t, &mut rows);
            }
            3 => {
                let t = if u.arbitrary()? {
                    base + i64::from(u.arbitrary::<i32>()?) * 1000
                } else {
                    u.arbitrary()?
                };
                sender.poll_partials(t, &mut partials);
            }
            4 => sender.finish_partials(&mut partials),
            5 => {
                if !partials.is_empty() {
                    let mut p = partials.remove(u.choose_index(partials.len())?).json;
                    if u.arbitrary()? && !p.is_empty() {
                        let at = u.choose_index(p.len())?;
                        p[at] = u.arbitrary()?;
                    }
                    let _ = owner.merge_partial(&p);
                }
            }
            _ => {
                let p: &[u8] = u.arbitrary()?;
                let _ = owner.merge_partial(p);
            }
        }
    }
    for p in partials.drain(..) {
        let _ = owner.merge_partial(&p.json);
    }
    owner.finish(&mut rows);
    if let Err(e) = check_stats_rows(&s.min_counts, &rows) {
        panic!("{}: {e}", s.file);
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
