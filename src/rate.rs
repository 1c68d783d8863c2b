//! Running a model at a host sample rate N × its own (N ≥ 2 an integer) without resampling:
//! multiply every dilation by N (NeuralAudio's trick, extended here to ConvNet, Linear, nested
//! condition_dsps and containers).
//!
//! Why it is exact: when every convolution of a model looks N samples apart and everything else
//! is pointwise in time (activations, gating, FiLM, 1×1 mixers, batchnorm, the head 1×1s), the
//! N polyphase components of the host stream never meet. Each one is processed exactly as the
//! trained model processes a signal at its own rate: `y_host[p::N] == model(x_host[p::N])`. No
//! latency, no filtering. It does not apply where something advances once per sample whatever
//! the dilation: an LSTM's state, or a WaveNet's post-stack `head` convolutions with kernel > 1
//! (their dilation is fixed at 1 in the format). Those use the resampler (`crate::resample`).
//!
//! The transform works on the parsed file (its JSON `config`, and the weights of a Linear, whose
//! taps are spread N apart with zeros between), so the architectures build the result unchanged.

use serde_json::Value;

use crate::error::{NamError, Result};
use crate::file::NamModel;
use crate::options::LoadOptions;

/// Why `nam` cannot run at an integer multiple of its rate by dilation, or `None` when it can.
pub fn dilation_blocker(nam: &NamModel) -> Option<String> {
    blocker(&nam.architecture, &nam.config)
}

fn present<'a>(config: &'a Value, key: &str) -> Option<&'a Value> {
    config.get(key).filter(|v| !v.is_null())
}

fn blocker(architecture: &str, config: &Value) -> Option<String> {
    match architecture {
        "WaveNet" => {
            let post_kernels = present(config, "head").and_then(|h| h.get("kernel_sizes")).and_then(Value::as_array);
            if post_kernels.is_some_and(|ks| ks.iter().any(|k| k.as_u64() != Some(1))) {
                return Some("its post-stack head has a convolution with kernel size > 1 (dilation fixed at 1)".into());
            }
            let nested = present(config, "condition_dsp")?;
            nested_blocker(nested).map(|why| format!("its condition_dsp: {why}"))
        }
        "ConvNet" | "Linear" => None,
        "LSTM" => Some("an LSTM's state advances once per sample".into()),
        "SlimmableContainer" => {
            let models = present(config, "submodels").and_then(Value::as_array)?;
            models.iter().enumerate().find_map(|(i, entry)| {
                nested_blocker(entry.get("model")?).map(|why| format!("its sub-model {i}: {why}"))
            })
        }
        other => Some(format!("architecture {other:?} is not known")),
    }
}

fn nested_blocker(model: &Value) -> Option<String> {
    let architecture = model.get("architecture").and_then(Value::as_str).unwrap_or("");
    blocker(architecture, model.get("config").unwrap_or(&Value::Null))
}

/// `nam` rebuilt to run at `factor` × its sample rate (see the module docs); its `sample_rate`
/// becomes the host rate. `Unsupported` when [`dilation_blocker`] names a reason.
pub fn dilate(nam: &NamModel, factor: usize, options: &LoadOptions) -> Result<NamModel> {
    if factor == 0 {
        return Err(NamError::format("rate_multiplier", "must be at least 1"));
    }
    if factor == 1 {
        return Ok(nam.clone());
    }
    if let Some(why) = dilation_blocker(nam) {
        return Err(NamError::unsupported(format!(
            "running this {} at {factor}× its sample rate by multiplying its dilations: {why}",
            nam.architecture
        )));
    }
    let mut out = nam.clone();
    scale_config(&out.architecture, &mut out.config, factor, options)?;
    if out.architecture == "Linear" {
        let taps = linear_taps(&out.config, factor, options)?;
        if let Some((old, new)) = taps {
            if let Some(stuffed) = stuff(&out.weights, old, new, factor, 0.0) {
                out.weights = stuffed;
                set_taps(&mut out.config, new);
            }
        }
    }
    out.sample_rate = nam.sample_rate.map(|r| r * factor as f64);
    Ok(out)
}

/// Multiplies the dilations of one architecture's config (recursing into nested models).
fn scale_config(architecture: &str, config: &mut Value, factor: usize, options: &LoadOptions) -> Result<()> {
    match architecture {
        "WaveNet" => {
            if let Some(layers) = config.get_mut("layers").and_then(Value::as_array_mut) {
                for layer in layers {
                    if let Some(dilations) = layer.get_mut("dilations").and_then(Value::as_array_mut) {
                        for d in dilations {
                            scale_number(d, factor)?;
                        }
                    }
                    if let Some(head) = layer.get_mut("head").and_then(Value::as_object_mut) {
                        let dilation = head.entry("head_dilation").or_insert(Value::from(1u64));
                        if dilation.is_null() {
                            *dilation = Value::from(1u64);
                        }
                        scale_number(dilation, factor)?;
                    }
                }
            }
            if let Some(nested) = config.get_mut("condition_dsp").filter(|v| !v.is_null()) {
                scale_nested(nested, factor, options)?;
            }
        }
        "ConvNet" => {
            if let Some(dilations) = config.get_mut("dilations").and_then(Value::as_array_mut) {
                for d in dilations {
                    scale_number(d, factor)?;
                }
            }
        }
        "SlimmableContainer" => {
            if let Some(models) = config.get_mut("submodels").and_then(Value::as_array_mut) {
                for entry in models {
                    if let Some(model) = entry.get_mut("model") {
                        scale_nested(model, factor, options)?;
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// A nested `.nam` object (condition_dsp, container sub-model): config, Linear weights, rate.
fn scale_nested(model: &mut Value, factor: usize, options: &LoadOptions) -> Result<()> {
    let architecture = model.get("architecture").and_then(Value::as_str).unwrap_or("").to_string();
    if let Some(config) = model.get_mut("config") {
        scale_config(&architecture, config, factor, options)?;
    }
    if architecture == "Linear" {
        let taps = match model.get("config") {
            Some(config) => linear_taps(config, factor, options)?,
            None => None,
        };
        let weights = model.get("weights").and_then(Value::as_array);
        if let (Some((old, new)), Some(weights)) = (taps, weights) {
            if let Some(stuffed) = stuff(weights, old, new, factor, Value::from(0.0)) {
                model["weights"] = Value::Array(stuffed);
                if let Some(config) = model.get_mut("config") {
                    set_taps(config, new);
                }
            }
        }
    }
    if let Some(rate) = model.get("sample_rate").and_then(Value::as_f64) {
        model["sample_rate"] = Value::from(rate * factor as f64);
    }
    Ok(())
}

/// A dilation (a positive integer; anything else is left for the parser to report).
fn scale_number(value: &mut Value, factor: usize) -> Result<()> {
    if let Some(d) = value.as_u64() {
        let scaled = d
            .checked_mul(factor as u64)
            .ok_or_else(|| NamError::format("dilations", format!("dilation {d} × {factor} overflows")))?;
        *value = Value::from(scaled);
    }
    Ok(())
}

/// A Linear's tap count before and after spreading the taps `factor` apart: `(T−1)·N + 1`.
fn linear_taps(config: &Value, factor: usize, options: &LoadOptions) -> Result<Option<(usize, usize)>> {
    let Some(taps) = config.get("receptive_field").and_then(Value::as_u64).and_then(|t| usize::try_from(t).ok()) else {
        return Ok(None);
    };
    if taps == 0 {
        return Ok(None);
    }
    let limit = options.limits.max_receptive_field;
    let new = (taps - 1).checked_mul(factor).and_then(|t| t.checked_add(1)).filter(|&t| t <= limit);
    let new = new.ok_or_else(|| NamError::Limit {
        what: format!("receptive field (samples) of the Linear at {factor}× its rate"),
        limit: limit as u64,
        got: (taps as u64).saturating_mul(factor as u64),
    })?;
    Ok(Some((taps, new)))
}

fn set_taps(config: &mut Value, taps: usize) {
    if let Some(obj) = config.as_object_mut() {
        obj.insert("receptive_field".into(), Value::from(taps as u64));
    }
}

/// The first `old` weights (taps) spread `factor` apart with zeros between, then the rest (the
/// bias) unchanged; `None` when there are fewer weights than taps (the parser reports that).
fn stuff<T: Clone>(weights: &[T], old: usize, new: usize, factor: usize, zero: T) -> Option<Vec<T>> {
    if weights.len() < old {
        return None;
    }
    let mut out = vec![zero; new + weights.len() - old];
    for (k, w) in weights[..old].iter().enumerate() {
        out[k * factor] = w.clone();
    }
    out[new..].clone_from_slice(&weights[old..]);
    Some(out)
}
