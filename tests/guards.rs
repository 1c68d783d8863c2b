//! What happens at the model's edges: non-finite and huge input, the cross-thread slimmable
//! control with crossfades, and parallel offline rendering.

mod common;

use nam_rs::{Model, NamModel, MAX_INPUT};

fn fixture(name: &str) -> (serde_json::Value, Model) {
    let path = common::fixtures_dir().join("models").join(format!("{name}.nam"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let nam = NamModel::from_json_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let model = Model::from_nam(&nam).unwrap_or_else(|e| panic!("{e}"));
    (serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}")), model)
}

fn fixture_input() -> Vec<f32> {
    common::read_npy(&common::fixtures_dir().join("input.npy")).1
}

fn expected(name: &str) -> Vec<f32> {
    common::read_npy(&common::fixtures_dir().join("expected").join(format!("{name}.npy"))).1
}

fn signal(n: usize) -> Vec<f32> {
    (0..n).map(|i| 0.6 * (i as f32 * 0.031).sin() * (1.0 + 0.5 * (i as f32 * 0.0007).sin())).collect()
}

/// NaN/inf samples are processed as zeros, immediately and exactly, and counted; the model is not
/// poisoned (an LSTM keeps its state finite).
#[test]
fn non_finite_input_is_processed_as_zero_and_counted() {
    for name in ["wavenet_standard", "lstm_1x8", "convnet_batchnorm", "linear_long"] {
        let (_, model) = fixture(name);
        let x = signal(6000);
        let mut bad = x.clone();
        let mut zeroed = x.clone();
        for (k, i) in (1000..1064).chain([3001, 4500]).enumerate() {
            bad[i] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][k % 3];
            zeroed[i] = 0.0;
        }
        let expected = model.render(&zeroed);
        let mut m = model.clone();
        let mut y = bad.clone();
        for chunk in y.chunks_mut(100) {
            m.process_buffer(chunk);
        }
        assert_eq!(y, expected, "{name}");
        assert_eq!(m.nonfinite_count(), 66, "{name}");
        // The same through the interleaved and planar entry points.
        let mut m = model.clone();
        let mut out = vec![0.0; bad.len()];
        m.process_interleaved(&bad, &mut out).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out, expected, "{name} interleaved");
        let mut m = model.clone();
        m.process_channels(&[&bad], &mut [&mut out]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out, expected, "{name} planar");
        assert_eq!(m.nonfinite_count(), 66);
    }
}

/// Huge finite samples are clamped to ±MAX_INPUT (output finite); denormals pass through.
#[test]
fn huge_and_denormal_input() {
    for name in ["wavenet_standard", "lstm_1x16", "convnet_plain", "linear_short"] {
        let (_, model) = fixture(name);
        let mut x = signal(3000);
        let mut clamped = x.clone();
        for i in (500..520).step_by(3) {
            x[i] = if i % 2 == 0 { 1e30 } else { -1e30 };
            clamped[i] = if i % 2 == 0 { MAX_INPUT } else { -MAX_INPUT };
        }
        for v in &mut x[2000..2100] {
            *v = f32::from_bits(1); // the smallest denormal
        }
        clamped[2000..2100].copy_from_slice(&x[2000..2100]);
        let y = model.render(&x);
        assert!(y.iter().all(|v| v.is_finite()), "{name}: non-finite output");
        assert_eq!(y, model.render(&clamped), "{name}");
    }
}

fn container(lite: &serde_json::Value, full: &serde_json::Value) -> Model {
    let doc = serde_json::json!({
        "version": "0.7.0", "architecture": "SlimmableContainer", "sample_rate": 48000, "weights": [],
        "config": {"submodels": [{"max_value": 0.5, "model": lite}, {"max_value": 1.0, "model": full}]}
    });
    let nam = NamModel::from_json_str(&doc.to_string()).unwrap_or_else(|e| panic!("{e}"));
    Model::from_nam(&nam).unwrap_or_else(|e| panic!("{e}"))
}

/// A size set from another thread through the lock-free control is applied at the next call; the
/// newly selected sub-model starts from its prewarmed state (the trainer's expected output).
#[test]
fn slimmable_size_from_another_thread() {
    let (nano_json, _) = fixture("wavenet_nano");
    let (lstm_json, _) = fixture("lstm_1x8");
    let mut model = container(&nano_json, &lstm_json);
    let input = fixture_input();
    let mut y = input[..500].to_vec();
    model.process_buffer(&mut y);
    let control = model.slimmable_control();
    std::thread::spawn(move || control.set(0.25)).join().unwrap_or_else(|_| panic!("setter thread"));
    assert_eq!(model.slimmable_size(), Some(1.0), "applied at the next call, not before");
    let mut y = input.clone();
    model.process_buffer(&mut y);
    assert_eq!(model.slimmable_size(), Some(0.25));
    common::assert_parity("nano after a cross-thread switch", &y, &expected("wavenet_nano"));
}

/// With a crossfade, the old sub-model keeps running and fades out linearly while the new one
/// fades in; the result does not depend on the block size.
#[test]
fn slimmable_crossfade_is_linear_and_block_independent() {
    let (nano_json, nano) = fixture("wavenet_nano");
    let (lstm_json, _) = fixture("lstm_1x8");
    let input = fixture_input();
    let (switch_at, fade) = (3000, 1000);
    let run = |block: usize| {
        let mut model = container(&nano_json, &lstm_json);
        model.set_slimmable_crossfade(fade).unwrap_or_else(|e| panic!("{e}"));
        let mut y = input.clone();
        for chunk in y[..switch_at].chunks_mut(block) {
            model.process_buffer(chunk);
        }
        model.set_slimmable_size(0.1).unwrap_or_else(|e| panic!("{e}"));
        for chunk in y[switch_at..].chunks_mut(block) {
            model.process_buffer(chunk);
        }
        y
    };
    let y = run(64);
    assert_eq!(y, run(1), "block size changed the crossfade");
    assert_eq!(y, run(777), "block size changed the crossfade");
    let old = expected("lstm_1x8");
    let new = nano.render(&input[switch_at..]);
    for i in 0..(input.len() - switch_at) {
        let g = ((i + 1) as f32 / fade as f32).min(1.0);
        let want = old[switch_at + i] + g * (new[i] - old[switch_at + i]);
        assert!((y[switch_at + i] - want).abs() <= 1e-6, "sample {}: {} vs {want}", switch_at + i, y[switch_at + i]);
    }
    common::assert_parity("before the switch", &y[..switch_at], &old[..switch_at]);
}

/// Parallel rendering gives the single-thread result bit for bit.
#[test]
fn parallel_render_is_bit_identical() {
    let x = signal(60_000);
    for name in ["wavenet_standard", "wavenet_a2_condition_dsp", "convnet_batchnorm", "linear_short", "lstm_1x8"] {
        let (_, model) = fixture(name);
        let one = model.render_interleaved(&x).unwrap_or_else(|e| panic!("{e}"));
        for threads in [2, 3] {
            let many = model.render_parallel(&x, threads).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(many, one, "{name} with {threads} threads");
        }
    }
}
