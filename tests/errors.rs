//! Malformed input, as data: each case is (name, input, the `NamError` variant expected, text the
//! message must contain). Inputs are raw JSON text or a mutation of a tiny valid model built
//! inline, so every case differs from a loadable file in exactly one place.

mod common;

use serde_json::{json, Value};

use nam_rs::{Limits, Model, NamError, NamModel};

// ------------------------------------------------------------------------------------------------
// Base models
// ------------------------------------------------------------------------------------------------

/// Weights of the tiny legacy WaveNet, from the weight order of nam_spec.md §3.2: rechannel
/// C·in = 2; per layer conv C·C·K + C = 10, input mixin C·Dc = 2, layer1x1 C·C + C = 6 (18, two
/// layers: 36); head head_size·C + head_size = 3 (bias); head_scale 1. Total 2 + 36 + 3 + 1.
const WAVENET_WEIGHTS: usize = 42;

/// Tiny LSTM, 1 layer, hidden 2: 4H·(1 + H) + 4H biases + 2H initial state = 24 + 8 + 4, then the
/// head H + 1 = 3.
const LSTM_WEIGHTS: usize = 39;

fn weights(n: usize) -> Vec<f32> {
    // Small distinct values, exactly representable in JSON and float32.
    (0..n).map(|i| ((i % 7) as f32 - 3.0) / 16.0).collect()
}

/// A tiny legacy (0.5.x) WaveNet: 1 array, input 1, condition 1, 2 channels, kernel 2, dilations
/// [1, 2], Tanh, not gated, head 1 with bias, head_scale 0.5.
fn wavenet() -> Value {
    json!({
        "version": "0.5.4",
        "architecture": "WaveNet",
        "config": {
            "layers": [{
                "input_size": 1,
                "condition_size": 1,
                "channels": 2,
                "kernel_size": 2,
                "dilations": [1, 2],
                "activation": "Tanh",
                "gated": false,
                "head_size": 1,
                "head_bias": true
            }],
            "head_scale": 0.5
        },
        "weights": weights(WAVENET_WEIGHTS),
        "sample_rate": 48000
    })
}

fn lstm() -> Value {
    json!({
        "version": "0.5.4",
        "architecture": "LSTM",
        "config": {"input_size": 1, "hidden_size": 2, "num_layers": 1},
        "weights": weights(LSTM_WEIGHTS),
        "sample_rate": 48000
    })
}

fn layer0(v: &mut Value) -> &mut Value {
    &mut v["config"]["layers"][0]
}

/// Removes `key` from the object `v`.
fn remove(v: &mut Value, key: &str) {
    v.as_object_mut().expect("an object").remove(key);
}

fn weight_list(v: &mut Value) -> &mut Vec<Value> {
    v["weights"].as_array_mut().expect("weights is an array")
}

// ------------------------------------------------------------------------------------------------
// The table
// ------------------------------------------------------------------------------------------------

enum Input {
    /// Raw text.
    Text(&'static str),
    /// The tiny WaveNet with one change.
    WaveNet(fn(&mut Value)),
    /// The tiny LSTM with one change.
    Lstm(fn(&mut Value)),
}

impl Input {
    fn text(&self) -> String {
        let mutated = |mut base: Value, f: fn(&mut Value)| {
            f(&mut base);
            base.to_string()
        };
        match self {
            Input::Text(t) => t.to_string(),
            Input::WaveNet(f) => mutated(wavenet(), *f),
            Input::Lstm(f) => mutated(lstm(), *f),
        }
    }
}

enum Expect {
    /// Loads and builds, with this many warnings.
    Loads { warnings: usize },
    /// Fails (in `NamModel::from_json_str` or `Model::from_nam`) with an error `is` accepts, whose
    /// `Display` contains every string.
    Fails { is: fn(&NamError) -> bool, contains: &'static [&'static str] },
}

struct Case {
    name: &'static str,
    input: Input,
    expect: Expect,
}

fn fails(name: &'static str, input: Input, is: fn(&NamError) -> bool, contains: &'static [&'static str]) -> Case {
    Case { name, input, expect: Expect::Fails { is, contains } }
}

fn loads(name: &'static str, input: Input, warnings: usize) -> Case {
    Case { name, input, expect: Expect::Loads { warnings } }
}

use Input::{Lstm, Text, WaveNet};

fn is_json(e: &NamError) -> bool {
    matches!(e, NamError::Json { .. })
}
fn is_format(e: &NamError) -> bool {
    matches!(e, NamError::Format { .. })
}
fn is_version(e: &NamError) -> bool {
    matches!(e, NamError::Version { .. })
}
fn is_weight_count(e: &NamError) -> bool {
    matches!(e, NamError::WeightCount { .. })
}
fn is_limit(e: &NamError) -> bool {
    matches!(e, NamError::Limit { .. })
}

/// A `Format` error naming exactly this field.
macro_rules! format_at {
    ($field:literal) => {
        |e: &NamError| matches!(e, NamError::Format { field, .. } if field == $field)
    };
}

fn cases() -> Vec<Case> {
    vec![
        // --- JSON and top level ---------------------------------------------------------------
        fails(
            "truncated JSON",
            Text(r#"{"version": "0.5.4", "architecture": "WaveN"#),
            is_json,
            &["invalid JSON", "line 1"],
        ),
        fails("empty text", Text(""), is_json, &["invalid JSON"]),
        // (The field of a top-level error is not pinned: today it is "", which displays as ": ...".)
        fails("top level is a list", Text("[1, 2, 3]"), is_format, &["expected an object", "array of 3 items"]),
        fails("top level is a number", Text("42"), is_format, &["expected an object", "42"]),
        fails("missing version", WaveNet(|v| remove(v, "version")), format_at!("version"), &["version", "missing"]),
        fails(
            "missing architecture",
            WaveNet(|v| remove(v, "architecture")),
            format_at!("architecture"),
            &["architecture", "missing"],
        ),
        fails("missing config", WaveNet(|v| remove(v, "config")), format_at!("config"), &["config", "missing"]),
        fails("missing weights", WaveNet(|v| remove(v, "weights")), format_at!("weights"), &["weights", "missing"]),
        fails(
            "config is a list",
            WaveNet(|v| v["config"] = json!([])),
            format_at!("config"),
            &["config", "expected an object"],
        ),
        fails(
            "weights is an object",
            WaveNet(|v| v["weights"] = json!({})),
            format_at!("weights"),
            &["weights", "array"],
        ),
        // --- version --------------------------------------------------------------------------
        fails("version 0.4.9", WaveNet(|v| v["version"] = json!("0.4.9")), is_version, &["0.4.9", "older", "0.5.0"]),
        fails("version 0.8.0", WaveNet(|v| v["version"] = json!("0.8.0")), is_version, &["0.8.0", "newer", "0.7.0"]),
        fails("version 1.0.0", WaveNet(|v| v["version"] = json!("1.0.0")), is_version, &["1.0.0", "newer"]),
        fails("version 0.5", WaveNet(|v| v["version"] = json!("0.5")), is_version, &["\"0.5\"", "MAJOR.MINOR.PATCH"]),
        fails("version abc", WaveNet(|v| v["version"] = json!("abc")), is_version, &["\"abc\"", "MAJOR.MINOR.PATCH"]),
        fails("version 0.5.4.1", WaveNet(|v| v["version"] = json!("0.5.4.1")), is_version, &["0.5.4.1"]),
        fails(
            "version as a number",
            WaveNet(|v| v["version"] = json!(0.5)),
            format_at!("version"),
            &["version", "a string"],
        ),
        loads("version 0.7.1 (newer patch: one warning)", WaveNet(|v| v["version"] = json!("0.7.1")), 1),
        loads("version 0.7.0", WaveNet(|v| v["version"] = json!("0.7.0")), 0),
        loads("version 0.5.0", WaveNet(|v| v["version"] = json!("0.5.0")), 0),
        loads("version 0.6.0", WaveNet(|v| v["version"] = json!("0.6.0")), 0),
        // --- weights --------------------------------------------------------------------------
        fails(
            "one weight too many",
            WaveNet(|v| weight_list(v).push(json!(0.25))),
            |e| matches!(e, NamError::WeightCount { expected: 42, got: 43 }),
            &["42", "43", "too many"],
        ),
        fails(
            "one weight too few",
            WaveNet(|v| drop(weight_list(v).pop())),
            |e| matches!(e, NamError::WeightCount { expected: 42, got: 41 }),
            &["42", "41", "too few"],
        ),
        fails(
            "a string in weights",
            WaveNet(|v| weight_list(v)[3] = json!("0.5")),
            format_at!("weights[3]"),
            &["weights[3]", "string"],
        ),
        fails(
            "null in weights",
            WaveNet(|v| weight_list(v)[5] = Value::Null),
            format_at!("weights[5]"),
            &["weights[5]", "null"],
        ),
        fails(
            "a list in weights",
            WaveNet(|v| weight_list(v)[0] = json!([1])),
            format_at!("weights[0]"),
            &["weights[0]", "array"],
        ),
        fails(
            "1e39 in weights (beyond float32)",
            WaveNet(|v| weight_list(v)[7] = json!(1e39)),
            |e| matches!(e, NamError::NonFiniteWeight { index: 7 }),
            &["weights[7]", "finite"],
        ),
        fails(
            "-1e39 in weights",
            WaveNet(|v| weight_list(v)[41] = json!(-1e39)),
            |e| matches!(e, NamError::NonFiniteWeight { index: 41 }),
            &["weights[41]"],
        ),
        // 1e400 is not even a float64: the JSON parser refuses it.
        fails(
            "1e400 in weights",
            Text(r#"{"version": "0.5.4", "architecture": "LSTM", "config": {}, "weights": [0.5, 1e400]}"#),
            is_json,
            &["invalid JSON", "column"],
        ),
        // --- architecture ---------------------------------------------------------------------
        fails(
            "unknown architecture",
            WaveNet(|v| v["architecture"] = json!("Transformer")),
            format_at!("architecture"),
            &["architecture", "Transformer", "WaveNet"],
        ),
        fails(
            "a WaveNet config read as a ConvNet",
            WaveNet(|v| v["architecture"] = json!("ConvNet")),
            format_at!("config.channels"),
            &["config.channels", "missing"],
        ),
        fails(
            "a WaveNet config read as a Linear",
            WaveNet(|v| v["architecture"] = json!("Linear")),
            format_at!("config.receptive_field"),
            &["config.receptive_field", "missing"],
        ),
        fails(
            "Linear with an unknown implementation",
            Text(
                r#"{"version": "0.5.4", "architecture": "Linear", "weights": [1, 2],
                "config": {"receptive_field": 2, "bias": false, "implementation": "winograd"}}"#,
            ),
            format_at!("config.implementation"),
            &["config.implementation", "winograd", "partitioned_fft"],
        ),
        fails(
            "Linear with one weight too many",
            Text(
                r#"{"version": "0.5.4", "architecture": "Linear", "weights": [1, 2, 3],
                "config": {"receptive_field": 2, "bias": false}}"#,
            ),
            is_weight_count,
            &["3", "2"],
        ),
        fails(
            "ConvNet batchnorm with a negative variance",
            Text(
                r#"{"version": "0.5.4", "architecture": "ConvNet",
                "config": {"channels": 1, "dilations": [1], "batchnorm": true, "activation": "Tanh"},
                "weights": [0.5, 0.5, 0.0, -2.0, 1.0, 0.0, 0.001, 1.0, 0.0]}"#,
            ),
            format_at!("weights (block 0 batchnorm)"),
            &["running_var[0]", "-2"],
        ),
        fails(
            "LSTM input_size different from in_channels",
            Text(
                r#"{"version": "0.5.4", "architecture": "LSTM",
                "config": {"num_layers": 1, "input_size": 2, "hidden_size": 1}, "weights": []}"#,
            ),
            format_at!("config.input_size"),
            &["in_channels = 1", "got 2"],
        ),
        fails(
            "SlimmableContainer without submodels",
            WaveNet(|v| v["architecture"] = json!("SlimmableContainer")),
            is_format,
            &["config.submodels", "missing"],
        ),
        fails(
            "architecture is lower case",
            WaveNet(|v| v["architecture"] = json!("wavenet")),
            format_at!("architecture"),
            &["\"wavenet\""],
        ),
        fails(
            "SlimmableContainer with an empty submodels list",
            WaveNet(|v| {
                v["architecture"] = json!("SlimmableContainer");
                v["config"] = json!({"submodels": []});
            }),
            is_format,
            &["config.submodels", "non-empty"],
        ),
        fails(
            "SlimmableContainer with unsorted max_value",
            WaveNet(|v| {
                let sub = wavenet();
                v["architecture"] = json!("SlimmableContainer");
                v["config"] =
                    json!({"submodels": [{"max_value": 0.8, "model": sub.clone()}, {"max_value": 0.5, "model": sub}]});
            }),
            is_format,
            &["config.submodels[1].max_value", "ascending"],
        ),
        fails(
            "SlimmableContainer whose last max_value is below 1",
            WaveNet(|v| {
                v["architecture"] = json!("SlimmableContainer");
                v["config"] = json!({"submodels": [{"max_value": 0.5, "model": wavenet()}]});
            }),
            is_format,
            &["config.submodels", "at least 1.0"],
        ),
        loads(
            "SlimmableContainer of two WaveNets",
            WaveNet(|v| {
                v["architecture"] = json!("SlimmableContainer");
                v["config"] = json!({"submodels": [{"max_value": 0.5, "model": wavenet()}, {"max_value": 1.0, "model": wavenet()}]});
            }),
            0,
        ),
        // --- WaveNet config -------------------------------------------------------------------
        fails(
            "missing head_scale",
            WaveNet(|v| remove(&mut v["config"], "head_scale")),
            format_at!("config.head_scale"),
            &["config.head_scale", "missing"],
        ),
        fails(
            "empty layers",
            WaveNet(|v| v["config"]["layers"] = json!([])),
            format_at!("config.layers"),
            &["config.layers", "non-empty"],
        ),
        fails(
            "unknown activation",
            WaveNet(|v| layer0(v)["activation"] = json!("Swish")),
            format_at!("config.layers[0].activation"),
            &["config.layers[0].activation", "Swish", "Tanh"],
        ),
        fails(
            "unknown activation in a per-layer list",
            WaveNet(|v| layer0(v)["activation"] = json!(["Tanh", "Gelu"])),
            format_at!("config.layers[0].activation[1]"),
            &["config.layers[0].activation[1]", "Gelu"],
        ),
        fails(
            "unknown activation type in an object",
            WaveNet(|v| layer0(v)["activation"] = json!({"type": "Mish"})),
            format_at!("config.layers[0].activation.type"),
            &["config.layers[0].activation.type", "Mish"],
        ),
        fails(
            "activation list of the wrong length",
            WaveNet(|v| layer0(v)["activation"] = json!(["Tanh", "Tanh", "Tanh"])),
            format_at!("config.layers[0].activation"),
            &["config.layers[0].activation", "2", "3"],
        ),
        fails(
            "channels 0",
            WaveNet(|v| layer0(v)["channels"] = json!(0)),
            format_at!("config.layers[0].channels"),
            &["config.layers[0].channels", "positive integer", "0"],
        ),
        fails(
            "channels -3",
            WaveNet(|v| layer0(v)["channels"] = json!(-3)),
            format_at!("config.layers[0].channels"),
            &["config.layers[0].channels", "-3"],
        ),
        fails(
            "channels \"x\"",
            WaveNet(|v| layer0(v)["channels"] = json!("x")),
            format_at!("config.layers[0].channels"),
            &["config.layers[0].channels", "\"x\""],
        ),
        fails(
            "channels 2.5",
            WaveNet(|v| layer0(v)["channels"] = json!(2.5)),
            format_at!("config.layers[0].channels"),
            &["config.layers[0].channels", "2.5"],
        ),
        // NAM Core's JSON library accepts an integral float where an int is expected.
        loads("channels 2.0", WaveNet(|v| layer0(v)["channels"] = json!(2.0)), 0),
        fails(
            "empty dilations",
            WaveNet(|v| layer0(v)["dilations"] = json!([])),
            format_at!("config.layers[0].dilations"),
            &["config.layers[0].dilations", "non-empty"],
        ),
        fails(
            "dilation 0",
            WaveNet(|v| layer0(v)["dilations"] = json!([1, 0])),
            format_at!("config.layers[0].dilations[1]"),
            &["config.layers[0].dilations[1]", "positive"],
        ),
        fails(
            "kernel_sizes shorter than dilations",
            WaveNet(|v| {
                remove(layer0(v), "kernel_size");
                layer0(v)["kernel_sizes"] = json!([2]);
            }),
            format_at!("config.layers[0].kernel_sizes"),
            &["config.layers[0].kernel_sizes", "2", "1"],
        ),
        fails(
            "both kernel_size and kernel_sizes",
            WaveNet(|v| layer0(v)["kernel_sizes"] = json!([2, 2])),
            format_at!("config.layers[0]"),
            &["config.layers[0]", "kernel_size", "kernel_sizes"],
        ),
        fails(
            "neither kernel_size nor kernel_sizes",
            WaveNet(|v| remove(layer0(v), "kernel_size")),
            format_at!("config.layers[0]"),
            &["config.layers[0]", "kernel_size", "missing"],
        ),
        loads(
            "kernel_sizes instead of kernel_size",
            WaveNet(|v| {
                remove(layer0(v), "kernel_size");
                layer0(v)["kernel_sizes"] = json!([2, 2]);
            }),
            0,
        ),
        fails(
            "gating_mode weird",
            WaveNet(|v| layer0(v)["gating_mode"] = json!("weird")),
            format_at!("config.layers[0].gating_mode"),
            &["config.layers[0].gating_mode", "\"weird\"", "blended"],
        ),
        fails(
            "null secondary activation on a gated layer (NAM Core throws)",
            WaveNet(|v| {
                layer0(v)["gating_mode"] = json!(["none", "gated"]);
                layer0(v)["secondary_activation"] = json!([null, null]);
            }),
            format_at!("config.layers[0].secondary_activation[1]"),
            &["config.layers[0].secondary_activation[1]", "gated or blended", "null"],
        ),
        fails(
            "input_size does not match",
            WaveNet(|v| layer0(v)["input_size"] = json!(2)),
            format_at!("config.layers[0].input_size"),
            &["config.layers[0].input_size", "expected 1", "got 2"],
        ),
        fails(
            "condition_size does not match",
            WaveNet(|v| layer0(v)["condition_size"] = json!(3)),
            format_at!("config.layers[0].condition_size"),
            &["config.layers[0].condition_size", "got 3"],
        ),
        fails(
            "missing head_bias",
            WaveNet(|v| remove(layer0(v), "head_bias")),
            format_at!("config.layers[0].head_bias"),
            &["config.layers[0].head_bias", "missing"],
        ),
        fails(
            "head_size 2 (multi-channel output; the weights no longer fit either)",
            WaveNet(|v| layer0(v)["head_size"] = json!(2)),
            is_weight_count,
            &["45", "42"],
        ),
        // --- sample_rate ----------------------------------------------------------------------
        fails(
            "sample_rate 0",
            WaveNet(|v| v["sample_rate"] = json!(0)),
            format_at!("sample_rate"),
            &["sample_rate", "positive", "0"],
        ),
        fails(
            "sample_rate -1",
            WaveNet(|v| v["sample_rate"] = json!(-1)),
            format_at!("sample_rate"),
            &["sample_rate", "-1"],
        ),
        fails(
            "sample_rate \"x\"",
            WaveNet(|v| v["sample_rate"] = json!("x")),
            format_at!("sample_rate"),
            &["sample_rate", "\"x\""],
        ),
        loads("sample_rate null (unknown)", WaveNet(|v| v["sample_rate"] = Value::Null), 0),
        loads("no sample_rate (unknown)", WaveNet(|v| remove(v, "sample_rate")), 0),
        // --- features this build does not run -------------------------------------------------
        fails(
            "active FiLM adds its weights",
            WaveNet(|v| layer0(v)["conv_pre_film"] = json!({"active": true, "shift": true, "groups": 1})),
            is_weight_count,
            &["58", "42"],
        ),
        fails(
            "FiLM object without active (on by default, adds its weights)",
            WaveNet(|v| layer0(v)["activation_post_film"] = json!({"shift": false})),
            is_weight_count,
            &["50", "42"],
        ),
        loads(
            "inactive FiLMs, as the trainer writes them",
            WaveNet(|v| {
                layer0(v)["conv_pre_film"] = json!({"active": false, "shift": true, "groups": 1});
                layer0(v)["head1x1_post_film"] = json!(false);
            }),
            0,
        ),
        fails(
            "active head1x1 adds its weights",
            WaveNet(|v| layer0(v)["head1x1"] = json!({"active": true, "out_channels": 2, "groups": 1})),
            is_weight_count,
            &["54", "42"],
        ),
        fails(
            "inactive layer1x1 drops its weights",
            WaveNet(|v| layer0(v)["layer1x1"] = json!({"active": false, "groups": 1})),
            is_weight_count,
            &["30", "42"],
        ),
        fails(
            "groups_input 2 halves the conv weights",
            WaveNet(|v| layer0(v)["groups_input"] = json!(2)),
            is_weight_count,
            &["34", "42"],
        ),
        loads(
            "slimmable (channel slicing)",
            WaveNet(|v| {
                layer0(v)["slimmable"] =
                    json!({"method": "slice_channels_uniform", "kwargs": {"allowed_channels": [1, 2]}})
            }),
            0,
        ),
        fails(
            "slimmable with an unknown method",
            WaveNet(|v| layer0(v)["slimmable"] = json!({"method": "boosting"})),
            is_format,
            &["config.layers[0].slimmable.method", "slice_channels_uniform"],
        ),
        fails(
            "slimmable allowed_channels not ending at channels",
            WaveNet(|v| {
                layer0(v)["slimmable"] =
                    json!({"method": "slice_channels_uniform", "kwargs": {"allowed_channels": [1, 3]}})
            }),
            is_format,
            &["allowed_channels", "end at channels (2)"],
        ),
        loads("a WaveNet condition_dsp (mono, same rate)", WaveNet(|v| v["config"]["condition_dsp"] = wavenet()), 0),
        fails(
            "condition_dsp with another sample rate",
            WaveNet(|v| {
                let mut nested = wavenet();
                nested["sample_rate"] = json!(44100);
                v["config"]["condition_dsp"] = nested;
            }),
            is_format,
            &["config.condition_dsp", "44100", "sample_rate"],
        ),
        fails(
            "groups that do not divide the channels",
            WaveNet(|v| layer0(v)["groups_input"] = json!(3)),
            is_format,
            &["config.layers[0].groups_input", "3 groups"],
        ),
        fails(
            "post-stack head adds its weights",
            WaveNet(|v| {
                v["config"]["head"] =
                    json!({"channels": 2, "out_channels": 1, "kernel_sizes": [1], "activation": "Tanh"})
            }),
            is_weight_count,
            &["44", "42"],
        ),
        fails(
            "in_channels 2 without a matching input_size",
            WaveNet(|v| v["config"]["in_channels"] = json!(2)),
            is_format,
            &["config.layers[0].input_size", "expected 2"],
        ),
        // --- LSTM -----------------------------------------------------------------------------
        fails(
            "LSTM hidden_size 0",
            Lstm(|v| v["config"]["hidden_size"] = json!(0)),
            format_at!("config.hidden_size"),
            &["config.hidden_size", "positive"],
        ),
        fails(
            "LSTM one weight too few",
            Lstm(|v| drop(weight_list(v).pop())),
            |e| matches!(e, NamError::WeightCount { expected: 39, got: 38 }),
            &["39", "38", "too few"],
        ),
        fails(
            "LSTM one weight too many",
            Lstm(|v| weight_list(v).push(json!(0.0))),
            |e| matches!(e, NamError::WeightCount { expected: 39, got: 40 }),
            &["39", "40", "too many"],
        ),
        fails(
            "LSTM missing num_layers",
            Lstm(|v| remove(&mut v["config"], "num_layers")),
            format_at!("config.num_layers"),
            &["config.num_layers", "missing"],
        ),
        // NAM Core runs a zero-layer LSTM (input passed through) but still reads its head: H + 1 weights.
        fails(
            "LSTM num_layers 0 with the weights of one layer",
            Lstm(|v| v["config"]["num_layers"] = json!(0)),
            is_weight_count,
            &["exactly 3 weights", "has 39"],
        ),
        fails(
            "LSTM input_size 2",
            Lstm(|v| v["config"]["input_size"] = json!(2)),
            format_at!("config.input_size"),
            &["config.input_size", "got 2"],
        ),
        // --- limits: refused before anything is allocated -------------------------------------
        fails(
            "dilation 10^15",
            WaveNet(|v| layer0(v)["dilations"] = json!([1, 1_000_000_000_000_000u64])),
            |e| matches!(e, NamError::Limit { got: 1_000_000_000_000_002, .. }),
            &["receptive field", "1000000000000002", "4194304"],
        ),
        fails(
            "dilation overflowing the receptive field",
            WaveNet(|v| {
                layer0(v)["kernel_size"] = json!(3);
                layer0(v)["dilations"] = json!([1, u64::MAX]);
            }),
            format_at!("config.layers[0].dilations[1]"),
            &["config.layers[0].dilations[1]", "overflow"],
        ),
        fails(
            "channels 100000",
            WaveNet(|v| layer0(v)["channels"] = json!(100_000)),
            |e| matches!(e, NamError::Limit { limit: 1024, got: 100_000, .. }),
            &["config.layers[0].channels", "100000", "1024"],
        ),
        fails(
            "kernel_size 5000",
            WaveNet(|v| layer0(v)["kernel_size"] = json!(5000)),
            |e| matches!(e, NamError::Limit { limit: 1024, got: 5000, .. }),
            &["kernel", "5000"],
        ),
        fails(
            "LSTM hidden_size 100000",
            Lstm(|v| v["config"]["hidden_size"] = json!(100_000)),
            |e| matches!(e, NamError::Limit { got: 100_000, .. }),
            &["hidden_size", "100000"],
        ),
        fails(
            "LSTM num_layers 10^12",
            Lstm(|v| v["config"]["num_layers"] = json!(1_000_000_000_000u64)),
            is_limit,
            &["num_layers", "1000000000000"],
        ),
        // --- encoding -------------------------------------------------------------------------
        loads("the base WaveNet", WaveNet(|_| ()), 0),
        loads("the base LSTM", Lstm(|_| ()), 0),
    ]
}

/// Parses and builds; the first error wins.
fn load(text: &str) -> Result<(NamModel, Model), NamError> {
    let nam = NamModel::from_json_str(text)?;
    let model = Model::from_nam(&nam)?;
    Ok((nam, model))
}

#[test]
fn malformed_inputs_fail_with_the_right_error() {
    let mut failures = Vec::new();
    let cases = cases();
    for case in &cases {
        let text = case.input.text();
        let result = load(&text);
        match (&case.expect, result) {
            (Expect::Loads { warnings }, Ok((nam, _))) => {
                if nam.warnings().len() != *warnings {
                    failures.push(format!("{}: expected {warnings} warning(s), got {:?}", case.name, nam.warnings()));
                }
            }
            (Expect::Loads { .. }, Err(e)) => {
                failures.push(format!("{}: expected to load, got {e:?} ({e})", case.name))
            }
            (Expect::Fails { .. }, Ok(_)) => failures.push(format!("{}: expected an error, but it loaded", case.name)),
            (Expect::Fails { is, contains }, Err(e)) => {
                let shown = e.to_string();
                eprintln!("{:48} {shown}", case.name);
                if !is(e.root()) {
                    failures.push(format!("{}: wrong error {e:?} (\"{shown}\")", case.name));
                }
                for want in *contains {
                    if !shown.contains(want) {
                        failures.push(format!("{}: message \"{shown}\" does not contain {want:?}", case.name));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn the_base_models_have_the_weight_counts_of_the_spec() {
    // If this fails, the mutation cases above test the wrong thing.
    let (nam, model) = load(&wavenet().to_string()).expect("base WaveNet loads");
    assert_eq!(nam.weights.len(), WAVENET_WEIGHTS);
    assert_eq!(model.receptive_field(), 4, "1 + (2-1)·1 + (2-1)·2");
    let (nam, model) = load(&lstm().to_string()).expect("base LSTM loads");
    assert_eq!(nam.weights.len(), LSTM_WEIGHTS);
    assert_eq!(model.architecture(), "LSTM");
}

#[test]
fn utf8_bom_before_valid_json_is_accepted() {
    let text = format!("\u{FEFF}{}", wavenet());
    let (nam, _) = load(&text).expect("BOM + valid JSON loads");
    assert_eq!(nam.weights.len(), WAVENET_WEIGHTS);

    let path = std::env::temp_dir().join(format!("nam_rs_errors_bom_{}.nam", std::process::id()));
    std::fs::write(&path, text.as_bytes()).expect("write temp file");
    let result = NamModel::from_file(&path);
    let _ = std::fs::remove_file(&path);
    let nam = result.expect("BOM file loads");
    Model::from_nam(&nam).expect("BOM file builds");
}

#[test]
fn non_utf8_bytes_are_a_json_error() {
    let err = NamModel::from_slice_with_limits(b"\xff\xfe{}", &Limits::default()).expect_err("not UTF-8");
    assert!(matches!(err, NamError::Json { .. }), "{err:?}");
}

#[test]
fn json_size_limit_is_checked_before_parsing() {
    let limits = Limits { max_json_bytes: 100, ..Limits::default() };
    let text = wavenet().to_string();
    let err = NamModel::from_slice_with_limits(text.as_bytes(), &limits).expect_err("too big");
    assert!(matches!(err, NamError::Limit { limit: 100, .. }), "{err:?}");
    let shown = err.to_string();
    assert!(shown.contains("100") && shown.contains(&text.len().to_string()), "{shown}");
}

#[test]
fn missing_file_is_an_io_not_found_error() {
    let path = common::repo_dir().join("tests").join("no_such_dir").join("missing.nam");
    let err = NamModel::from_file(&path).expect_err("missing file");
    match &err {
        NamError::Io { kind, path: shown, .. } => {
            assert_eq!(*kind, std::io::ErrorKind::NotFound);
            assert!(shown.contains("missing.nam"), "{shown}");
        }
        other => panic!("expected Io, got {other:?}"),
    }
    assert!(err.to_string().contains("missing.nam"), "{err}");
    assert!(std::ptr::eq(err.root(), &err), "an Io error is not wrapped in InFile");
}

#[test]
fn errors_in_a_file_name_the_file() {
    let mut model = wavenet();
    weight_list(&mut model).push(json!(0.0));
    let path = std::env::temp_dir().join(format!("nam_rs_errors_count_{}.nam", std::process::id()));
    std::fs::write(&path, model.to_string()).expect("write temp file");
    let result = NamModel::from_file(&path);
    let _ = std::fs::remove_file(&path);
    // The count is checked when the model is built, so the file itself parses.
    let nam = result.expect("file-level parse");
    let err = Model::from_nam(&nam).expect_err("43 weights");
    assert!(matches!(err, NamError::WeightCount { expected: 42, got: 43 }), "{err:?}");

    // A file-level error (here: a bad version) is wrapped in InFile, which names the file.
    let mut model = wavenet();
    model["version"] = json!("0.9.0");
    std::fs::write(&path, model.to_string()).expect("write temp file");
    let result = NamModel::from_file(&path);
    let _ = std::fs::remove_file(&path);
    let err = result.expect_err("bad version");
    match &err {
        NamError::InFile { path: shown, .. } => assert!(shown.contains("nam_rs_errors_count_"), "{shown}"),
        other => panic!("expected InFile, got {other:?}"),
    }
    assert!(matches!(err.root(), NamError::Version { .. }), "{err:?}");
    let shown = err.to_string();
    assert!(shown.contains("nam_rs_errors_count_") && shown.contains("0.9.0"), "{shown}");
    assert!(std::error::Error::source(&err).is_some(), "InFile exposes its cause");
}

#[test]
fn process_with_different_lengths_is_a_buffer_error() {
    let (_, mut model) = load(&wavenet().to_string()).expect("base WaveNet loads");
    let input = [0.1f32; 4];
    let mut output = [0.0f32; 5];
    let err = model.process(&input, &mut output).expect_err("4 in, 5 out");
    assert!(matches!(err, NamError::Buffer { .. }), "{err:?}");
    let shown = err.to_string();
    assert!(shown.contains('4') && shown.contains('5'), "{shown}");
    assert_eq!(output, [0.0; 5], "nothing is written on error");
    // Same lengths (including empty) work.
    model.process(&input, &mut output[..4]).expect("4 and 4");
    model.process(&[], &mut []).expect("empty");
    let err = model.render_into(&input, &mut output).expect_err("render_into 4 in, 5 out");
    assert!(matches!(err, NamError::Buffer { .. }), "{err:?}");
}

/// A hostile LSTM file must not hang or crash the loader through its `sample_rate`: the load-time
/// prewarm is floor(rate / 2) zeros rounded up to 64, so the rate has to be bounded (or the
/// arithmetic checked) before that loop runs. Each load gets 2 s on its own thread.
#[test]
fn lstm_with_an_absurd_sample_rate_is_refused_or_loads_quickly() {
    for rate in [1e300, 1e12] {
        let mut model = lstm();
        model["sample_rate"] = json!(rate);
        let text = model.to_string();
        let (send, receive) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = send.send(load(&text).map(|(_, m)| m.prewarm_samples()));
        });
        match receive.recv_timeout(std::time::Duration::from_secs(2)) {
            Ok(Ok(samples)) => assert!(samples >= 64, "sample_rate {rate:e}: loaded with {samples} prewarm samples"),
            Ok(Err(_refused)) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("sample_rate {rate:e}: still loading after 2 s"),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => panic!("sample_rate {rate:e}: the loader panicked"),
        }
    }
}
