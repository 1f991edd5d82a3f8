//! The record path of every shipped pipeline: first byte picks the pipeline,
//! the rest is the record (a JSON record, or a log line for `combined` and
//! `common` pipelines). Output must be byte-identical to the reference walk
//! (`src/pipeline/reference.rs`), parse under serde_json, hold only listed
//! fields, and give each action's output its promised shape; a refused
//! record must be refused by the reference walk with the same error code.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use logveil::pipeline::{reference, Scratch};
use logveil_fuzz::{check_output, shipped};

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, record)) = data.split_first() else { return };
    let all = shipped();
    let s = &all[usize::from(pick) % all.len()];
    SCRATCH.with_borrow_mut(|scratch| {
        let got = s.pipeline.process(record, scratch);
        let want = reference::process(&s.pipeline, record);
        match (&got, &want) {
            (Ok(()), Ok((out, _))) => {
                assert_eq!(&scratch.out, out, "{}: output differs from the reference walk", s.file);
                if let Err(e) = check_output(&s.rules, &scratch.out) {
                    panic!("{}: {e}", s.file);
                }
            }
            (Err(a), Err(b)) => assert_eq!(a.code, b.code, "{}: error codes differ", s.file),
            _ => panic!(
                "{}: accepted by one walk only: {:?} vs {:?}",
                s.file,
                got.is_ok(),
                want.is_ok()
            ),
        }
        // The record key path: never panics, and a kept key is only ever
        // produced from the key itself.
        let _ = s.pipeline.transform_key(Some(record), scratch);
    });
});
