//! NAM Core's activation registry: parsing of `"Name"` / `{"type": "Name", ...}` and the maths.

use crate::error::Result;
use crate::json::Field;
use crate::math::{sigmoid_f32, tanh_f32};

/// One activation function, with its parameters read as NAM Core reads them.
#[derive(Debug, Clone, PartialEq)]
pub enum Activation {
    Tanh,
    /// NAM Core's rational approximation of tanh.
    FastTanh,
    /// Clamp to [-1, 1]. NAM Core ignores the trainer's `min_val`/`max_val`, and so do we.
    Hardtanh,
    ReLU,
    LeakyReLU {
        negative_slope: f32,
    },
    /// Leaky ReLU with one slope per channel (a single slope is stored as a list of one).
    PReLU {
        negative_slopes: Vec<f32>,
    },
    Sigmoid,
    SiLU,
    Hardswish,
    LeakyHardtanh {
        min_val: f32,
        max_val: f32,
        min_slope: f32,
        max_slope: f32,
    },
    Softsign,
}

const NAMES: &str =
    "Tanh, Hardtanh, Fasttanh, ReLU, LeakyReLU, PReLU, Sigmoid, SiLU, Hardswish, LeakyHardtanh, Softsign";

impl Activation {
    /// Reads an activation config. `fast_tanh` swaps `Tanh` for `Fasttanh` (NAM Core's global switch).
    pub(crate) fn parse(field: &Field<'_>, fast_tanh: bool) -> Result<Activation> {
        let (name, params) = if let Some(name) = field.value.as_str() {
            (name, None)
        } else if field.value.is_object() {
            let obj = field.object()?;
            (obj.req("type")?.string()?, Some(obj))
        } else {
            return Err(field.expected("an activation name or an object with a \"type\""));
        };
        let param = |key: &str, default: f32| -> Result<f32> {
            match params.as_ref().and_then(|p| p.get_some(key)) {
                Some(f) => f.f32(),
                None => Ok(default),
            }
        };
        Ok(match name {
            "Tanh" if fast_tanh => Activation::FastTanh,
            "Tanh" => Activation::Tanh,
            "Fasttanh" => Activation::FastTanh,
            "Hardtanh" => Activation::Hardtanh,
            "ReLU" => Activation::ReLU,
            "LeakyReLU" => Activation::LeakyReLU { negative_slope: param("negative_slope", 0.01)? },
            "PReLU" => {
                let slopes = match params.as_ref() {
                    Some(p) if p.get_some("negative_slope").is_some() => vec![param("negative_slope", 0.01)?],
                    Some(p) => match p.get_some("negative_slopes") {
                        Some(list) => {
                            let slopes = list.items()?.iter().map(|f| f.f32()).collect::<Result<Vec<_>>>()?;
                            if slopes.is_empty() {
                                return Err(list.expected("a non-empty list of slopes"));
                            }
                            slopes
                        }
                        None => vec![0.01],
                    },
                    None => vec![0.01],
                };
                Activation::PReLU { negative_slopes: slopes }
            }
            "Sigmoid" => Activation::Sigmoid,
            "SiLU" => Activation::SiLU,
            "Hardswish" => Activation::Hardswish,
            "LeakyHardtanh" | "LeakyHardTanh" => Activation::LeakyHardtanh {
                min_val: param("min_val", -1.0)?,
                max_val: param("max_val", 1.0)?,
                min_slope: param("min_slope", 0.01)?,
                max_slope: param("max_slope", 0.01)?,
            },
            "Softsign" => Activation::Softsign,
            other => {
                let at = if params.is_some() { format!("{}.type", field.path) } else { field.path.clone() };
                return Err(crate::NamError::format(
                    at,
                    format!("unknown activation {other:?} (NAM Core knows {NAMES})"),
                ));
            }
        })
    }

    /// Checks that the activation can be applied to `channels` rows (PReLU's slope list must fit).
    pub(crate) fn check_channels(&self, channels: usize, path: &str) -> Result<()> {
        if let Activation::PReLU { negative_slopes } = self {
            let n = negative_slopes.len();
            // Core indexes slopes by position modulo their count over column-major data, which is
            // the channel index exactly when the count divides the row count.
            if n != 1 && channels % n != 0 {
                return Err(crate::NamError::format(
                    path,
                    format!("PReLU has {n} negative_slopes, which does not fit the layer's {channels} channels"),
                ));
            }
        }
        Ok(())
    }

    /// Applies the activation in place to channels `0..width` of each of `frames` frames laid out
    /// with `stride` floats per frame.
    #[inline(always)]
    pub(crate) fn apply(&self, data: &mut [f32], frames: usize, stride: usize, width: usize) {
        // Contiguous rows (stride == width) run as one flat loop, which vectorises even when a
        // frame has only a few channels.
        macro_rules! each {
            (|$x:ident| $body:expr) => {
                if stride == width {
                    for $x in &mut data[..frames * width] {
                        *$x = $body;
                    }
                } else {
                    for t in 0..frames {
                        for $x in &mut data[t * stride..t * stride + width] {
                            *$x = $body;
                        }
                    }
                }
            };
        }
        match self {
            Activation::Tanh => each!(|x| tanh_f32(*x)),
            Activation::FastTanh => each!(|x| fast_tanh(*x)),
            Activation::Hardtanh => each!(|x| x.clamp(-1.0, 1.0)),
            Activation::ReLU => each!(|x| if *x > 0.0 { *x } else { 0.0 }),
            Activation::LeakyReLU { negative_slope } => each!(|x| leaky_relu(*x, *negative_slope)),
            Activation::PReLU { negative_slopes } => {
                let n = negative_slopes.len();
                for t in 0..frames {
                    for (c, x) in data[t * stride..t * stride + width].iter_mut().enumerate() {
                        *x = leaky_relu(*x, negative_slopes[c % n]);
                    }
                }
            }
            Activation::Sigmoid => each!(|x| sigmoid(*x)),
            Activation::SiLU => each!(|x| *x * sigmoid(*x)),
            Activation::Hardswish => each!(|x| hardswish(*x)),
            Activation::LeakyHardtanh { min_val, max_val, min_slope, max_slope } => {
                each!(|x| leaky_hardtanh(*x, *min_val, *max_val, *min_slope, *max_slope))
            }
            Activation::Softsign => each!(|x| *x / (1.0 + x.abs())),
        }
    }

    /// The activation of one value (PReLU uses the slope of `channel`).
    #[inline(always)]
    pub(crate) fn apply_one(&self, x: f32, channel: usize) -> f32 {
        let mut v = [x];
        match self {
            Activation::PReLU { negative_slopes } => leaky_relu(x, negative_slopes[channel % negative_slopes.len()]),
            _ => {
                self.apply(&mut v, 1, 1, 1);
                v[0]
            }
        }
    }
}

#[inline(always)]
pub(crate) fn sigmoid(x: f32) -> f32 {
    sigmoid_f32(x)
}

#[inline(always)]
fn leaky_relu(x: f32, slope: f32) -> f32 {
    if x > 0.0 {
        x
    } else {
        slope * x
    }
}

#[inline(always)]
fn hardswish(x: f32) -> f32 {
    // Same operation order as NAM Core: x * clamp(x + 3, 0, 6) * (1/6).
    let clamped = (x + 3.0).clamp(0.0, 6.0);
    x * clamped * (1.0 / 6.0)
}

#[inline(always)]
fn leaky_hardtanh(x: f32, min_val: f32, max_val: f32, min_slope: f32, max_slope: f32) -> f32 {
    if x < min_val {
        (x - min_val) * min_slope + min_val
    } else if x > max_val {
        (x - max_val) * max_slope + max_val
    } else {
        x
    }
}

/// NAM Core's `fast_tanh` rational approximation, with its exact constants and operation order.
#[inline(always)]
#[allow(clippy::excessive_precision)]
pub fn fast_tanh(x: f32) -> f32 {
    let ax = x.abs();
    let x2 = x * x;
    (x * (2.45550750702956 + 2.45550750702956 * ax + (0.893229853513558 + 0.821226666969744 * ax) * x2))
        / (2.44506634652299 + (2.44506634652299 + x2) * (x + 0.814642734961073 * x * ax).abs())
}

/// NAM Core's `fast_sigmoid`.
#[inline(always)]
pub fn fast_sigmoid(x: f32) -> f32 {
    0.5 * (fast_tanh(x * 0.5) + 1.0)
}
