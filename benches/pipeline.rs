//! Criterion bench: the reference access-log pipeline on generated records,
//! next to the baseline of parsing each record into `serde_json::Value` and
//! serializing it back. Both appear in one group with the same throughput
//! unit, so criterion prints records/s (and the `_bytes` group MB/s) for
//! each side by side. `benches/throughput.rs` prints the ratios.

use std::path::Path;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use logveil::keys::KeyStore;
use logveil::pipeline::{Pipeline, Scratch};

fn bench(c: &mut Criterion) {
    let records = logveil::workload::generate(42, 10_000);
    let bytes: usize = records.iter().map(Vec::len).sum();
    let keys = KeyStore::for_tests(&["ids".into()]);
    let pipeline = Pipeline::load(Path::new("pipelines/access_log.toml"), &keys).expect("pipeline");
    for (group_name, throughput) in [
        ("reference_pipeline_records", Throughput::Elements(records.len() as u64)),
        ("reference_pipeline_bytes", Throughput::Bytes(bytes as u64)),
    ] {
        let mut group = c.benchmark_group(group_name);
        group.throughput(throughput);
        group.sample_size(20);
        group.bench_function("baseline_serde_json_value_roundtrip", |b| {
            let mut out = Vec::with_capacity(1024);
            b.iter(|| {
                for r in &records {
                    out.clear();
                    let v: serde_json::Value = serde_json::from_slice(r).expect("valid");
                    serde_json::to_writer(&mut out, &v).expect("write");
                    black_box(&out);
                }
            })
        });
        group.bench_function("logveil_access_log", |b| {
            let mut scratch = Scratch::default();
            b.iter(|| {
                for r in &records {
                    pipeline.process(r, &mut scratch).expect("processed");
                    black_box(&scratch.out);
                }
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
