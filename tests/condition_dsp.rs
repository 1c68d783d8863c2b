//! A WaveNet's `condition_dsp` of any architecture (NAM Core builds it with its generic loader):
//! the numbers NAM Core derives from it (prewarm count, receptive field), what `prewarm()` and
//! `render_parallel` do with a recurrent one, and the checks on the nested model. Output parity
//! with NAM Core is in `tests/core_renders.rs` (renders in `tests/fixtures/core`).

mod common;

use nam_rs::{Model, NamError, NamModel};
use serde_json::{json, Value};

fn core_model(name: &str) -> Value {
    let path = common::fixtures_dir().join("core").join("models").join(format!("{name}.nam"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON")
}

fn build(value: &Value) -> nam_rs::Result<Model> {
    Model::from_nam(&NamModel::from_json_str(&value.to_string())?)
}

fn input() -> Vec<f32> {
    common::read_npy(&common::fixtures_dir().join("input.npy")).1
}

/// The parent's own receptive field: one array of kernel 3, dilations 1, 2, 4 (make_models.py).
const PARENT_RF: usize = 1 + 2 * (1 + 2 + 4);

#[test]
fn prewarm_count_and_receptive_field_include_the_condition() {
    // NAM Core: mPrewarmSamples = condition's GetPrewarmSamples() + Σ array receptive fields;
    // its first Reset(sr, 64) feeds whole 64-frame blocks. LSTM at 44.1 kHz: ⌊0.5·44100⌋ = 22050.
    let lstm = build(&core_model("wavenet_lstm_condition")).unwrap();
    assert_eq!(lstm.prewarm_samples(), (22_050 + PARENT_RF - 1).div_ceil(64) * 64);
    assert_eq!(lstm.receptive_field(), PARENT_RF, "an LSTM's receptive field is 1");
    // ConvNet (kernel 2, dilations 1, 2, 4): receptive field and NAM Core prewarm 1 + Σ d = 8.
    let convnet = build(&core_model("wavenet_convnet_condition")).unwrap();
    assert_eq!(convnet.receptive_field(), PARENT_RF - 1 + 8);
    assert_eq!(convnet.prewarm_samples(), 8 + PARENT_RF - 1);
    // Linear (24 taps): receptive field 24; NAM Core prewarms a Linear with 0 samples.
    let linear = build(&core_model("wavenet_linear_condition")).unwrap();
    assert_eq!(linear.receptive_field(), PARENT_RF - 1 + 24);
    assert_eq!(linear.prewarm_samples(), PARENT_RF - 1);
}

#[test]
fn macs_include_the_condition_model() {
    let mut file = core_model("wavenet_lstm_condition");
    let with = build(&file).unwrap().macs_per_sample();
    let lstm = build(&file["config"]["condition_dsp"]).unwrap();
    // 4H(1 + H) + H for one layer of 5 hidden units and one output.
    assert_eq!(lstm.macs_per_sample(), 4 * 5 * 6 + 5);
    file["config"]["condition_dsp"] = Value::Null;
    let without = build(&file).unwrap().macs_per_sample();
    assert_eq!(with, without + lstm.macs_per_sample());
}

/// With an LSTM condition, prewarm() is NAM Core's: `prewarm_samples()` zeros from wherever the
/// stream is (the LSTM never forgets, so this is not a reset); reset() is the load-time state.
#[test]
fn recurrent_condition_prewarm_feeds_zeros_and_reset_restores() {
    let model = build(&core_model("wavenet_lstm_condition")).unwrap();
    let x = input();
    let (loud, after) = (&x[..4096], &x[..512]);
    let mut warmed = model.clone();
    warmed.process_buffer(&mut loud.to_vec());
    warmed.prewarm();
    let mut fed = model.clone();
    fed.process_buffer(&mut loud.to_vec());
    fed.process_buffer(&mut vec![0.0; model.prewarm_samples()]);
    let (mut a, mut b) = (after.to_vec(), after.to_vec());
    warmed.process_buffer(&mut a);
    fed.process_buffer(&mut b);
    assert!(a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()), "prewarm() != feeding the zeros");
    // The LSTM cycles with period 3 under silence: one zero fewer lands elsewhere on the cycle.
    let mut short = model.clone();
    short.process_buffer(&mut loud.to_vec());
    short.process_buffer(&mut vec![0.0; model.prewarm_samples() - 1]);
    let mut c = after.to_vec();
    short.process_buffer(&mut c);
    let gap = a.iter().zip(&c).map(|(p, q)| (p - q).abs()).fold(0.0f32, f32::max);
    assert!(gap > 1e-2, "the prewarm count is not visible in the output (gap {gap:e})");
    let mut reset = warmed.clone();
    reset.process_buffer(&mut loud.to_vec());
    reset.reset();
    let mut d = after.to_vec();
    reset.process_buffer(&mut d);
    assert_eq!(d, model.render(after), "reset() must restore the load-time state");
}

/// `render_parallel` may only split models whose state silence washes out: not a WaveNet whose
/// condition is an LSTM (it renders on one thread, still equal to `render`).
#[test]
fn chunkability_follows_the_condition() {
    let x = input();
    for (name, chunkable) in [
        ("wavenet_lstm_condition", false),
        ("wavenet_container_condition", false),
        ("wavenet_convnet_condition", true),
        ("wavenet_linear_condition", true),
    ] {
        let model = build(&core_model(name)).unwrap();
        assert_eq!(model.is_chunkable(), chunkable, "{name}");
        let long: Vec<f32> = x.iter().cycle().take(8 * 8192).copied().collect();
        let split = model.render_parallel(&long, 4).unwrap();
        assert!(split.iter().zip(model.render(&long)).all(|(p, q)| p.to_bits() == q.to_bits()), "{name}");
    }
}

fn field_error(value: &Value) -> (String, String) {
    match build(value).map(|_| ()).unwrap_err().root().clone() {
        NamError::Format { field, message } => (field, message),
        other => panic!("expected a format error, got {other:?}"),
    }
}

#[test]
fn nested_model_checks_name_the_field() {
    // The condition's output count must equal every array's condition_size (NAM Core throws).
    let mut file = core_model("wavenet_convnet_condition");
    file["config"]["condition_dsp"]["config"]["out_channels"] = json!(1);
    // Head 2×3 + 2 biases become 1×3 + 1: four weights fewer.
    let weights = file["config"]["condition_dsp"]["weights"].as_array_mut().unwrap();
    weights.truncate(weights.len() - 4);
    let (field, message) = field_error(&file);
    assert_eq!(field, "config.layers[0].condition_size");
    assert!(message.contains("expected 1 (the condition_dsp's outputs), got 2"), "{message}");

    // Its input count must equal the model's in_channels.
    let mut file = core_model("wavenet_linear_condition");
    file["config"]["condition_dsp"]["config"]["in_channels"] = json!(2);
    let (field, message) = field_error(&file);
    assert_eq!(field, "config.condition_dsp");
    assert!(message.contains("its 2 input channels must equal the model's in_channels (1)"), "{message}");

    // Errors inside the nested model carry its place in the file.
    let mut file = core_model("wavenet_lstm_condition");
    file["config"]["condition_dsp"]["weights"].as_array_mut().unwrap().pop();
    let (field, message) = field_error(&file);
    assert_eq!(field, "config.condition_dsp.weights");
    assert!(message.contains("needs exactly"), "{message}");

    // Sample rates must agree (NAM Core compares the expected rates, -1 when absent).
    let mut file = core_model("wavenet_lstm_condition");
    file["config"]["condition_dsp"]["sample_rate"] = json!(48_000);
    let (field, message) = field_error(&file);
    assert_eq!(field, "config.condition_dsp");
    assert!(message.contains("48000 Hz") && message.contains("44100 Hz"), "{message}");
}

#[test]
fn nesting_depth_is_limited() {
    let mut file = core_model("wavenet_linear_condition");
    let parent = file.clone();
    for _ in 0..4 {
        let mut outer = parent.clone();
        outer["config"]["condition_dsp"] = file;
        file = outer;
    }
    match build(&file).map(|_| ()).unwrap_err().root() {
        NamError::Limit { what, limit, .. } => {
            assert!(what.contains("condition_dsp nesting depth"), "{what}");
            assert_eq!(*limit, 4);
        }
        other => panic!("expected a limit error, got {other:?}"),
    }
}

/// The steady-state fill behind `reset()` must see silence on every input channel (the model input
/// is also the conditioning signal when there is no condition_dsp): after a reset, a 2-input
/// WaveNet continues exactly like a freshly loaded one.
#[test]
fn reset_of_a_multi_input_wavenet_is_the_start_state() {
    let (_, x) = common::read_npy(&common::fixtures_dir().join("core").join("input_2ch.npy"));
    let (a, b) = (&x[..2 * 1000], &x[2 * 1000..2 * 2000]);
    let fresh = build(&core_model("wavenet_2in_2out")).unwrap();
    let mut used = fresh.clone();
    let mut out = vec![0.0f32; a.len()];
    used.process_interleaved(a, &mut out).unwrap();
    used.reset();
    let mut got = vec![0.0f32; b.len()];
    used.process_interleaved(b, &mut got).unwrap();
    assert_eq!(got, fresh.render_interleaved(b).unwrap());
}
