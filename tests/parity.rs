//! Parity with the committed fixtures (`tests/fixtures`, made by `make_fixtures.py` from the
//! PyTorch trainer): every model in `manifest.json`, run on `input.npy` in 64-sample blocks like
//! NAM Core, must match its `expected/*.npy` within 1e-5 · max(1, peak) from the first sample.
//! Run with `--nocapture` to see the error of every fixture.

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use nam_rs::{Model, NamModel};

struct Fixture {
    name: String,
    model: PathBuf,
    expected: PathBuf,
    architecture: String,
    oracle: String,
    prewarm_zeros: Option<usize>,
    receptive_field: Option<usize>,
}

/// The manifest is committed with the fixtures, so a missing one is a bug, not a reason to skip.
fn manifest() -> Vec<Fixture> {
    let dir = common::fixtures_dir();
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}. The fixtures are committed with the repository; regenerate them with \
             `python tests/fixtures/make_fixtures.py` (needs the PyTorch trainer)",
            path.display()
        )
    });
    let json: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: invalid JSON: {e}", path.display()));
    let entries = json.as_array().unwrap_or_else(|| panic!("{}: expected a list of fixtures", path.display()));
    assert!(!entries.is_empty(), "{}: no fixtures", path.display());
    entries
        .iter()
        .map(|e| {
            let text = |key: &str| {
                e[key]
                    .as_str()
                    .unwrap_or_else(|| panic!("{}: entry {e} has no string {key:?}", path.display()))
                    .to_string()
            };
            let count = |key: &str| e[key].as_u64().map(|v| v as usize);
            Fixture {
                name: text("name"),
                model: dir.join(text("model")),
                expected: dir.join(text("expected")),
                architecture: text("architecture"),
                oracle: text("oracle"),
                prewarm_zeros: count("prewarm_zeros"),
                receptive_field: count("receptive_field"),
            }
        })
        .collect()
}

/// NAM Core's host block size.
const BLOCK: usize = 64;

struct Outcome {
    name: String,
    got: Vec<f32>,
    expected: Vec<f32>,
    /// Problems other than the numbers (load errors, metadata mismatches).
    problems: Vec<String>,
}

fn run(fixture: &Fixture, input: &[f32]) -> Outcome {
    let mut problems = Vec::new();
    let (shape, expected) = common::read_npy(&fixture.expected);
    if shape != [input.len()] {
        problems.push(format!("expected output has shape {shape:?}, the input has {} samples", input.len()));
    }
    let mut got = input.to_vec();
    match NamModel::from_file(&fixture.model).and_then(|nam| Model::from_nam(&nam)) {
        Ok(mut model) => {
            for block in got.chunks_mut(BLOCK) {
                model.process_buffer(block);
            }
            if model.architecture() != fixture.architecture {
                problems.push(format!("architecture {} (manifest: {})", model.architecture(), fixture.architecture));
            }
            if let Some(rf) = fixture.receptive_field {
                if model.receptive_field() != rf {
                    problems.push(format!("receptive_field {} (manifest: {rf})", model.receptive_field()));
                }
            }
            // For an LSTM the manifest records the zeros the oracle fed before the input.
            if let (Some(zeros), "LSTM") = (fixture.prewarm_zeros, fixture.architecture.as_str()) {
                if model.prewarm_samples() != zeros {
                    problems
                        .push(format!("prewarm_samples {} (manifest prewarm_zeros: {zeros})", model.prewarm_samples()));
                }
            }
        }
        Err(e) => problems.push(format!("cannot load {}: {e}", fixture.model.display())),
    }
    Outcome { name: fixture.name.clone(), got, expected, problems }
}

/// max |Δ|, the tolerance `common::assert_parity` applies, and the peak of the expected output.
fn error(got: &[f32], expected: &[f32]) -> (f32, f32, f32) {
    let peak = expected.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let worst =
        got.iter()
            .zip(expected)
            .map(|(g, e)| (g - e).abs())
            .fold(0.0f32, |m, d| if d > m || d.is_nan() { d } else { m });
    (worst, 1e-5 * peak.max(1.0), peak)
}

#[test]
fn fixtures_match_the_trainer() {
    let fixtures = manifest();
    let (_, input) = common::read_npy(&common::fixtures_dir().join("input.npy"));
    // The fixtures are independent: spread them over the cores (debug builds are slow).
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Outcome>>> = fixtures.iter().map(|_| Mutex::new(None)).collect();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).min(fixtures.len());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(fixture) = fixtures.get(i) else { break };
                let outcome = run(fixture, &input);
                *slots[i].lock().expect("no poisoned slot") = Some(outcome);
            });
        }
    });
    let outcomes: Vec<Outcome> = slots
        .into_iter()
        .map(|slot| slot.into_inner().expect("no poisoned slot").expect("every fixture ran"))
        .collect();

    let mut failed = Vec::new();
    for (fixture, outcome) in fixtures.iter().zip(&outcomes) {
        let (worst, tol, peak) = error(&outcome.got, &outcome.expected);
        let ok = outcome.problems.is_empty() && outcome.got.len() == outcome.expected.len() && worst <= tol;
        eprintln!(
            "{} {:28} {:7} oracle {:17} max|Δ| {worst:9.3e}  tolerance {tol:.1e}  peak {peak:.3}{}",
            if ok { "ok  " } else { "FAIL" },
            outcome.name,
            fixture.architecture,
            fixture.oracle,
            outcome.problems.iter().map(|p| format!("\n     {p}")).collect::<String>()
        );
        if !ok {
            failed.push(outcome);
        }
    }
    eprintln!("{} of {} fixtures match", outcomes.len() - failed.len(), outcomes.len());
    if !failed.is_empty() {
        let names: Vec<&str> = failed.iter().map(|o| o.name.as_str()).collect();
        eprintln!("failing: {names:?}");
    }
    // All numbers are printed above; now the contract's own assertion, fixture by fixture.
    for outcome in &outcomes {
        assert!(outcome.problems.is_empty(), "{}: {}", outcome.name, outcome.problems.join("; "));
        common::assert_parity(&outcome.name, &outcome.got, &outcome.expected);
    }
}

#[test]
fn manifest_lists_every_fixture_file() {
    let fixtures = manifest();
    let mut names: Vec<&str> = fixtures.iter().map(|f| f.name.as_str()).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(names.len(), before, "duplicate names in the manifest");
    for f in &fixtures {
        assert!(f.model.exists(), "{}: {} is missing", f.name, f.model.display());
        assert!(f.expected.exists(), "{}: {} is missing", f.name, f.expected.display());
    }
    let models = common::fixtures_dir().join("models");
    let listed: Vec<PathBuf> = fixtures.iter().map(|f| f.model.clone()).collect();
    let mut unlisted = Vec::new();
    for entry in std::fs::read_dir(&models).expect("tests/fixtures/models") {
        let path = entry.expect("directory entry").path();
        if path.extension().is_some_and(|e| e == "nam") && !listed.contains(&path) {
            unlisted.push(path.display().to_string());
        }
    }
    assert!(unlisted.is_empty(), "model files not in manifest.json (never tested): {unlisted:?}");
}

/// `macs_per_sample` against the multiply-add counts published for the standard shapes
/// (`../shared/benchmarks/anchors.md`: A1 presets and LSTM 1x16, counted from their configs).
#[test]
fn macs_per_sample_match_the_published_counts() {
    for (name, macs) in [
        ("wavenet_standard", 13_320),
        ("wavenet_lite", 6_228),
        ("wavenet_feather", 2_808),
        ("wavenet_nano", 732),
        ("lstm_1x16", 1_104),
    ] {
        let path = common::fixtures_dir().join("models").join(format!("{name}.nam"));
        let nam = NamModel::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
        let model = Model::from_nam(&nam).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(model.macs_per_sample(), macs, "{name}");
    }
}
