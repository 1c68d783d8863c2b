//! Parity against NAM Core renders made locally for what `../shared/reference` does not cover
//! (`tests/fixtures/core`, see its README): Core's fast tanh, the ConvNet and Linear fixtures, and
//! multi-channel models, condition_dsps of every architecture, slimmable widths. Each entry of
//! `manifest.json` names the model, the input, whether Core had `enable_fast_tanh()` on, the
//! slimmable size it set (if any), and the tolerance; the input goes through in 64-frame blocks, as
//! Core rendered it. Entries whose model or input is in `../shared/reference` are skipped, with
//! the reason, when that folder is absent.

mod common;

use std::path::PathBuf;

use nam_rs::{LoadOptions, Model, NamModel};
use serde_json::Value;

const BLOCK: usize = 64;

fn core_dir() -> PathBuf {
    common::fixtures_dir().join("core")
}

struct Render {
    name: String,
    model: PathBuf,
    input: PathBuf,
    frames: usize,
    fast_tanh: bool,
    /// `SetSlimmableSize` before Core's `Reset`.
    slimmable_size: Option<f64>,
    output: PathBuf,
    tolerance: f32,
}

/// The folder a manifest source name refers to; `None` for `reference` when it is absent.
fn source_dir(source: &str) -> Option<PathBuf> {
    match source {
        "reference" => common::reference_dir(),
        "fixtures" => Some(common::fixtures_dir()),
        "core" => Some(core_dir()),
        other => panic!("manifest: unknown source {other:?}"),
    }
}

fn input_path(source: &str) -> Option<PathBuf> {
    let file = if source == "core" { "input_2ch.npy" } else { "input.npy" };
    source_dir(source).map(|dir| dir.join(file))
}

/// The renders whose files are all present, and the names of the skipped ones.
fn renders() -> (Vec<Render>, Vec<String>) {
    let text = std::fs::read_to_string(core_dir().join("manifest.json")).expect("manifest.json");
    let manifest: Value = serde_json::from_str(&text).expect("manifest is JSON");
    let (mut found, mut skipped) = (Vec::new(), Vec::new());
    for e in manifest["renders"].as_array().expect("renders") {
        let text = |key: &str| e[key].as_str().unwrap_or_else(|| panic!("manifest: {key}")).to_string();
        let name = text("name");
        let (Some(dir), Some(input)) = (source_dir(&text("model_dir")), input_path(&text("input"))) else {
            skipped.push(name);
            continue;
        };
        found.push(Render {
            model: dir.join(text("model")),
            input,
            frames: e["frames"].as_u64().expect("frames") as usize,
            fast_tanh: e["fast_tanh"].as_bool().expect("fast_tanh"),
            slimmable_size: e["slimmable_size"].as_f64(),
            output: core_dir().join(text("output")),
            tolerance: e["tolerance"].as_f64().expect("tolerance") as f32,
            name,
        });
    }
    (found, skipped)
}

/// Splits row-major `(frames, channels)` data (or 1-D data: one channel) into planar channels.
fn planar(shape: &[usize], data: &[f32], frames: usize) -> Vec<Vec<f32>> {
    let channels = shape.get(1).copied().unwrap_or(1);
    (0..channels).map(|c| (0..frames).map(|t| data[t * channels + c]).collect()).collect()
}

/// The model's output for the first `frames` of the input, processed in 64-frame blocks.
fn run(r: &Render, fast_tanh: bool, input: &[Vec<f32>]) -> Vec<Vec<f32>> {
    let (model_path, frames) = (&r.model, r.frames);
    let nam = NamModel::from_file(model_path).expect("load");
    let options = LoadOptions { fast_tanh, ..LoadOptions::default() };
    let mut model = Model::from_nam_with(&nam, &options).expect("build");
    if let Some(size) = r.slimmable_size {
        model.set_slimmable_size(size).expect("slimmable");
    }
    assert_eq!(model.num_input_channels(), input.len(), "{}: input channels", model_path.display());
    let mut out = vec![vec![0.0f32; frames]; model.num_output_channels()];
    for start in (0..frames).step_by(BLOCK) {
        let end = (start + BLOCK).min(frames);
        let ins: Vec<&[f32]> = input.iter().map(|x| &x[start..end]).collect();
        let mut outs: Vec<&mut [f32]> = out.iter_mut().map(|y| &mut y[start..end]).collect();
        model.process_channels(&ins, &mut outs).expect("process_channels");
    }
    out
}

#[test]
fn nam_rs_matches_local_core_renders() {
    let (renders, skipped) = renders();
    if !skipped.is_empty() {
        eprintln!("SKIPPED (../shared/reference not found; set NAM_RS_REFERENCE_DIR): {}", skipped.join(", "));
    }
    assert!(renders.len() >= 12, "the fixture renders are always present, found {}", renders.len());
    for r in renders {
        let (in_shape, in_data) = common::read_npy(&r.input);
        let input = planar(&in_shape, &in_data, r.frames);
        let (out_shape, expected) = common::read_npy(&r.output);
        assert_eq!(out_shape[0], r.frames, "{}: render length", r.name);
        let expected = planar(&out_shape, &expected, r.frames);
        let got = run(&r, r.fast_tanh, &input);
        assert_eq!(got.len(), expected.len(), "{}: output channels", r.name);
        for (c, (g, e)) in got.iter().zip(&expected).enumerate() {
            common::assert_parity_tol(&format!("{} channel {c}", r.name), g, e, r.tolerance);
        }
    }
}

/// The fast-tanh renders must tell the flag apart: with exact tanh nam-rs is far outside the
/// tolerance (else the comparison above would not show that `fast_tanh` does anything).
#[test]
fn fast_tanh_renders_differ_from_exact_output() {
    let (renders, _) = renders();
    let fast: Vec<&Render> = renders.iter().filter(|r| r.fast_tanh).collect();
    assert!(fast.len() >= 3, "fixture fast-tanh renders are always present");
    for r in fast {
        let (in_shape, in_data) = common::read_npy(&r.input);
        let (_, expected) = common::read_npy(&r.output);
        let exact = run(r, false, &planar(&in_shape, &in_data, r.frames));
        let worst = exact[0].iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst > 10.0 * r.tolerance, "{}: exact tanh is only {worst:e} from the fast-tanh render", r.name);
    }
}
