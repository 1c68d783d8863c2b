//! ConvNet (NAM Core `NAM/convnet.cpp`): blocks of a kernel-2 dilated convolution, an optional
//! batchnorm (folded into a per-channel scale and shift at load) and an activation, then a 1×1
//! head. Core allocates temporary matrices in its `process`; here every buffer is made at load.

use std::sync::Arc;

use crate::activation::Activation;
use crate::conv::{Conv, Ring, WeightReader};
use crate::error::{NamError, Result};
use crate::json::Field;
use crate::options::LoadOptions;
use crate::simd::denormals::FlushDenormals;
use crate::simd::{apply_activation, copy_floats, Kernels, PortableVariant, Variant};
#[cfg(target_arch = "x86_64")]
use crate::simd::{Avx2Variant, FmaVariant};

/// Frames per internal chunk (bounds the scratch; any host block size works).
const MAX_FRAMES: usize = 128;
/// ConvNet's kernel size is fixed (Core's "HACK 2 kernel").
const KERNEL_SIZE: usize = 2;

#[derive(Debug)]
struct Block {
    conv: Conv,
    /// Folded batchnorm: `z·scale + shift` per channel.
    batchnorm: Option<(Vec<f32>, Vec<f32>)>,
    activation: Activation,
}

#[derive(Debug)]
struct Weights {
    blocks: Vec<Block>,
    head: Conv,
    in_channels: usize,
    channels: usize,
    out_channels: usize,
    receptive_field: usize,
}

/// A ConvNet model with its streaming state.
#[derive(Debug, Clone)]
pub struct ConvNet {
    weights: Arc<Weights>,
    /// Input history of each block's convolution.
    rings: Vec<Ring>,
    /// Model input `[frame][in_channels]`, block output `[frame][channels]`, model output.
    u: Vec<f32>,
    x: Vec<f32>,
    out: Vec<f32>,
    kernels: Kernels,
}

impl ConvNet {
    /// Builds a ConvNet and puts it in the state it reaches after silence (Core's prewarm).
    pub fn new(config: &serde_json::Value, weights: &[f32], options: &LoadOptions) -> Result<ConvNet> {
        let root = Field::new(config, "config").object()?;
        let limits = &options.limits;
        let channels = root.req("channels")?.positive()?;
        options.check_limit("config.channels", limits.max_channels, channels)?;
        let dilations_field = root.req("dilations")?;
        let dilations = dilations_field.items()?.iter().map(Field::positive).collect::<Result<Vec<_>>>()?;
        if dilations.is_empty() {
            return Err(dilations_field.expected("a non-empty list of dilations"));
        }
        options.check_limit("number of ConvNet blocks", limits.max_layers, dilations.len())?;
        let receptive_field = dilations
            .iter()
            .try_fold(1usize, |rf, &d| rf.checked_add(d))
            .ok_or_else(|| NamError::format("config.dilations", "receptive field overflows"))?;
        options.check_limit("receptive field", limits.max_receptive_field, receptive_field)?;
        let batchnorm = root.req("batchnorm")?.bool()?;
        let activation_field = root.req("activation")?;
        let activation = Activation::parse(&activation_field, options.fast_tanh, options.semantics)?;
        activation.check_channels(channels, "config.activation")?;
        let optional = |key: &str| -> Result<usize> {
            let n = match root.get_some(key) {
                Some(f) => f.positive()?,
                None => 1,
            };
            options.check_limit(&format!("config.{key}"), limits.max_channels, n)?;
            Ok(n)
        };
        let (groups, in_channels, out_channels) =
            (optional("groups")?, optional("in_channels")?, optional("out_channels")?);
        for (what, n) in [("channels", channels), ("in_channels", in_channels)] {
            if n % groups != 0 {
                return Err(NamError::format(
                    "config.groups",
                    format!("groups = {groups} must divide {what} = {n} (grouped convolution)"),
                ));
            }
        }

        let bn_count = |c: usize| if batchnorm { 4 * c + 1 } else { 0 };
        let expected = dilations
            .iter()
            .enumerate()
            .map(|(j, _)| {
                let cin = if j == 0 { in_channels } else { channels };
                Conv::weight_count(cin, channels, KERNEL_SIZE, !batchnorm, groups) + bn_count(channels)
            })
            .sum::<usize>()
            + out_channels * channels
            + out_channels;
        if weights.len() != expected {
            return Err(NamError::WeightCount { expected, got: weights.len() });
        }

        let mut reader = WeightReader::new(weights);
        let mut blocks = Vec::with_capacity(dilations.len());
        for (j, &d) in dilations.iter().enumerate() {
            let cin = if j == 0 { in_channels } else { channels };
            let conv = Conv::read_grouped(&mut reader, cin, channels, KERNEL_SIZE, d, !batchnorm, groups)?;
            let batchnorm =
                if batchnorm { Some(fold_batchnorm(reader.take(4 * channels + 1)?, channels, j)?) } else { None };
            blocks.push(Block { conv, batchnorm, activation: activation.clone() });
        }
        // The head is a dense [out][channels] matrix then the biases: a 1×1 convolution's layout.
        let head = Conv::read(&mut reader, channels, out_channels, 1, 1, true)?;
        reader.finish()?;

        let rings = blocks.iter().map(|b| Ring::new(b.conv.in_channels, b.conv.history(), MAX_FRAMES)).collect();
        let mut model = ConvNet {
            weights: Arc::new(Weights { blocks, head, in_channels, channels, out_channels, receptive_field }),
            rings,
            u: vec![0.0; MAX_FRAMES * in_channels],
            x: vec![0.0; MAX_FRAMES * channels],
            out: vec![0.0; MAX_FRAMES * out_channels],
            // Not FMA: fused convolutions move `convnet_batchnorm` 1.35e-6 of its peak from the
            // portable output, past tests/block_split.rs's 1e-6 bound. AVX2 is bit-identical.
            kernels: Kernels::select(options),
        };
        model.prewarm();
        Ok(model)
    }

    pub fn channels(&self) -> (usize, usize) {
        (self.weights.in_channels, self.weights.out_channels)
    }

    /// `1 + Σ dilations`, also NAM Core's prewarm length.
    pub fn receptive_field(&self) -> usize {
        self.weights.receptive_field
    }

    pub fn macs_per_sample(&self) -> usize {
        let w = &*self.weights;
        let convs: usize = w.blocks.iter().map(|b| b.conv.in_channels * b.conv.out_channels * KERNEL_SIZE).sum();
        convs + w.channels * w.out_channels
    }

    /// The state after an arbitrarily long silence: every history holds the column silence
    /// produces (the same as feeding `receptive_field()` zeros), from any current state.
    pub fn prewarm(&mut self) {
        self.u[..self.weights.in_channels].fill(0.0);
        self.dispatch(1, true);
    }

    /// Processes mono audio in place (a 1-in/1-out model).
    pub fn process_buffer(&mut self, buffer: &mut [f32]) {
        debug_assert_eq!(self.channels(), (1, 1));
        for chunk in buffer.chunks_mut(MAX_FRAMES) {
            let frames = chunk.len();
            self.u[..frames].copy_from_slice(chunk);
            self.dispatch(frames, false);
            chunk.copy_from_slice(&self.out[..frames]);
        }
    }

    /// Interleaved multi-channel processing (frame-major, the model's own layout).
    pub(crate) fn process_frames(&mut self, mut io: crate::net::Frames<'_>, frames: usize) {
        let (ci, co) = self.channels();
        for start in (0..frames).step_by(MAX_FRAMES) {
            let f = MAX_FRAMES.min(frames - start);
            self.u[..f * ci].copy_from_slice(io.input(start * ci..(start + f) * ci));
            self.dispatch(f, false);
            io.output(start * co..(start + f) * co).copy_from_slice(&self.out[..f * co]);
        }
    }

    /// [`ConvNet::run`] in the kernel variant chosen at load, with denormals flushed (restored
    /// after).
    fn dispatch(&mut self, frames: usize, steady: bool) {
        let _flush = FlushDenormals::new();
        // SAFETY (both): `Kernels::Avx2` / `Avx2Fma` are only chosen when the CPU reports AVX2 /
        // AVX2 and FMA (simd.rs).
        #[cfg(target_arch = "x86_64")]
        match self.kernels {
            Kernels::Avx2 => return unsafe { self.run_avx2(frames, steady) },
            Kernels::Avx2Fma => return unsafe { self.run_fma(frames, steady) },
            Kernels::Portable => {}
        }
        self.run::<PortableVariant>(frames, steady);
    }

    /// The same code compiled for AVX2 (no FMA: bit-identical to the portable path).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn run_avx2(&mut self, frames: usize, steady: bool) {
        self.run::<Avx2Variant>(frames, steady);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_fma(&mut self, frames: usize, steady: bool) {
        self.run::<FmaVariant>(frames, steady);
    }

    /// Runs `frames` frames from `u` into `out`. With `steady`, each history is first filled with
    /// the column the (single, silent) frame writes.
    #[inline(always)]
    fn run<V: Variant>(&mut self, frames: usize, steady: bool) {
        let w = &*self.weights;
        let c = w.channels;
        for (j, (block, ring)) in w.blocks.iter().zip(self.rings.iter_mut()).enumerate() {
            let cin = block.conv.in_channels;
            let start = ring.prepare(frames);
            let dst = ring.frames_mut(start, frames);
            if j == 0 {
                copy_floats(dst, &self.u[..frames * cin]);
            } else {
                copy_floats(dst, &self.x[..frames * cin]);
            }
            if steady {
                ring.fill_history_from(start);
            }
            block.conv.apply_with::<V>(ring.data(), start, frames, None, &mut self.x, c);
            ring.advance(frames);
            if let Some((scale, shift)) = &block.batchnorm {
                for frame in self.x[..frames * c].chunks_exact_mut(c) {
                    for ((v, &s), &b) in frame.iter_mut().zip(scale).zip(shift) {
                        *v = *v * s + b;
                    }
                }
            }
            apply_activation::<V>(&block.activation, &mut self.x, frames, c, c);
        }
        w.head.apply_1x1_with::<V>(&self.x, c, frames, &mut self.out, w.out_channels);
    }
}

/// Core's `BatchNorm`: running mean, running var, weight, bias (C each) and eps, folded into
/// `scale = weight / √(eps + var)` and `shift = bias − scale·mean`.
/// A variance below `-eps` would give NaN scales: rejected rather than run as silence-or-garbage.
fn fold_batchnorm(raw: &[f32], c: usize, block: usize) -> Result<(Vec<f32>, Vec<f32>)> {
    let (mean, rest) = raw.split_at(c);
    let (var, rest) = rest.split_at(c);
    let (weight, rest) = rest.split_at(c);
    let (bias, eps) = rest.split_at(c);
    let eps = eps[0];
    if let Some(i) = var.iter().position(|&v| (eps + v).partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)) {
        return Err(NamError::format(
            format!("weights (block {block} batchnorm)"),
            format!("running_var[{i}] + eps must be positive, got {} + {eps}", var[i]),
        ));
    }
    let scale: Vec<f32> = weight.iter().zip(var).map(|(&w, &v)| w / (eps + v).sqrt()).collect();
    let shift = bias.iter().zip(&scale).zip(mean).map(|((&b, &s), &m)| b - s * m).collect();
    Ok((scale, shift))
}
