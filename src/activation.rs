//! NAM Core's activation registry: parsing of `"Name"` / `{"type": "Name", ...}` and the maths.

use crate::error::Result;
use crate::json::Field;
use crate::math::{sigmoid_f32, tanh_f32};
use crate::options::Semantics;

/// One activation function, with its parameters read as NAM Core reads them.
#[derive(Debug, Clone, PartialEq)]
pub enum Activation {
    Tanh,
    /// NAM Core's rational approximation of tanh.
    FastTanh,
    /// Clamp to [min_val, max_val]: NAM Core ignores the trainer's `min_val`/`max_val` (always
    /// [-1, 1]); `Semantics::Trainer` reads them, as `torch.nn.Hardtanh` does.
    Hardtanh {
        min_val: f32,
        max_val: f32,
    },
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
    /// The trainer's `0.5·(1 + x/(1+|x|))` (`Semantics::Trainer` only: NAM Core rejects it).
    Softsigmoid,
    /// `torch.nn.ELU`: x > 0 ? x : alpha·(eˣ − 1) (`Semantics::Trainer` only).
    Elu {
        alpha: f32,
    },
    /// `torch.nn.GELU()`: 0.5·x·(1 + erf(x/√2)) (`Semantics::Trainer` only).
    Gelu,
    /// `torch.nn.GELU(approximate="tanh")` (`Semantics::Trainer` only).
    GeluTanh,
}

const NAMES: &str =
    "Tanh, Hardtanh, Fasttanh, ReLU, LeakyReLU, PReLU, Sigmoid, SiLU, Hardswish, LeakyHardtanh, Softsign";

/// What the trainer can export (any `torch.nn` name) that NAM Core rejects, and we run with
/// `Semantics::Trainer`.
const TRAINER_NAMES: &str = "Softsigmoid, ELU, GELU";

impl Activation {
    /// Reads an activation config. `fast_tanh` swaps `Tanh` for `Fasttanh` (NAM Core's global
    /// switch); `Semantics::Trainer` also reads Hardtanh's bounds and knows the trainer-only
    /// activations.
    pub(crate) fn parse(field: &Field<'_>, fast_tanh: bool, semantics: Semantics) -> Result<Activation> {
        let trainer = semantics == Semantics::Trainer;
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
            "Hardtanh" if trainer => {
                Activation::Hardtanh { min_val: param("min_val", -1.0)?, max_val: param("max_val", 1.0)? }
            }
            "Hardtanh" => Activation::Hardtanh { min_val: -1.0, max_val: 1.0 },
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
            "Softsigmoid" if trainer => Activation::Softsigmoid,
            "ELU" if trainer => Activation::Elu { alpha: param("alpha", 1.0)? },
            "GELU" if trainer => {
                // torch.nn.GELU's `approximate` keyword: "none" (exact erf form) or "tanh".
                match params.as_ref().and_then(|p| p.get_some("approximate")) {
                    None => Activation::Gelu,
                    Some(f) => match f.string()? {
                        "none" => Activation::Gelu,
                        "tanh" => Activation::GeluTanh,
                        _ => return Err(f.expected("\"none\" or \"tanh\"")),
                    },
                }
            }
            other => {
                let at = if params.is_some() { format!("{}.type", field.path) } else { field.path.clone() };
                let message = if trainer {
                    format!("unknown activation {other:?} (known: {NAMES}, {TRAINER_NAMES})")
                } else if TRAINER_NAMES.split(", ").any(|n| n == other) {
                    format!(
                        "activation {other:?} is not in NAM Core's registry ({NAMES}); the trainer exports it and \
                         semantics=\"trainer\" (Semantics::Trainer) runs it"
                    )
                } else {
                    format!("unknown activation {other:?} (NAM Core knows {NAMES})")
                };
                return Err(crate::NamError::format(at, message));
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
            Activation::Hardtanh { min_val, max_val } => each!(|x| x.clamp(*min_val, *max_val)),
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
            Activation::Softsigmoid => each!(|x| 0.5 * (1.0 + *x / (1.0 + x.abs()))),
            Activation::Elu { alpha } => each!(|x| if *x > 0.0 { *x } else { *alpha * x.exp_m1() }),
            Activation::Gelu => each!(|x| gelu(*x)),
            Activation::GeluTanh => each!(|x| gelu_tanh(*x)),
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

/// torch's exact GELU, `0.5·x·erfc(−x/√2)` (the erfc form keeps the relative accuracy for
/// negative x), evaluated in f64.
#[inline(always)]
fn gelu(x: f32) -> f32 {
    let x = f64::from(x);
    (0.5 * x * erfc(-x * std::f64::consts::FRAC_1_SQRT_2)) as f32
}

/// `erfc` by the Chebyshev-fitted formula of Numerical Recipes (`erfcc`, Press et al. §6.2):
/// relative error below 1.2e-7 everywhere, ample for float32 output.
#[inline(always)]
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * (-z * z + poly).exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// torch's `GELU(approximate="tanh")`: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
#[inline(always)]
fn gelu_tanh(x: f32) -> f32 {
    const BETA: f32 = 0.797_884_6; // √(2/π)
    let inner = BETA * (x + 0.044_715 * x * x * x);
    0.5 * x * (1.0 + tanh_f32(inner))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// erfc against Python's `math.erfc` (an independent, correctly rounded f64 implementation).
    #[test]
    fn erfc_relative_error_is_below_1_2e_7() {
        let known = [
            (-2.0, 1.995_322_265_018_952_8),
            (-0.3, 1.328_626_759_459_127_4),
            (0.0, 1.0),
            (0.7, 0.322_198_806_162_581_56),
            (3.0, 2.209_049_699_858_543_8e-5),
            (6.0, 2.151_973_671_249_891_6e-17),
        ];
        for (x, want) in known {
            let got = erfc(x);
            assert!(((got - want) / want).abs() < 1.2e-7, "erfc({x}) = {got}, want {want}");
        }
    }

    /// GELU against `0.5·x·(1 + math.erf(x/√2))` in Python's f64, within 2 float32 ulp of the value.
    #[test]
    fn gelu_matches_the_erf_definition() {
        let known = [
            (-6.0f32, -5.919_525_869_479_969e-9),
            (-3.0, -0.004_049_694_094_890_31),
            (-1.5, -0.100_210_801_903_287_13),
            (-0.5, -0.154_268_769_362_993_44),
            (-1e-3, -0.000_499_601_057_786_089),
            (0.25, 0.149_676_581_420_730_93),
            (1.0, 0.841_344_746_068_542_9),
            (2.5, 2.484_475_836_685_559_7),
            (5.0, 4.999_998_566_742_141),
        ];
        for (x, want) in known {
            let got = f64::from(gelu(x));
            assert!((got - want).abs() <= 2.0 * f64::from(f32::EPSILON) * want.abs(), "gelu({x}) = {got}, want {want}");
        }
    }
}
