//! Streaming speed per model and block size: `cargo bench --bench process`.
//! Reports time per block; divide by the block size for ns/sample (README table).

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use nam_rs::{Model, NamModel};

const MODELS: [&str; 6] =
    ["wavenet_standard", "wavenet_lite", "wavenet_feather", "wavenet_nano", "lstm_1x16", "lstm_2x8"];

fn load(name: &str) -> Model {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models").join(format!("{name}.nam"));
    let nam = NamModel::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
    Model::from_nam(&nam).unwrap_or_else(|e| panic!("{e}"))
}

fn streaming(c: &mut Criterion) {
    for name in MODELS {
        let mut group = c.benchmark_group(name);
        for block in [1usize, 64, 4096] {
            let mut model = load(name);
            let mut buffer: Vec<f32> = (0..block).map(|i| 0.3 * (i as f32 * 0.05).sin()).collect();
            group.throughput(Throughput::Elements(block as u64));
            group.bench_with_input(BenchmarkId::new("block", block), &block, |b, _| {
                b.iter(|| model.process_buffer(black_box(&mut buffer)))
            });
        }
        group.finish();
    }
}

fn load_and_prewarm(c: &mut Criterion) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models/wavenet_standard.nam");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{e}"));
    c.bench_function("wavenet_standard/load+prewarm", |b| {
        b.iter(|| {
            let nam = NamModel::from_json_str(black_box(&text)).unwrap_or_else(|e| panic!("{e}"));
            Model::from_nam(&nam).unwrap_or_else(|e| panic!("{e}"))
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = streaming, load_and_prewarm
}
criterion_main!(benches);
