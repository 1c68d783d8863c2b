//! A fuzzer-built *valid* WaveNet or LSTM (config from the fuzz data, weights from a seeded
//! generator) processes hostile audio (NaN, ±Inf, denormals, ±1e30, arbitrary bit patterns) in a
//! random block split. Checks: the loader accepts every valid config (only the weight count is
//! left for it to tell us), nothing panics, the split output is bit-identical to one block and to
//! `render`, `reset` gives the start state back, and modest weights on finite input stay finite.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use nam_rs::{Model, NamError, NamModel};
use serde_json::{json, Value};

#[derive(Arbitrary, Debug)]
enum Sample {
    Audio(i16),
    Zero,
    Nan,
    Inf,
    NegInf,
    Denormal(u16),
    Huge(bool),
    Bits(u32),
}

impl Sample {
    fn value(&self) -> f32 {
        match *self {
            Sample::Audio(v) => f32::from(v) / 32768.0,
            Sample::Zero => 0.0,
            Sample::Nan => f32::NAN,
            Sample::Inf => f32::INFINITY,
            Sample::NegInf => f32::NEG_INFINITY,
            Sample::Denormal(m) => f32::from_bits(u32::from(m) + 1),
            Sample::Huge(negative) => {
                if negative {
                    -1e30
                } else {
                    1e30
                }
            }
            Sample::Bits(b) => f32::from_bits(b),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Layer {
    kernel: u8,
    dilation: u8,
    activation: u8,
    gating: u8,
}

#[derive(Arbitrary, Debug)]
struct Array {
    channels: u8,
    bottleneck: u8,
    layers: Vec<Layer>,
    head_kernel: u8,
    head_bias: bool,
    head1x1: Option<u8>,
    layer1x1: bool,
    films: u8,
    film_shift: bool,
    groups: u8,
}

#[derive(Arbitrary, Debug)]
enum Arch {
    WaveNet { arrays: Vec<Array>, last_head: u8, post_head: Option<(u8, Vec<u8>, u8)> },
    Lstm { layers: u8, hidden: u8 },
}

#[derive(Arbitrary, Debug)]
struct Case {
    arch: Arch,
    sample_rate: u8,
    weight_seed: u64,
    weight_scale: u8,
    audio: Vec<Sample>,
    length: u16,
    splits: Vec<u16>,
}

const ACTIVATIONS: usize = 12;

fn activation(i: u8) -> Value {
    match usize::from(i) % ACTIVATIONS {
        0 => json!("Tanh"),
        1 => json!({"type": "Fasttanh"}),
        2 => json!("Hardtanh"),
        3 => json!("ReLU"),
        4 => json!({"type": "LeakyReLU", "negative_slope": 0.2}),
        5 => json!({"type": "PReLU", "negative_slope": 0.05}),
        6 => json!("Sigmoid"),
        7 => json!("SiLU"),
        8 => json!("Hardswish"),
        9 => json!({"type": "LeakyHardtanh", "min_val": -0.5, "max_val": 2.0, "min_slope": 0.1, "max_slope": 0.02}),
        10 => json!("Softsign"),
        _ => json!({"type": "LeakyReLU"}),
    }
}

const FILMS: [&str; 8] = [
    "conv_pre_film",
    "conv_post_film",
    "input_mixin_pre_film",
    "input_mixin_post_film",
    "activation_pre_film",
    "activation_post_film",
    "layer1x1_post_film",
    "head1x1_post_film",
];

/// One layer array in the trainer's 0.7.0 form; `head_size` is set by the caller.
fn array_config(a: &Array, input_size: usize) -> (Value, usize) {
    let c = 1 + usize::from(a.channels) % 8;
    let b = if a.layer1x1 { 1 + usize::from(a.bottleneck) % c } else { c };
    let mut layers: Vec<&Layer> = a.layers.iter().take(4).collect();
    let default = Layer { kernel: 2, dilation: 1, activation: 0, gating: 0 };
    if layers.is_empty() {
        layers.push(&default);
    }
    let gating: Vec<&str> = layers.iter().map(|l| ["none", "gated", "blended"][usize::from(l.gating) % 3]).collect();
    let max_rows = if gating.iter().any(|g| *g != "none") { 2 * b } else { b };
    let groups = if a.groups % 2 == 1 && c % 2 == 0 && b % 2 == 0 && max_rows % 2 == 0 { 2 } else { 1 };
    let head_input = a.head1x1.map_or(b, |o| 1 + usize::from(o) % 4);
    let mut obj = json!({
        "input_size": input_size,
        "condition_size": 1,
        "channels": c,
        "bottleneck": b,
        "kernel_sizes": layers.iter().map(|l| 1 + l.kernel % 4).collect::<Vec<_>>(),
        "dilations": layers.iter().map(|l| 1 + l.dilation % 16).collect::<Vec<_>>(),
        "activation": layers.iter().map(|l| activation(l.activation)).collect::<Vec<_>>(),
        "gating_mode": gating,
        "secondary_activation": layers.iter().map(|l| activation(l.activation / 16)).collect::<Vec<_>>(),
        "head": {"out_channels": 1, "kernel_size": 1 + a.head_kernel % 3, "bias": a.head_bias},
        "layer1x1": {"active": a.layer1x1, "groups": 1},
        "head1x1": {"active": a.head1x1.is_some(), "out_channels": head_input, "groups": 1},
        "groups_input": groups,
        "groups_input_mixin": 1,
    });
    for (site, key) in FILMS.iter().enumerate() {
        let allowed = match site {
            6 => a.layer1x1,
            7 => a.head1x1.is_some(),
            _ => true,
        };
        let active = allowed && a.films & (1 << site) != 0;
        obj[*key] = json!({"active": active, "shift": a.film_shift, "groups": 1});
    }
    (obj, head_input)
}

fn wavenet(arrays: &[Array], last_head: u8, post_head: &Option<(u8, Vec<u8>, u8)>) -> Value {
    let mut configs: Vec<(Value, usize, usize)> = Vec::new();
    let mut input = 1;
    for a in arrays.iter().take(3) {
        let (cfg, head_input) = array_config(a, input);
        input = cfg["channels"].as_u64().unwrap_or(1) as usize;
        configs.push((cfg, head_input, input));
    }
    if configs.is_empty() {
        let a = Array {
            channels: 2,
            bottleneck: 2,
            layers: Vec::new(),
            head_kernel: 0,
            head_bias: true,
            head1x1: None,
            layer1x1: true,
            films: 0,
            film_shift: false,
            groups: 0,
        };
        let (cfg, head_input) = array_config(&a, 1);
        configs.push((cfg, head_input, 2));
    }
    // Array i's head input must equal array i-1's head size (NAM Core copies those rows).
    for i in 1..configs.len() {
        let rows = configs[i].1;
        configs[i - 1].0["head"]["out_channels"] = json!(rows);
    }
    let last = configs.len() - 1;
    let head = match post_head {
        None => Value::Null,
        Some((channels, kernels, act)) => {
            configs[last].0["head"]["out_channels"] = json!(1 + usize::from(last_head) % 3);
            let ks: Vec<u8> = kernels.iter().take(3).map(|k| 1 + k % 3).collect();
            let ks = if ks.is_empty() { vec![1] } else { ks };
            json!({"channels": 1 + channels % 4, "out_channels": 1, "kernel_sizes": ks, "activation": activation(*act)})
        }
    };
    json!({
        "layers": configs.into_iter().map(|c| c.0).collect::<Vec<_>>(),
        "head": head,
        "head_scale": 0.5,
    })
}

/// xorshift64*: deterministic weights from the seed, uniform in [-scale, scale].
fn weights(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            let u = (s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32;
            (2.0 * u - 1.0) * scale
        })
        .collect()
}

fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn assert_same(what: &str, got: &[f32], expected: &[f32]) {
    if let Some(i) = got.iter().zip(expected).position(|(g, e)| !same(*g, *e)) {
        panic!("{what}: sample {i} is {} but one block gives {}", got[i], expected[i]);
    }
}

fuzz_target!(|case: Case| {
    let (architecture, config) = match &case.arch {
        Arch::WaveNet { arrays, last_head, post_head } => ("WaveNet", wavenet(arrays, *last_head, post_head)),
        Arch::Lstm { layers, hidden } => {
            ("LSTM", json!({"num_layers": 1 + layers % 3, "input_size": 1, "hidden_size": 1 + hidden % 16}))
        }
    };
    // Low or unknown rates keep the LSTM's load-time prewarm (half a second) short.
    let rate = [Value::Null, json!(100.0), json!(1000.0)][usize::from(case.sample_rate) % 3].clone();
    let mut file = json!({"version": "0.7.0", "architecture": architecture, "config": config, "weights": []});
    if !rate.is_null() {
        file["sample_rate"] = rate;
    }
    // The loader tells us how many weights this (valid) config needs; anything else is a bug.
    let empty = NamModel::from_json_str(&file.to_string()).expect("the generated file parses");
    let expected = match Model::from_nam(&empty) {
        Err(NamError::WeightCount { expected, .. }) => expected,
        other => panic!("a valid config was refused for something other than its weights: {other:?}\n{file}"),
    };
    let scale = [0.05f32, 0.3, 1.0, 4.0][usize::from(case.weight_scale) % 4];
    file["weights"] = json!(weights(expected, case.weight_seed, scale));
    let nam = NamModel::from_json_str(&file.to_string()).expect("parses");
    let model = Model::from_nam(&nam).unwrap_or_else(|e| panic!("the generated model does not load: {e}\n{file}"));

    let n = usize::from(case.length) % 3000;
    let pattern: Vec<f32> = case.audio.iter().map(Sample::value).collect();
    let audio: Vec<f32> =
        if pattern.is_empty() { vec![0.0; n] } else { pattern.iter().copied().cycle().take(n).collect() };

    let mut whole = audio.clone();
    let mut one_block = model.clone();
    one_block.process_buffer(&mut whole);

    let mut split = model.clone();
    let mut streamed = audio.clone();
    let mut at = 0;
    let mut sizes = case.splits.iter().cycle();
    while at < n {
        let size = sizes.next().map_or(n, |s| 1 + usize::from(*s) % 700).min(n - at);
        split.process_buffer(&mut streamed[at..at + size]);
        at += size;
    }
    assert_same("block split", &streamed, &whole);
    assert_same("render", &model.render(&audio), &whole);

    split.reset();
    let mut again = audio.clone();
    split.process_buffer(&mut again);
    assert_same("after reset", &again, &whole);

    let modest_input = audio.iter().all(|x| x.is_finite() && x.abs() <= 1.0);
    if modest_input && scale <= 0.3 {
        if let Some(i) = whole.iter().position(|y| !y.is_finite()) {
            panic!("finite input and weights within ±{scale} gave {} at sample {i}\n{file}", whole[i]);
        }
    }
});
