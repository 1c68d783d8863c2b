//! `Semantics::Trainer` against the trainer's own forward pass (`tests/fixtures/trainer_semantics`, made by
//! `make_trainer_semantics.py`): every fixture must match within 1e-5 · max(1, peak) from sample 0, and NAM Core
//! semantics must either reject the file with the manifest's error kind or give a clearly different output, so each
//! fixture proves that the switch changes something.

mod common;

use std::path::PathBuf;

use nam_rs::{LinearImplementation, LoadOptions, Model, NamError, NamModel, Semantics};

struct Fixture {
    name: String,
    model: PathBuf,
    expected: PathBuf,
    stride: usize,
    core: serde_json::Value,
}

fn dir() -> PathBuf {
    common::fixtures_dir().join("trainer_semantics")
}

fn manifest() -> Vec<Fixture> {
    let path = dir().join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let json: serde_json::Value = serde_json::from_str(&text).expect("valid manifest JSON");
    let entries = json.as_array().expect("a list of fixtures");
    assert!(entries.len() >= 9, "the manifest lists every disagreement and extra activation");
    entries
        .iter()
        .map(|e| Fixture {
            name: e["name"].as_str().expect("name").to_string(),
            model: dir().join(e["model"].as_str().expect("model")),
            expected: dir().join(e["expected"].as_str().expect("expected")),
            stride: e["stride"].as_u64().expect("stride") as usize,
            core: e["core"].clone(),
        })
        .collect()
}

fn input() -> Vec<f32> {
    common::read_npy(&common::fixtures_dir().join("input.npy")).1
}

fn load(fixture: &Fixture, options: &LoadOptions) -> nam_rs::Result<Model> {
    NamModel::from_file(&fixture.model).and_then(|nam| Model::from_nam_with(&nam, options))
}

fn trainer() -> LoadOptions {
    LoadOptions { semantics: Semantics::Trainer, ..LoadOptions::default() }
}

/// The whole input in NAM Core's 64-sample blocks, every `stride`-th output kept (as the fixture stores it).
fn render(model: &mut Model, input: &[f32], stride: usize) -> Vec<f32> {
    let mut y = input.to_vec();
    for block in y.chunks_mut(64) {
        model.process_buffer(block);
    }
    y.into_iter().step_by(stride).collect()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn trainer_semantics_match_the_trainer() {
    let input = input();
    for fixture in manifest() {
        let (_, expected) = common::read_npy(&fixture.expected);
        let mut model = load(&fixture, &trainer()).unwrap_or_else(|e| panic!("{}: {e}", fixture.name));
        let got = render(&mut model, &input, fixture.stride);
        println!("{:20} trainer max |Δ| {:.1e}", fixture.name, max_abs_diff(&got, &expected));
        common::assert_parity(&fixture.name, &got, &expected);
        // reset() returns to the start state (for an LSTM: the file's h0/c0), so a second pass is identical.
        model.reset();
        let again = render(&mut model, &input, fixture.stride);
        assert_eq!(got, again, "{}: output after reset()", fixture.name);
    }
}

#[test]
fn core_semantics_reject_or_differ() {
    let input = input();
    for fixture in manifest() {
        let kind = fixture.core["kind"].as_str().expect("core.kind");
        let core = load(&fixture, &LoadOptions::default());
        match kind {
            "rejects" => {
                let err = core.err().unwrap_or_else(|| panic!("{}: NAM Core semantics loaded it", fixture.name));
                let wanted = fixture.core["error"].as_str().expect("core.error");
                let got = match err.root() {
                    NamError::Format { .. } => "Format",
                    NamError::WeightCount { .. } => "WeightCount",
                    other => panic!("{}: unexpected error {other:?}", fixture.name),
                };
                assert_eq!(got, wanted, "{}: {err}", fixture.name);
                if let Some(name) = fixture.core["contains"].as_str() {
                    let text = err.to_string();
                    assert!(text.contains(name) && text.contains("semantics=\"trainer\""), "{}: {text}", fixture.name);
                }
            }
            "differs" => {
                let mut model = core.unwrap_or_else(|e| panic!("{}: {e}", fixture.name));
                let (_, expected) = common::read_npy(&fixture.expected);
                let got = render(&mut model, &input, fixture.stride);
                let peak = expected.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                // 100× the parity tolerance at least: the two readings are different functions of the file.
                let diff = max_abs_diff(&got, &expected);
                println!("{:20} NAM Core semantics max |Δ| {diff:.3}", fixture.name);
                assert!(diff > 1e-3 * peak.max(1.0), "{}: NAM Core semantics is only {diff} away", fixture.name);
            }
            other => panic!("{}: unknown core.kind {other:?}", fixture.name),
        }
    }
}

/// The trainer's Linear is NAM Core's with the taps reversed, in the direct form and the partitioned FFT alike.
#[test]
fn trainer_linear_taps_in_both_kernels() {
    let fixture = manifest().into_iter().find(|f| f.name == "linear_taps").expect("linear_taps fixture");
    let input = input();
    let (_, expected) = common::read_npy(&fixture.expected);
    for implementation in [LinearImplementation::Direct, LinearImplementation::Fft] {
        let options = LoadOptions { linear_implementation: Some(implementation), ..trainer() };
        let mut model = load(&fixture, &options).expect("loads");
        let got = render(&mut model, &input, fixture.stride);
        common::assert_parity(&format!("linear_taps {implementation:?}"), &got, &expected);
    }
}

/// An LSTM under trainer semantics is not prewarmed: its first output is the head of the file's h0 after one step,
/// and `prewarm()` changes nothing (there are no extra zeros to feed).
#[test]
fn trainer_lstm_has_no_prewarm() {
    let fixture = manifest().into_iter().find(|f| f.name == "lstm_h0").expect("lstm_h0 fixture");
    let mut model = load(&fixture, &trainer()).expect("loads");
    assert_eq!(model.prewarm_samples(), 0);
    let first = model.process_sample(0.0);
    model.reset();
    model.prewarm();
    assert_eq!(model.process_sample(0.0), first);
    let core = load(&fixture, &LoadOptions::default()).expect("loads");
    assert!(core.prewarm_samples() >= 24_000);
}

/// Trainer exports write `null` for the secondary activation of ungated layers; both semantics accept it.
#[test]
fn null_secondary_of_ungated_layers_is_accepted() {
    let fixture = manifest().into_iter().find(|f| f.name == "post_film_modes").expect("post_film_modes fixture");
    let nam = NamModel::from_file(&fixture.model).expect("parses");
    let secondaries = &nam.config["layers"][0]["secondary_activation"];
    assert!(secondaries[0].is_null() && nam.config["layers"][0]["gating_mode"][0] == "none", "{secondaries}");
    for options in [LoadOptions::default(), trainer()] {
        Model::from_nam_with(&nam, &options).expect("loads");
    }
}

/// Trainer-only activation parameters: an unknown GELU `approximate` value is a format error naming the field.
#[test]
fn gelu_approximate_must_be_none_or_tanh() {
    let fixture = manifest().into_iter().find(|f| f.name == "act_gelu").expect("act_gelu fixture");
    let mut nam = NamModel::from_file(&fixture.model).expect("parses");
    nam.config["layers"][1]["activation"][0]["approximate"] = "fast".into();
    let err = Model::from_nam_with(&nam, &trainer()).expect_err("rejected");
    assert!(matches!(err.root(), NamError::Format { field, .. } if field.contains("approximate")), "{err}");
}

/// The trainer's `layer1x1`/`head1x1` configs have defaults (active true / false, groups 1, out_channels 1); NAM
/// Core requires every key. Without them the trainer reading is the same model, NAM Core's a format error.
#[test]
fn trainer_defaults_for_layer1x1_and_head1x1_keys() {
    let fixture = manifest().into_iter().find(|f| f.name == "post_film_modes").expect("post_film_modes fixture");
    let mut nam = NamModel::from_file(&fixture.model).expect("parses");
    let array = &mut nam.config["layers"][0];
    assert_eq!(array["layer1x1"], serde_json::json!({"active": true, "groups": 1}));
    assert_eq!(array["head1x1"]["active"], false);
    array["layer1x1"] = serde_json::json!({});
    array["head1x1"] = serde_json::json!({"active": false});
    let mut model = Model::from_nam_with(&nam, &trainer()).expect("trainer defaults fill the keys");
    let (_, expected) = common::read_npy(&fixture.expected);
    common::assert_parity("post_film_modes without layer1x1/head1x1 keys", &render(&mut model, &input(), 2), &expected);
    let err = Model::from_nam_with(&nam, &LoadOptions::default()).expect_err("NAM Core requires the keys");
    assert!(matches!(err.root(), NamError::Format { field, .. } if field.contains("layer1x1")), "{err}");
}

/// A ConvNet reads its activation with the same rule: a trainer-only name loads with `Semantics::Trainer`
/// and is a format error naming `config.activation` with NAM Core's reading.
#[test]
fn convnet_trainer_only_activation() {
    let mut nam = NamModel::from_file(common::fixtures_dir().join("models/convnet_plain.nam")).expect("parses");
    nam.config["activation"] = "ELU".into();
    Model::from_nam_with(&nam, &trainer()).expect("loads with trainer semantics");
    let err = Model::from_nam_with(&nam, &LoadOptions::default()).expect_err("NAM Core rejects ELU");
    assert!(matches!(err.root(), NamError::Format { field, .. } if field == "config.activation"), "{err}");
}
