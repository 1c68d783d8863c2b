//! Streaming speed per model and block size: `cargo bench --bench process`
//! (filter e.g. `-- wavenet_standard/block/64`). Criterion reports time per block and, from the
//! throughput, elements (samples) per second; ns/sample = 1e9 / that rate.
//!
//! Groups: every A1 WaveNet preset, A2 Full/Lite (the two sub-models of NAM Core's `A2.nam`,
//! skipped with a note when `../shared/reference` is absent), the LSTMs and a ConvNet, at blocks of
//! 1, 64, 512 and 4096; `kernels/*` runs a few models in each compiled kernel variant back to
//! back (their ratio is what to compare on a noisy machine); `denormals/*` times a decaying tail
//! into silence against ordinary input; and load + prewarm.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use nam_rs::{LoadOptions, Model, NamModel};

const MODELS: [&str; 7] = [
    "wavenet_standard",
    "wavenet_lite",
    "wavenet_feather",
    "wavenet_nano",
    "lstm_1x16",
    "lstm_2x8",
    "convnet_batchnorm",
];
const BLOCKS: [usize; 4] = [1, 64, 512, 4096];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load_with(path: &std::path::Path, options: &LoadOptions) -> Model {
    let nam = NamModel::from_file(path).unwrap_or_else(|e| panic!("{e}"));
    Model::from_nam_with(&nam, options).unwrap_or_else(|e| panic!("{e}"))
}

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/models").join(format!("{name}.nam"))
}

/// A2 Full (slimmable size 1.0) and A2 Lite (0.25: NAM Core picks the first sub-model whose
/// `max_value` exceeds the size, so 0.5 is already Full) from NAM Core's packed A2 model, if present.
fn a2_models() -> Vec<(&'static str, Model)> {
    let dir = std::env::var_os("NAM_RS_REFERENCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/reference"));
    let path = dir.join("models/A2.nam");
    if !path.exists() {
        eprintln!("note: {} not found; the A2 benchmarks are skipped", path.display());
        return Vec::new();
    }
    [("a2_full", 1.0), ("a2_lite", 0.25)]
        .into_iter()
        .map(|(name, size)| {
            let mut model = load_with(&path, &LoadOptions::default());
            model.set_slimmable_size(size).unwrap_or_else(|e| panic!("{e}"));
            (name, model)
        })
        .collect()
}

fn signal(n: usize) -> Vec<f32> {
    (0..n).map(|i| 0.3 * (i as f32 * 0.05).sin()).collect()
}

fn bench_blocks(c: &mut Criterion, name: &str, model: &Model) {
    let mut group = c.benchmark_group(name);
    for block in BLOCKS {
        let mut model = model.clone();
        let mut buffer = signal(block);
        group.throughput(Throughput::Elements(block as u64));
        group.bench_with_input(BenchmarkId::new("block", block), &block, |b, _| {
            b.iter(|| model.process_buffer(black_box(&mut buffer)))
        });
    }
    group.finish();
}

fn streaming(c: &mut Criterion) {
    for name in MODELS {
        bench_blocks(c, name, &load_with(&fixture(name), &LoadOptions::default()));
    }
    for (name, model) in a2_models() {
        bench_blocks(c, name, &model);
    }
}

/// The standard and nano WaveNets and the 1×16 LSTM in each kernel variant (the ones this CPU
/// can run), blocks of 64 and 1.
fn kernel_variants(c: &mut Criterion) {
    let variants = [
        ("portable", LoadOptions { portable_kernels: true, ..Default::default() }),
        ("avx2", LoadOptions { no_fma_kernels: true, ..Default::default() }),
        ("dispatched", LoadOptions::default()),
    ];
    for name in ["wavenet_standard", "wavenet_nano", "lstm_1x16"] {
        let mut group = c.benchmark_group(format!("kernels/{name}"));
        for block in [1usize, 64] {
            for (variant, options) in &variants {
                let mut model = load_with(&fixture(name), options);
                let mut buffer = signal(block);
                group.throughput(Throughput::Elements(block as u64));
                group.bench_with_input(BenchmarkId::new(*variant, block), &block, |b, _| {
                    b.iter(|| model.process_buffer(black_box(&mut buffer)))
                });
            }
        }
        group.finish();
    }
}

/// A loud burst followed by silence: without flush-to-zero the decaying activations go denormal
/// and each operation on them costs a microcode assist. The tail must cost what a normal block does.
fn denormal_tail(c: &mut Criterion) {
    let mut group = c.benchmark_group("denormals/wavenet_standard");
    let base = load_with(&fixture("wavenet_standard"), &LoadOptions::default());
    const BLOCK: usize = 64;
    group.throughput(Throughput::Elements(BLOCK as u64));
    // The end of a decaying tail: every sample is denormal (below 1.2e-38), decaying towards 0.
    let tail: Vec<f32> = (0..BLOCK).map(|i| 1e-38 * 0.9f32.powi(i as i32)).collect();
    for (what, input) in [("tail", tail), ("signal", signal(BLOCK))] {
        let mut model = base.clone();
        let mut buffer = input.clone();
        group.bench_function(what, |b| {
            b.iter(|| {
                buffer.copy_from_slice(&input);
                model.process_buffer(black_box(&mut buffer))
            })
        });
    }
    group.finish();
}

fn load_and_prewarm(c: &mut Criterion) {
    let text = std::fs::read_to_string(fixture("wavenet_standard")).unwrap_or_else(|e| panic!("{e}"));
    c.bench_function("wavenet_standard/load+prewarm", |b| {
        b.iter(|| {
            let nam = NamModel::from_json_str(black_box(&text)).unwrap_or_else(|e| panic!("{e}"));
            Model::from_nam(&nam).unwrap_or_else(|e| panic!("{e}"))
        })
    });
}

/// The CPU spike of a partitioned-FFT Linear: the sample that completes a block (one FFT pair and a
/// spectrum product) against an ordinary sample (direct head plus a share of the partition sums),
/// for a 3000-tap filter (block 512) and a 48000-tap one (1 s at 48 kHz, block 1024).
fn linear_fft_spike(c: &mut Criterion) {
    let mut group = c.benchmark_group("linear_fft_spike");
    for taps in [3000usize, 48_000] {
        let w: Vec<f32> = (0..taps).map(|k| ((k * 7919 % 101) as f32 / 50.0 - 1.0) * 0.001).collect();
        let text = serde_json::json!({
            "version": "0.5.4", "architecture": "Linear", "weights": w,
            "config": {"receptive_field": taps, "bias": false}
        })
        .to_string();
        let nam = NamModel::from_json_str(&text).unwrap_or_else(|e| panic!("{e}"));
        let model = Model::from_nam(&nam).unwrap_or_else(|e| panic!("{e}"));
        let block = if taps <= 2048 {
            256
        } else if taps <= 8192 {
            512
        } else {
            1024
        };
        for (label, before) in [("ordinary_sample", block / 2), ("completing_sample", block - 1)] {
            group.bench_function(BenchmarkId::new(label, taps), |b| {
                b.iter_batched_ref(
                    || {
                        let mut m = model.clone();
                        let mut warm = signal(3 * block + before);
                        m.process_buffer(&mut warm);
                        (m, [0.25f32])
                    },
                    |(m, x)| m.process_buffer(black_box(x)),
                    criterion::BatchSize::SmallInput,
                )
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = streaming, kernel_variants, denormal_tail, load_and_prewarm, linear_fft_spike
}
criterion_main!(benches);
