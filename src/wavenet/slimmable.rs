//! Channel-slicing slimmable WaveNets (NAM Core `NAM/wavenet/slimmable.cpp`): each slimmable
//! array can run at any width of its `allowed_channels`, keeping the leading rows and columns of
//! every weight matrix. Every width combination the size knob can reach is built at load as an
//! ordinary WaveNet, so switching is a selection plus a prewarmed-state restore, with no rebuild.

use serde_json::{json, Value};

use super::config::{
    ArrayConfig, Gating, WaveNetConfig, ACTIVATION_POST, ACTIVATION_PRE, CONV_POST, CONV_PRE, HEAD1X1_POST,
    LAYER1X1_POST, MIXIN_POST, MIXIN_PRE,
};
use super::WaveNet;
use crate::error::{NamError, Result};
use crate::file::NamModel;
use crate::options::LoadOptions;

/// Whether any layer array of this WaveNet config declares `slimmable`.
pub(crate) fn is_slimmable(config: &Value) -> bool {
    config["layers"]
        .as_array()
        .is_some_and(|layers| layers.iter().any(|l| l.get("slimmable").is_some_and(|s| !s.is_null())))
}

/// NAM Core's `ratio_to_channels`: index = min(⌊size·n⌋, n − 1).
pub(crate) fn channels_for(size: f64, allowed: &[usize]) -> usize {
    let n = allowed.len();
    let index = ((size * n as f64).floor().max(0.0) as usize).min(n - 1);
    allowed[index]
}

/// The models of a slimmable WaveNet, one per reachable width combination.
pub(crate) struct Slimmed {
    /// Per array: allowed widths (a non-slimmable array has just its full width).
    pub allowed: Vec<Vec<usize>>,
    /// Per model: the width of each array.
    pub widths: Vec<Vec<usize>>,
    pub models: Vec<WaveNet>,
    pub breakpoints: Vec<f64>,
}

/// `depth`: nesting of this model as a condition_dsp or container sub-model (a condition_dsp of
/// its own is built for every width, as NAM Core rebuilds it with each width).
pub(crate) fn build(nam: &NamModel, options: &LoadOptions, depth: usize) -> Result<Slimmed> {
    let full = WaveNetConfig::parse(&nam.config, "config", nam.sample_rate, options, depth)?;
    if full.post_head.is_some() {
        return Err(NamError::format(
            "config.head",
            "a slimmable WaveNet cannot have a post-stack head (NAM Core's rule)",
        ));
    }
    if let Some(a) = full.arrays.iter().find(|a| a.slimmable.is_some() && a.head_kernel_size != 1) {
        return Err(NamError::format(
            "config.layers",
            format!("a slimmable array needs head kernel size 1, got {}", a.head_kernel_size),
        ));
    }
    let expected = full.weight_count();
    if nam.weights.len() != expected {
        return Err(NamError::WeightCount { expected, got: nam.weights.len() });
    }
    let allowed: Vec<Vec<usize>> =
        full.arrays.iter().map(|a| a.slimmable.clone().unwrap_or_else(|| vec![a.channels])).collect();
    // Breakpoints: the sorted union of i/n over the slimmable arrays.
    let mut breakpoints: Vec<f64> = allowed
        .iter()
        .filter(|a| a.len() > 1)
        .flat_map(|a| (1..a.len()).map(move |i| i as f64 / a.len() as f64))
        .collect();
    breakpoints.sort_by(f64::total_cmp);
    breakpoints.dedup();
    let mut edges = vec![0.0];
    edges.extend(&breakpoints);
    edges.push(1.0);
    let mut widths: Vec<Vec<usize>> = Vec::new();
    let mut models = Vec::new();
    let total: usize = allowed.iter().map(Vec::len).product::<usize>().min(edges.len());
    options.check_limit("slimmable widths built at load", 64, total)?;
    for pair in edges.windows(2) {
        let size = if pair[1] >= 1.0 { 1.0 } else { 0.5 * (pair[0] + pair[1]) };
        let w: Vec<usize> = allowed.iter().map(|a| channels_for(size, a)).collect();
        if widths.contains(&w) {
            continue;
        }
        let (config, weights) = slice(&nam.config, &full.arrays, &nam.weights, &w)?;
        models.push(WaveNet::nested(&config, &weights, nam.sample_rate, options, depth)?);
        widths.push(w);
    }
    Ok(Slimmed { allowed, widths, models, breakpoints })
}

/// The config and weights of the model at `widths` (one per array): leading rows/columns kept,
/// exactly as NAM Core's `extract_slimmed_weights`. The head 1×1 keeps its outputs (only its
/// bottleneck inputs shrink); each FiLM keeps all condition inputs and the leading
/// (1 or 2)·width rows of its full (1 or 2)·full-width outputs — with `shift`, that is NAM Core's
/// row cut, not the leading scales plus the leading shifts. The FiLMs of the input mixin's input
/// and of the head 1×1's output do not depend on the width and are copied whole.
fn slice(config: &Value, arrays: &[ArrayConfig], weights: &[f32], widths: &[usize]) -> Result<(Value, Vec<f32>)> {
    let mut out = Vec::with_capacity(weights.len());
    let mut pos = 0usize;
    // Copies the leading `rows`×`cols` of a `[r][c][k]` block (plus `k` taps) and advances.
    let mut take = |r: usize, c: usize, k: usize, rows: usize, cols: usize, out: &mut Vec<f32>| {
        for i in 0..rows {
            for j in 0..cols {
                let at = pos + (i * c + j) * k;
                out.extend_from_slice(&weights[at..at + k]);
            }
        }
        pos += r * c * k;
    };
    let mut config = config.clone();
    let last = arrays.len() - 1;
    for (a, arr) in arrays.iter().enumerate() {
        let (c_full, b_full) = (arr.channels, arr.bottleneck);
        let c = widths[a];
        let b = if arr.layer1x1.is_some() { (b_full * c / c_full).max(1) } else { c };
        let input = if a == 0 { arr.input_size } else { widths[a - 1] };
        let head = if a < last { widths[a + 1] } else { arr.head_size };
        take(c_full, arr.input_size, 1, c, input, &mut out);
        for l in 0..arr.dilations.len() {
            let g = if arr.gating[l] == Gating::None { 1 } else { 2 };
            take(g * b_full, c_full, arr.kernel_sizes[l], g * b, c, &mut out);
            take(g * b_full, 1, 1, g * b, 1, &mut out); // bias
            take(g * b_full, arr.condition_size, 1, g * b, arr.condition_size, &mut out);
            if arr.layer1x1.is_some() {
                take(c_full, b_full, 1, c, b, &mut out);
                take(c_full, 1, 1, c, 1, &mut out);
            }
            if let Some((h1, _)) = arr.head1x1 {
                take(h1, b_full, 1, h1, b, &mut out);
                take(h1, 1, 1, h1, 1, &mut out);
            }
            let dc = arr.condition_size;
            for (site, film) in arr.films.iter().enumerate() {
                let Some(film) = film else { continue };
                let (full, slim) = match site {
                    CONV_PRE | LAYER1X1_POST => (c_full, c),
                    CONV_POST | MIXIN_POST | ACTIVATION_PRE => (g * b_full, g * b),
                    ACTIVATION_POST => (b_full, b),
                    MIXIN_PRE => (dc, dc),
                    HEAD1X1_POST => (arr.head_input(), arr.head_input()),
                    _ => unreachable!("eight FiLM sites"),
                };
                let m = if film.shift { 2 } else { 1 };
                take(m * full, dc, 1, m * slim, dc, &mut out);
                take(m * full, 1, 1, m * slim, 1, &mut out); // bias
            }
        }
        let (head_in_full, head_in) = match arr.head1x1 {
            Some((h1, _)) => (h1, h1),
            None => (b_full, b),
        };
        take(arr.head_size, head_in_full, 1, head, head_in, &mut out);
        if arr.head_bias {
            take(arr.head_size, 1, 1, head, 1, &mut out);
        }
        let layer = &mut config["layers"][a];
        layer["channels"] = json!(c);
        layer["bottleneck"] = json!(b);
        layer["input_size"] = json!(input);
        if layer.get("head").is_some_and(|h| !h.is_null()) {
            layer["head"]["out_channels"] = json!(head);
        } else {
            layer["head_size"] = json!(head);
        }
        if let Some(obj) = layer.as_object_mut() {
            obj.remove("slimmable");
        }
    }
    out.push(weights[pos]); // head_scale
    Ok((config, out))
}
