//! Real-time safety: `process_buffer`, `process`, `process_sample`, `reset` and `prewarm` must not
//! touch the heap. A counting global allocator (thread-local counters, armed only around the
//! measured call) checks every architecture in scope with block sizes from 1 to a huge block.
//!
//! `harness = false` (see Cargo.toml): this is a plain `main`, so nothing but the measured code runs
//! on a thread while it is armed. Each model runs on its own thread; the counters are per thread.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::path::PathBuf;

use nam_rs::{LoadOptions, Model, NamModel};

// ------------------------------------------------------------------------------------------------
// Counting allocator
// ------------------------------------------------------------------------------------------------

struct CountingAlloc;

// `const` initialisers and no destructors: accessing these never allocates or registers anything.
thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
    static REALLOCS: Cell<u64> = const { Cell::new(0) };
    static DEALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn bump(counter: &'static std::thread::LocalKey<Cell<u64>>) {
    // `try_with`: the allocator may be called while the thread's locals are being torn down.
    if ARMED.try_with(Cell::get).unwrap_or(false) {
        let _ = counter.try_with(|c| c.set(c.get() + 1));
    }
}

// SAFETY: every method forwards to `System` with the same arguments; counting has no effect on
// the memory returned.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump(&ALLOCS);
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump(&ALLOCS);
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump(&REALLOCS);
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        bump(&DEALLOCS);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Counts {
    allocs: u64,
    reallocs: u64,
    deallocs: u64,
}

impl Counts {
    fn total(self) -> u64 {
        self.allocs + self.reallocs + self.deallocs
    }
}

/// Runs `f` with the current thread's counters armed and returns what it did to the heap.
fn measure(f: impl FnOnce()) -> Counts {
    for c in [&ALLOCS, &REALLOCS, &DEALLOCS] {
        c.with(|c| c.set(0));
    }
    ARMED.with(|a| a.set(true));
    f();
    ARMED.with(|a| a.set(false));
    Counts { allocs: ALLOCS.with(Cell::get), reallocs: REALLOCS.with(Cell::get), deallocs: DEALLOCS.with(Cell::get) }
}

/// The counter must see an allocation, a reallocation and a deallocation, otherwise every "0"
/// below would be meaningless (e.g. if the allocator were not installed).
fn self_check() {
    let counts = measure(|| {
        let mut v: Vec<u8> = Vec::with_capacity(black_box(16));
        v.extend_from_slice(black_box(&[1u8; 16]));
        v.reserve(black_box(1024)); // grows: realloc
        black_box(&v);
    });
    assert!(
        counts.allocs >= 1 && counts.reallocs >= 1 && counts.deallocs >= 1,
        "self-check failed: the counting allocator did not see Vec::with_capacity(16) + reserve + drop \
         (got {counts:?}); the zero counts of this test cannot be trusted"
    );
    let idle = measure(|| {
        black_box(1 + black_box(1));
    });
    assert_eq!(idle, Counts::default(), "self-check failed: an empty closure was counted as allocating");
    eprintln!("self-check ok: Vec::with_capacity(16) + reserve + drop counted as {counts:?}");
}

// ------------------------------------------------------------------------------------------------
// Models in scope
// ------------------------------------------------------------------------------------------------

/// One representative per code path: the A1 standard preset (the largest), nano, gated, blended
/// (bottleneck != channels, per-layer kernel sizes), a per-layer activation list covering every
/// activation, per-channel PReLU, a head kernel of 3; every LSTM fixture.
const WAVENET_FIXTURES: [&str; 11] = [
    "wavenet_standard",
    "wavenet_nano",
    "wavenet_gated",
    "wavenet_blended",
    "wavenet_act_list",
    "wavenet_act_prelu_channels",
    "wavenet_head_k3",
    "wavenet_a2_film",
    "wavenet_a2_groups",
    "wavenet_a2_condition_dsp",
    "wavenet_post_head",
];

/// Used only while `tests/fixtures/manifest.json` does not exist yet.
const REFERENCE_FALLBACK: [&str; 3] = ["wavenet", "lstm", "wavenet_a1_standard"];

struct Subject {
    label: String,
    path: PathBuf,
    options: LoadOptions,
}

fn subjects() -> Vec<Subject> {
    let plain =
        |label: &str, path: PathBuf| Subject { label: label.to_string(), path, options: LoadOptions::default() };
    let manifest_path = common::fixtures_dir().join("manifest.json");
    if let Ok(text) = std::fs::read_to_string(&manifest_path) {
        let manifest: serde_json::Value = serde_json::from_str(&text).expect("manifest.json is valid JSON");
        let entries = manifest.as_array().expect("manifest.json is a list");
        let mut out = Vec::new();
        let mut lstm_done = false;
        for entry in entries {
            let name = entry["name"].as_str().expect("manifest entry has a name");
            let path = common::fixtures_dir().join(entry["model"].as_str().expect("manifest entry has a model"));
            let is_lstm = entry["architecture"].as_str() == Some("LSTM");
            if is_lstm {
                out.push(plain(name, path.clone()));
                if !lstm_done {
                    // NAM Core's fast-tanh LSTM path (fast sigmoid/tanh in every gate).
                    let options = LoadOptions { fast_tanh: true, ..LoadOptions::default() };
                    out.push(Subject { label: format!("{name}+fast_tanh"), path, options });
                    lstm_done = true;
                }
            } else if WAVENET_FIXTURES.contains(&name) {
                out.push(plain(name, path));
            } else if matches!(entry["architecture"].as_str(), Some("ConvNet" | "Linear")) {
                // Every ConvNet and Linear fixture, and the long filter in both kernels.
                if name == "linear_long" {
                    let options = LoadOptions {
                        linear_implementation: Some(nam_rs::LinearImplementation::Direct),
                        ..LoadOptions::default()
                    };
                    out.push(Subject { label: format!("{name}+direct"), path: path.clone(), options });
                }
                out.push(plain(name, path));
            }
        }
        for name in WAVENET_FIXTURES {
            if !out.iter().any(|s| s.label == name) {
                eprintln!("note: fixture {name} is not in the manifest; not checked");
            }
        }
        assert!(
            out.iter().any(|s| s.label.starts_with("wavenet")),
            "no WaveNet fixture found in {}",
            manifest_path.display()
        );
        assert!(lstm_done, "no LSTM fixture found in {}", manifest_path.display());
        // NAM Core's A2 feature models (every FiLM site, groups, head1x1, condition_dsp), when present.
        if let Some(dir) = common::reference_dir() {
            for name in ["wavenet_a2_max", "wavenet_condition_dsp", "A2", "slimmable_container", "slimmable_wavenet"] {
                out.push(plain(&format!("core:{name}"), dir.join("models").join(format!("{name}.nam"))));
            }
        }
        // The trainer's residual path (inactive layer1x1 adds the activation) under Semantics::Trainer.
        out.push(Subject {
            label: "trainer:layer1x1_inactive".to_string(),
            path: common::fixtures_dir().join("trainer_semantics").join("layer1x1_inactive.nam"),
            options: LoadOptions { semantics: nam_rs::Semantics::Trainer, ..LoadOptions::default() },
        });
        // Models rendered by NAM Core: condition_dsp of each architecture, slimmable with head1x1 + FiLMs
        // and with an LSTM condition_dsp.
        for name in common::CORE_FIXTURE_MODELS {
            out.push(plain(
                &format!("core:{name}"),
                common::fixtures_dir().join("core").join("models").join(format!("{name}.nam")),
            ));
        }
        return out;
    }
    let dir = common::reference_dir().unwrap_or_else(|| {
        panic!(
            "{} is missing (fixtures are committed; regenerate with tests/fixtures/make_fixtures.py) and \
             ../shared/reference is not available either: nothing to test",
            manifest_path.display()
        )
    });
    eprintln!("note: {} is missing; falling back to NAM Core's example models", manifest_path.display());
    REFERENCE_FALLBACK.iter().map(|n| plain(n, dir.join("models").join(format!("{n}.nam")))).collect()
}

// ------------------------------------------------------------------------------------------------
// The check
// ------------------------------------------------------------------------------------------------

/// Block sizes and how many consecutive calls of each (the size changes between calls, too).
const BLOCKS: [(usize, usize); 5] = [(1, 64), (7, 16), (64, 4), (511, 2), (4096, 1)];

/// The huge single block (the dev profile is built with opt-level 1, so this is fast in debug too).
fn huge_block(_model: &Model) -> usize {
    100_000
}

fn signal(n: usize) -> Vec<f32> {
    // 0.5-amplitude sine (~440 Hz at 48 kHz) plus a little second harmonic: non-trivial, bounded.
    (0..n)
        .map(|i| {
            let t = i as f32 * 0.0576;
            0.5 * t.sin() + 0.05 * (2.0 * t).sin()
        })
        .collect()
}

/// Returns the summary line, or the list of failures.
fn check(subject: &Subject) -> Result<String, Vec<String>> {
    let nam = NamModel::from_file(&subject.path).map_err(|e| vec![format!("{}: cannot read: {e}", subject.label)])?;
    let mut model = match Model::from_nam_with(&nam, &subject.options) {
        Ok(m) => m,
        Err(e @ nam_rs::NamError::Unsupported { .. }) => {
            // The parity test fails for every fixture this build cannot load; nothing to measure here.
            return Ok(format!("SKIPPED {}: {e}", subject.label));
        }
        Err(e) => return Err(vec![format!("{}: cannot build: {e}", subject.label)]),
    };
    let huge = huge_block(&model);
    let longest = BLOCKS.iter().map(|(b, n)| b * n).max().unwrap_or(0).max(huge);
    let source = signal(longest);
    let mut buffer = source.clone();
    let mut output = vec![0.0f32; 1024];
    let mut failures = Vec::new();
    let record = |failures: &mut Vec<String>, what: String, counts: Counts| {
        if counts.total() != 0 {
            failures.push(format!("{}: {what} touched the heap: {counts:?}", subject.label));
        }
    };

    for (block, calls) in BLOCKS {
        let buf = &mut buffer[..block * calls];
        buf.copy_from_slice(&source[..block * calls]);
        let counts = measure(|| {
            for chunk in buf.chunks_mut(block) {
                model.process_buffer(chunk);
            }
        });
        record(&mut failures, format!("process_buffer (block {block} x {calls})"), counts);
    }
    let buf = &mut buffer[..huge];
    buf.copy_from_slice(&source[..huge]);
    let counts = measure(|| model.process_buffer(buf));
    record(&mut failures, format!("process_buffer (one block of {huge})"), counts);
    assert!(buffer[..huge].iter().all(|y| y.is_finite()), "{}: non-finite output", subject.label);

    let input = &source[..output.len()];
    let mut result = Ok(());
    let counts = measure(|| result = model.process(input, &mut output));
    record(&mut failures, format!("process ({} samples)", input.len()), counts);
    if let Err(e) = result {
        failures.push(format!("{}: process failed: {e}", subject.label));
    }

    let mut acc = 0.0f32;
    let counts = measure(|| {
        for &x in &source[..256] {
            acc += model.process_sample(x);
        }
    });
    black_box(acc);
    record(&mut failures, "process_sample (256 calls)".to_string(), counts);

    // The multi-channel entry points (a mono model is a 1-channel case of both).
    let mut result = Ok(());
    let counts = measure(|| result = model.process_interleaved(input, &mut output));
    record(&mut failures, "process_interleaved".to_string(), counts);
    let counts = measure(|| {
        if result.is_ok() {
            result = model.process_interleaved_in_place(&mut buffer[..300]);
        }
    });
    record(&mut failures, "process_interleaved_in_place".to_string(), counts);
    let counts = measure(|| {
        if result.is_ok() {
            result = model.process_channels(&[&source[..300]], &mut [&mut output[..300]]);
        }
    });
    record(&mut failures, "process_channels".to_string(), counts);
    if let Err(e) = result {
        failures.push(format!("{}: multi-channel processing failed: {e}", subject.label));
    }

    record(&mut failures, "reset".to_string(), measure(|| model.reset()));
    record(&mut failures, "prewarm".to_string(), measure(|| model.prewarm()));
    // And once more from the start state, then processing again after both.
    record(&mut failures, "reset (twice)".to_string(), measure(|| model.reset()));
    let buf = &mut buffer[..64];
    let counts = measure(|| model.process_buffer(buf));
    record(&mut failures, "process_buffer after reset".to_string(), counts);
    // Slimmable models: switching size (through every sub-model and back) and processing after it.
    if !model.slimmable_breakpoints().is_empty() {
        let counts = measure(|| {
            for size in [0.0, 0.3, 0.6, 0.99, 1.0, 0.0] {
                model.set_slimmable_size(size).expect("slimmable");
                model.process_buffer(&mut buffer[..64]);
            }
        });
        record(&mut failures, "set_slimmable_size + process_buffer".to_string(), counts);
        // The cross-thread control, with crossfades running across block boundaries.
        model.set_slimmable_crossfade(100).expect("slimmable");
        let control = model.slimmable_control();
        let counts = measure(|| {
            for size in [0.0, 1.0, 0.3, 0.6, 0.0] {
                control.set(size);
                for _ in 0..3 {
                    model.process_buffer(&mut buffer[..64]);
                }
            }
        });
        record(&mut failures, "slimmable control + crossfade + process_buffer".to_string(), counts);
    }

    soak(&mut model, subject, &mut failures);

    // Control on this thread: `render` allocates by design (a fresh copy and the output), so the
    // counters must see it here too.
    let counts = measure(|| {
        black_box(model.render(black_box(&source[..16])));
    });
    if counts.allocs == 0 || counts.deallocs == 0 {
        failures
            .push(format!("{}: control failed: render() was not counted as allocating ({counts:?})", subject.label));
    }

    if failures.is_empty() {
        Ok(format!(
            "ok {:28} {:7} rf {:5}: 0 alloc/realloc/dealloc in process_buffer (blocks 1, 7, 64, 511, 4096, {huge}), \
             process, process_sample, reset, prewarm ({} prewarm samples)",
            subject.label,
            model.architecture(),
            model.receptive_field(),
            model.prewarm_samples()
        ))
    } else {
        Err(failures)
    }
}

/// Seconds of audio per model in the soak (`NAM_RS_SOAK_SECONDS`; CI uses the short default,
/// the slow run 600).
fn soak_seconds() -> f64 {
    std::env::var("NAM_RS_SOAK_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(1.0)
}

/// Soak: a long stream in random block sizes (1..=8192) must touch the heap zero times and equal,
/// bit for bit, a copy of the model fed the same stream one second per call (itself equal to a
/// one-shot render: tests/block_split.rs). Memory stays bounded whatever the duration.
fn soak(model: &mut Model, subject: &Subject, failures: &mut Vec<String>) {
    const RATE: usize = 48_000;
    model.reset();
    let mut reference = model.clone();
    let seconds = (soak_seconds() * RATE as f64) as usize / RATE;
    let mut rng = 0x2545_f491_4f6c_dd1du64 ^ subject.label.len() as u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut input = vec![0.0f32; RATE];
    let mut streamed = vec![0.0f32; RATE];
    let mut total = Counts::default();
    for second in 0..seconds.max(1) {
        for (i, x) in input.iter_mut().enumerate() {
            let t = (second * RATE + i) as f32 / RATE as f32;
            *x = 0.5 * (t * 2.0 * std::f32::consts::PI * (110.0 + 40.0 * (t * 0.1).sin())).sin();
        }
        streamed.copy_from_slice(&input);
        let counts = measure(|| {
            let mut rest = streamed.as_mut_slice();
            while !rest.is_empty() {
                let n = (1 + (next() % 8192) as usize).min(rest.len());
                let (block, tail) = rest.split_at_mut(n);
                model.process_buffer(block);
                rest = tail;
            }
        });
        total.allocs += counts.allocs;
        total.deallocs += counts.deallocs;
        total.reallocs += counts.reallocs;
        reference.process_buffer(&mut input);
        if input != streamed {
            failures.push(format!("{}: soak second {second}: random blocks differ from one call", subject.label));
            return;
        }
    }
    if total.total() != 0 {
        failures.push(format!("{}: soak ({seconds} s in random blocks) touched the heap: {total:?}", subject.label));
    }
}

/// `HostRateModel` (host rate ≠ model rate): the resampling path (44.1 kHz host, and an LSTM at
/// 96 kHz, which cannot be dilated) and the dilation path (96 kHz host), in blocks of 1 to 4096
/// frames, a call that completes several resampler chunks at once, and `reset`.
fn check_host_rate() -> Vec<String> {
    let mut failures = Vec::new();
    let cases = [
        ("wavenet_standard", 44_100.0),
        ("wavenet_standard", 96_000.0),
        ("lstm_1x8", 96_000.0),
        ("linear_long", 44_100.0),
    ];
    for (name, rate) in cases {
        let path = common::fixtures_dir().join("models").join(format!("{name}.nam"));
        let nam = NamModel::from_file(&path).expect("fixture loads");
        let mut chain =
            nam_rs::HostRateModel::new(&nam, &LoadOptions::default(), rate).expect("host-rate model builds");
        let label = format!("{name} at {rate} Hz ({})", chain.rate_conversion().name());
        let mut buffer = signal(8192);
        for (block, calls) in BLOCKS {
            let buf = &mut buffer[..block * calls];
            let counts = measure(|| buf.chunks_mut(block).for_each(|chunk| chain.process_buffer(chunk)));
            if counts.total() != 0 {
                failures
                    .push(format!("{label}: process_buffer (block {block} x {calls}) touched the heap: {counts:?}"));
            }
        }
        let counts = measure(|| chain.reset());
        if counts.total() != 0 {
            failures.push(format!("{label}: reset touched the heap: {counts:?}"));
        }
        eprintln!("ok {label}: latency {}", chain.latency());
    }
    failures
}

fn main() {
    let started = std::time::Instant::now();
    self_check();
    let subjects = subjects();
    // One thread per model: the counters are thread-local, so the measurements cannot interfere.
    let results: Vec<Result<String, Vec<String>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = subjects.iter().map(|s| scope.spawn(move || check(s))).collect();
        handles
            .into_iter()
            .zip(&subjects)
            .map(|(h, s)| h.join().unwrap_or_else(|_| Err(vec![format!("{}: panicked", s.label)])))
            .collect()
    });
    let mut failures =
        std::thread::spawn(check_host_rate).join().unwrap_or_else(|_| vec!["host rate: panicked".into()]);
    for result in results {
        match result {
            Ok(line) => eprintln!("{line}"),
            Err(f) => {
                for line in &f {
                    eprintln!("FAIL {line}");
                }
                failures.extend(f);
            }
        }
    }
    // The self-check again, after all the threads: the allocator is still the counting one.
    self_check();
    assert!(failures.is_empty(), "{} allocation failure(s):\n{}", failures.len(), failures.join("\n"));
    eprintln!("alloc: {} models, no heap use in processing ({:.1?})", subjects.len(), started.elapsed());
}
