//! Host rate ≠ model rate: the dilation trick (`nam_rs::dilate`, `LoadOptions::rate_multiplier`)
//! and the streaming resampler (`HostRateModel`).
//!
//! Oracles: with every dilation multiplied by N, each polyphase component of the host stream is
//! processed independently, so `y_host[p::N]` must equal the original model run on `x_host[p::N]`;
//! a single-tap identity model through the resampler must return its input, band-limited below
//! 19 kHz, delayed by exactly the reported latency (checked on sums of sines, whose delayed value is
//! known analytically). The tolerance, 1e-5 for a sine (3e-5 for noise, see there), is float32
//! rounding plus the filters' passband ripple; a delay error of 0.01 sample already gives 7e-4 on
//! the 1 kHz sine and 3e-2 on the noise.

mod common;

use nam_rs::{HostRateModel, LoadOptions, Model, NamError, NamModel, RateConversion};

fn fixture(name: &str) -> NamModel {
    NamModel::from_file(common::fixtures_dir().join("models").join(format!("{name}.nam"))).expect("fixture loads")
}

/// A bounded signal with content over the whole band (deterministic LCG noise plus a sine).
fn signal(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed;
    (0..n)
        .map(|i| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let noise = ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0;
            0.4 * noise + 0.3 * (i as f32 * 0.031).sin()
        })
        .collect()
}

/// The polyphase oracle; returns the worst |Δ| over all phases.
fn polyphase_error(name: &str, factor: usize) -> f32 {
    polyphase_error_of(name, &fixture(name), factor)
}

fn polyphase_error_of(name: &str, nam: &NamModel, factor: usize) -> f32 {
    let original = Model::from_nam(nam).expect("builds");
    let options = LoadOptions { rate_multiplier: Some(factor), ..LoadOptions::default() };
    let dilated = Model::from_nam_with(nam, &options).expect("dilated model builds");
    assert_eq!(
        dilated.receptive_field(),
        (original.receptive_field() - 1) * factor + 1,
        "{name}: receptive field scales"
    );
    let x = signal(1500 * factor, 7);
    let y = dilated.render(&x);
    let mut worst = 0.0f32;
    for phase in 0..factor {
        let xp: Vec<f32> = x.iter().skip(phase).step_by(factor).copied().collect();
        let expected = original.render(&xp);
        for (got, want) in y.iter().skip(phase).step_by(factor).zip(&expected) {
            worst = worst.max((got - want).abs());
        }
    }
    worst
}

#[test]
fn dilation_is_exact_per_polyphase_component() {
    // Exactly equal where the kernels do the same arithmetic; a stuffed Linear may switch kernel
    // (direct ↔ FFT) or dot-product grouping, hence 1e-6.
    let cases = [
        "wavenet_standard",
        "wavenet_a2_film",
        "wavenet_a2_groups",
        "wavenet_a2_head1x1",
        "wavenet_head_k3",
        "wavenet_a2_condition_dsp",
        "wavenet_gated_legacy",
        "convnet_batchnorm",
        "convnet_plain",
        "linear_short",
        "linear_long",
    ];
    for name in cases {
        for factor in [2, 3] {
            let worst = polyphase_error(name, factor);
            assert!(worst <= 1e-6, "{name} ×{factor}: y_host[p::N] differs from the model on x[p::N] by {worst}");
        }
    }
}

#[test]
fn dilation_is_exact_for_containers_and_slimmable_wavenets() {
    let Some(dir) = common::reference_dir() else {
        eprintln!("skipped: ../shared/reference (NAM Core's example models) is not present");
        return;
    };
    let load = |name: &str| NamModel::from_file(dir.join("models").join(format!("{name}.nam"))).expect("reference");
    for name in ["A2", "slimmable_wavenet", "wavenet_condition_dsp", "wavenet_a2_max"] {
        let worst = polyphase_error_of(name, &load(name), 2);
        assert!(worst <= 1e-6, "{name} ×2: y_host[p::N] differs from the model on x[p::N] by {worst}");
    }
    // A container is only as dilatable as its sub-models: this one holds an LSTM.
    let why = nam_rs::dilation_blocker(&load("slimmable_container")).expect("an LSTM sub-model");
    assert!(why.contains("LSTM"), "{why}");
}

#[test]
fn dilation_refuses_what_it_cannot_run() {
    for name in ["lstm_1x8", "wavenet_post_head"] {
        let nam = fixture(name);
        let why = nam_rs::dilation_blocker(&nam).expect("a reason");
        let options = LoadOptions { rate_multiplier: Some(2), ..LoadOptions::default() };
        match Model::from_nam_with(&nam, &options) {
            Err(NamError::Unsupported { feature }) => assert!(feature.contains(&why), "{name}: {feature}"),
            other => panic!("{name}: expected Unsupported, got {other:?}"),
        }
    }
    assert!(nam_rs::dilation_blocker(&fixture("wavenet_standard")).is_none());
}

#[test]
fn host_rate_model_picks_the_path() {
    let wavenet = fixture("wavenet_standard");
    let lstm = fixture("lstm_1x8");
    let options = LoadOptions::default();
    let pick = |nam: &NamModel, rate: f64| HostRateModel::new(nam, &options, rate).expect("builds");
    assert_eq!(pick(&wavenet, 48_000.0).rate_conversion(), RateConversion::None);
    assert_eq!(pick(&wavenet, 96_000.0).rate_conversion(), RateConversion::Dilation(2));
    assert_eq!(pick(&wavenet, 144_000.0).rate_conversion(), RateConversion::Dilation(3));
    assert_eq!(pick(&wavenet, 44_100.0).rate_conversion(), RateConversion::Resample);
    assert_eq!(pick(&wavenet, 24_000.0).rate_conversion(), RateConversion::Resample);
    assert_eq!(pick(&lstm, 96_000.0).rate_conversion(), RateConversion::Resample);
    assert_eq!(pick(&wavenet, 96_000.0).latency(), 0);
    // Low latency: at most 3 ms at the common rates (the delay itself is checked exactly below).
    for (model, host) in [(&wavenet, 44_100.0), (&lstm, 96_000.0), (&wavenet, 88_200.0)] {
        let latency = pick(model, host).latency();
        assert!(latency > 0 && latency as f64 <= 0.003 * host, "{host} Hz: latency {latency} samples");
    }
    assert!(matches!(HostRateModel::new(&wavenet, &options, 44_100.5), Err(NamError::Unsupported { .. })));
    assert!(matches!(HostRateModel::new(&wavenet, &options, 47_999.0), Err(NamError::Unsupported { .. })));
    assert!(matches!(HostRateModel::new(&wavenet, &options, 44_056.0), Err(NamError::Unsupported { .. })));
    assert!(HostRateModel::new(&wavenet, &options, f64::NAN).is_err());
}

/// A single-tap, gain-1 Linear: the model is the identity, so the chain is the resampler alone.
fn identity(rate: u32) -> NamModel {
    let text = format!(
        r#"{{"version": "0.5.4", "architecture": "Linear", "config": {{"receptive_field": 1, "bias": false}},
            "weights": [1.0], "sample_rate": {rate}}}"#
    );
    NamModel::from_json_str(&text).expect("identity model")
}

/// Σ a·sin(2π f t + φ) at host sample `n` (t = n / rate), in f64.
fn sines(components: &[(f64, f64, f64)], n: f64, rate: f64) -> f64 {
    components.iter().map(|&(a, f, phi)| a * (2.0 * std::f64::consts::PI * f * n / rate + phi).sin()).sum()
}

/// Runs `components` through an identity model at `model_rate` from a host at `host_rate`, and
/// returns the worst |output[n] − input(n − latency)| once the start transient has passed.
fn identity_error(components: &[(f64, f64, f64)], host_rate: u32, model_rate: u32) -> f64 {
    let mut chain =
        HostRateModel::new(&identity(model_rate), &LoadOptions::default(), host_rate as f64).expect("chain");
    assert_eq!(chain.rate_conversion(), RateConversion::Resample);
    let latency = chain.latency();
    let rate = host_rate as f64;
    let n = host_rate as usize / 4;
    let x: Vec<f32> = (0..n).map(|i| sines(components, i as f64, rate) as f32).collect();
    let mut y = vec![0.0f32; n];
    chain.process(&x, &mut y).expect("same lengths");
    // The input starts abruptly at 0 (a broadband click); skip its ring-out (two filter lengths).
    let settle = 3 * latency;
    (settle..n).map(|i| (y[i] as f64 - sines(components, i as f64 - latency as f64, rate)).abs()).fold(0.0, f64::max)
}

#[test]
fn resampler_returns_a_sine_delayed_by_the_latency() {
    for (host, model) in
        [(44_100, 48_000), (48_000, 44_100), (44_100, 96_000), (96_000, 44_100), (32_000, 48_000), (22_050, 48_000)]
    {
        let err = identity_error(&[(0.5, 1000.0, 0.3)], host, model);
        assert!(err < 1e-5, "{host} Hz → {model} Hz → back: 1 kHz sine off by {err}");
    }
}

#[test]
fn resampler_returns_band_limited_noise_delayed_by_the_latency() {
    // 120 sines at random frequencies from 20 Hz to 18 kHz with random phases (noise whose value
    // at any fractional time is known), about 0.5 RMS.
    let mut state = 12345u64;
    let mut uniform = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let components: Vec<(f64, f64, f64)> =
        (0..120).map(|_| (0.065, 20.0 + 17_980.0 * uniform(), 2.0 * std::f64::consts::PI * uniform())).collect();
    // Tolerance 3e-5: the filters' passband ripple (≤ 2e-5 in gain below 19 kHz) summed over the
    // 120 components (measured 1.0e-5); a delay error of 0.01 sample gives 3e-2.
    for (host, model) in [(44_100, 48_000), (48_000, 44_100)] {
        let err = identity_error(&components, host, model);
        assert!(err < 3e-5, "{host} Hz → {model} Hz → back: noise below 18 kHz off by {err}");
    }
}

#[test]
fn resampler_output_does_not_depend_on_block_sizes_and_reset_restarts() {
    let nam = fixture("wavenet_standard");
    let mut chain = HostRateModel::new(&nam, &LoadOptions::default(), 44_100.0).expect("chain");
    let x = signal(20_000, 3);
    let mut whole = x.clone();
    chain.process_buffer(&mut whole);
    assert!(whole.iter().skip(chain.latency() + 50).any(|v| v.abs() > 1e-3), "the chain produces output");
    for sizes in [&[1usize][..], &[7, 1, 300], &[32], &[31, 33, 4096], &[5000]] {
        chain.reset();
        let mut split = x.clone();
        let mut pos = 0;
        for &size in sizes.iter().cycle() {
            if pos >= split.len() {
                break;
            }
            let end = (pos + size).min(split.len());
            chain.process_buffer(&mut split[pos..end]);
            pos = end;
        }
        assert!(split == whole, "blocks {sizes:?}: output differs from one call");
    }
}

/// Amplitude of a unit sine at `freq` Hz after the identity chain: a least-squares fit of
/// a·sin + b·cos at `freq` to the second half of the output (exact for a pure tone of any length).
fn gain(host_rate: u32, model_rate: u32, freq: f64) -> f64 {
    let (y, w) = tone_through(host_rate, model_rate, freq);
    let n = y.len();
    let (mut ss, mut sc, mut cc, mut ys, mut yc) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (i, &v) in y.iter().enumerate().skip(n / 2) {
        let (s, c) = (w * i as f64).sin_cos();
        (ss, sc, cc, ys, yc) = (ss + s * s, sc + s * c, cc + c * c, ys + s * v as f64, yc + c * v as f64);
    }
    let det = ss * cc - sc * sc;
    let (a, b) = ((ys * cc - yc * sc) / det, (yc * ss - ys * sc) / det);
    a.hypot(b)
}

/// Peak amplitude (√2 × RMS) of everything a unit sine at `freq` Hz leaves after the identity
/// chain, at any frequency (an aliased tone lands elsewhere), on the second half of the output.
fn leak(host_rate: u32, model_rate: u32, freq: f64) -> f64 {
    let (y, _) = tone_through(host_rate, model_rate, freq);
    let tail = &y[y.len() / 2..];
    (2.0 * tail.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / tail.len() as f64).sqrt()
}

/// A quarter second of a unit sine at `freq` through the identity chain, and its angular step.
fn tone_through(host_rate: u32, model_rate: u32, freq: f64) -> (Vec<f32>, f64) {
    let mut chain =
        HostRateModel::new(&identity(model_rate), &LoadOptions::default(), host_rate as f64).expect("chain");
    let n = host_rate as usize / 4;
    let w = 2.0 * std::f64::consts::PI * freq / host_rate as f64;
    let x: Vec<f32> = (0..n).map(|i| (w * i as f64).sin() as f32).collect();
    let mut y = vec![0.0f32; n];
    chain.process(&x, &mut y).expect("same lengths");
    (y, w)
}

#[test]
fn resampler_passband_and_stopband() {
    // Flat to 19 kHz both ways (measured within 1.4e-5); what the 44.1 kHz side cannot carry
    // (above 22.05 kHz) is removed, not folded back: ≥ 100 dB down (measured ≥ 107 dB).
    for (host, model) in [(44_100, 48_000), (48_000, 44_100), (44_100, 96_000)] {
        for freq in [1_000.0, 10_000.0, 18_000.0, 19_000.0] {
            let g = gain(host, model, freq);
            assert!((g - 1.0).abs() < 1e-4, "{host} → {model}: {freq} Hz gain {g}");
        }
    }
    for freq in [22_100.0, 22_500.0, 23_000.0, 23_500.0, 25_000.0, 30_000.0] {
        for host in [48_000, 96_000] {
            if freq < host as f64 / 2.0 {
                let g = leak(host, 44_100, freq);
                assert!(g < 1e-5, "{host} Hz host, 44.1 kHz model: {freq} Hz leaks with gain {g}");
            }
        }
    }
}

#[test]
fn dilation_reaches_every_kind_of_condition_dsp() {
    // A ConvNet or Linear condition_dsp is dilated with the model; an LSTM one blocks the trick.
    let dir = common::fixtures_dir().join("core").join("models");
    for name in ["wavenet_convnet_condition", "wavenet_linear_condition", "wavenet_lstm_condition"] {
        let path = dir.join(format!("{name}.nam"));
        if !path.exists() {
            eprintln!("skipped {name}: {} is not present", path.display());
            continue;
        }
        let nam = NamModel::from_file(&path).expect("fixture loads");
        if name.contains("lstm") {
            let why = nam_rs::dilation_blocker(&nam).expect("an LSTM condition_dsp blocks dilation");
            assert!(why.contains("condition_dsp") && why.contains("LSTM"), "{why}");
        } else {
            let worst = polyphase_error_of(name, &nam, 2);
            assert!(worst <= 1e-6, "{name} ×2: y_host[p::N] differs from the model on x[p::N] by {worst}");
        }
    }
}
