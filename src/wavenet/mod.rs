//! WaveNet kernels (NAM Core `NAM/wavenet`): layer arrays of dilated convolutions with a 1×1
//! mixer of the conditioning input, gated/blended activations, residual and head 1×1s, FiLM
//! modulation, a head accumulator per array, and an optional condition_dsp. Parsing lives in
//! `config.rs`, the per-chunk computation in `kernels.rs`; this file builds the model, holds its
//! state and dispatches to the kernel variant chosen at load.

mod condition;
mod config;
mod kernels;
pub(crate) mod slimmable;

use std::sync::Arc;

use condition::Condition;
use config::{ArrayConfig, Gating, WaveNetConfig};

use crate::activation::Activation;
use crate::conv::{Conv, Ring, WeightReader};
use crate::error::{NamError, Result};
use crate::options::{LoadOptions, Semantics};
use crate::simd::denormals::FlushDenormals;
#[cfg(target_arch = "x86_64")]
use crate::simd::{Avx2Variant, FmaVariant};
use crate::simd::{Kernels, PortableVariant, Variant};

/// Frames processed per internal chunk: bounds the scratch memory; any host block size works.
pub(crate) const MAX_FRAMES: usize = 128;

/// NAM Core's first `Reset(sr, 64)` prewarms in whole 64-frame blocks.
const CORE_RESET_BLOCK: usize = 64;

/// Feature-wise linear modulation: `x·scale + shift`, with scale and shift a 1×1 of the condition.
#[derive(Debug)]
struct Film {
    conv: Conv,
    dim: usize,
    shift: bool,
}

impl Film {
    /// Modulates channels `0..dim` of `frames` frames of `x` (stride `x_stride`) in place.
    #[inline(always)]
    fn apply<V: Variant>(
        &self,
        x: &mut [f32],
        x_stride: usize,
        cond: &[f32],
        cond_stride: usize,
        frames: usize,
        tmp: &mut [f32],
    ) {
        let rows = self.conv.out_channels;
        self.conv.apply_1x1_with::<V>(cond, cond_stride, frames, tmp, rows);
        for t in 0..frames {
            let s = &tmp[t * rows..(t + 1) * rows];
            let y = &mut x[t * x_stride..t * x_stride + self.dim];
            if self.shift {
                for (d, v) in y.iter_mut().enumerate() {
                    *v = *v * s[d] + s[self.dim + d];
                }
            } else {
                for (v, &scale) in y.iter_mut().zip(s) {
                    *v *= scale;
                }
            }
        }
    }
}

#[derive(Debug)]
struct Layer {
    conv: Conv,
    mixin: Conv,
    layer1x1: Option<Conv>,
    head1x1: Option<Conv>,
    films: [Option<Film>; 8],
    activation: Activation,
    gating: Gating,
    /// The trainer's residual path: `layer1x1_post_film` in every gating mode, and an inactive
    /// `layer1x1` passes the activation (next = x + a) instead of nothing (next = x).
    trainer_residual: bool,
}

#[derive(Debug)]
struct LayerArray {
    rechannel: Conv,
    layers: Vec<Layer>,
    head: Conv,
    channels: usize,
    bottleneck: usize,
    /// Rows of the head accumulator: the head 1×1's outputs, or the bottleneck.
    head_input: usize,
}

/// Immutable weights, shared between copies of a model.
#[derive(Debug)]
struct Weights {
    arrays: Vec<LayerArray>,
    head_scale: f32,
    receptive_field: usize,
    in_channels: usize,
    out_channels: usize,
    /// Rows of the conditioning signal every layer sees.
    cond_channels: usize,
    /// Post-stack head convolutions and the activation before each.
    post_head: Vec<Conv>,
    post_activation: Option<Activation>,
    /// NAM Core's `mPrewarmSamples`: the condition_dsp's prewarm count (else 1) plus the arrays'.
    core_prewarm: usize,
}

/// Per-array streaming state: one history ring per layer (of the dilated conv's input) plus the
/// head accumulator ring.
#[derive(Debug, Clone)]
struct ArrayState {
    rings: Vec<Ring>,
    head_ring: Ring,
}

/// Scratch buffers sized at build time for `MAX_FRAMES` frames, all frame-major.
#[derive(Debug, Clone)]
struct Scratch {
    /// Model input `[frame][in_channels]`.
    u: Vec<f32>,
    /// The condition_dsp's output (unused without one: the input is the condition).
    cond: Vec<f32>,
    /// Layer input and output (ping-pong), `[frame][channels]`.
    x_cur: Vec<f32>,
    x_next: Vec<f32>,
    /// Pre-activation / activation of the current layer, `[frame][conv_out]`.
    z: Vec<f32>,
    /// Input-mixin output when a FiLM sits between it and the sum.
    zm: Vec<f32>,
    /// Conditioning after `input_mixin_pre_film`.
    q: Vec<f32>,
    /// FiLM scale/shift rows.
    film: Vec<f32>,
    /// Head 1×1 output.
    h: Vec<f32>,
    /// Head output of the last array processed.
    head_out: Vec<f32>,
    /// Model output `[frame][out_channels]` (head_scale applied).
    out: Vec<f32>,
}

/// A WaveNet model with its streaming state.
#[derive(Debug, Clone)]
pub struct WaveNet {
    weights: Arc<Weights>,
    condition: Option<Condition>,
    /// With a recurrent condition_dsp: the whole state after NAM Core's prewarm, which
    /// [`WaveNet::reset`] copies back (shared by clones).
    prewarmed: Option<Arc<WaveNet>>,
    arrays: Vec<ArrayState>,
    /// Histories of the post-stack head convolutions' inputs.
    post_rings: Vec<Ring>,
    scratch: Scratch,
    kernels: Kernels,
}

impl WaveNet {
    /// Builds a WaveNet from its `config` and flat weights; the result is already prewarmed.
    pub fn new(
        config: &serde_json::Value,
        weights: &[f32],
        sample_rate: Option<f64>,
        options: &LoadOptions,
    ) -> Result<WaveNet> {
        Self::build(config, "config", weights, sample_rate, options, 0)
    }

    /// [`WaveNet::new`] for a model nested `depth` levels deep (container sub-model or condition_dsp).
    pub(crate) fn nested(
        config: &serde_json::Value,
        weights: &[f32],
        sample_rate: Option<f64>,
        options: &LoadOptions,
        depth: usize,
    ) -> Result<WaveNet> {
        Self::build(config, "config", weights, sample_rate, options, depth)
    }

    fn build(
        config: &serde_json::Value,
        path: &str,
        weights: &[f32],
        sample_rate: Option<f64>,
        options: &LoadOptions,
        depth: usize,
    ) -> Result<WaveNet> {
        let config = WaveNetConfig::parse(config, path, sample_rate, options, depth)?;
        if config.arrays.iter().any(|a| a.slimmable.is_some()) {
            // Slimmable files are built width by width in slimmable.rs (this config has the key removed).
            return Err(NamError::format(
                format!("{path}.layers"),
                "a slimmable WaveNet must be loaded as a whole model",
            ));
        }
        let condition = match &config.condition_dsp {
            None => None,
            Some(nam) => {
                Some(Condition::build(nam, &format!("{path}.condition_dsp"), config.in_channels, options, depth)?)
            }
        };
        let cond_channels = condition.as_ref().map_or(config.in_channels, |c| c.net.num_output_channels());
        config.check_connections(cond_channels)?;
        let expected = config.weight_count();
        if weights.len() != expected {
            return Err(NamError::WeightCount { expected, got: weights.len() });
        }
        let state_floats: usize = config
            .arrays
            .iter()
            .map(|a| {
                let layers: usize =
                    a.kernel_sizes.iter().zip(&a.dilations).map(|(k, d)| 2 * (k - 1) * d * a.channels).sum();
                layers + 2 * (a.head_kernel_size - 1) * a.head_dilation * a.head_input()
            })
            .sum();
        options.check_limit(
            "WaveNet state memory (bytes)",
            options.limits.max_receptive_field.saturating_mul(4 * 64),
            state_floats.saturating_mul(4),
        )?;

        let mut reader = WeightReader::new(weights);
        let arrays = config.arrays.iter().map(|a| read_array(&mut reader, a)).collect::<Result<Vec<_>>>()?;
        let mut post_head = Vec::new();
        if let Some(h) = &config.post_head {
            for (cin, cout, k) in h.convs(config.last_head_size()) {
                post_head.push(Conv::read(&mut reader, cin, cout, k, 1, true)?);
            }
        }
        // NAM Core uses the last weight, not config.head_scale.
        let head_scale = reader.take(1)?[0];
        reader.finish()?;

        let receptive_field = match &condition {
            Some(cd) => config.receptive_field() - 1 + cd.net.receptive_field(),
            None => config.receptive_field(),
        };
        let core_prewarm =
            condition.as_ref().map_or(1, |c| c.core_prewarm).saturating_add(config.receptive_field() - 1);
        let weights = Weights {
            arrays,
            head_scale,
            receptive_field,
            in_channels: config.in_channels,
            out_channels: config.out_channels(),
            cond_channels,
            post_head,
            post_activation: config.post_head.as_ref().map(|h| h.activation.clone()),
            core_prewarm,
        };
        let post_rings = weights.post_head.iter().map(|c| Ring::new(c.in_channels, c.history(), MAX_FRAMES)).collect();
        let states = weights
            .arrays
            .iter()
            .map(|a| ArrayState {
                rings: a.layers.iter().map(|l| Ring::new(a.channels, l.conv.history(), MAX_FRAMES)).collect(),
                head_ring: Ring::new(a.head_input, a.head.history(), MAX_FRAMES),
            })
            .collect();
        let scratch = Scratch::new(&weights);
        let kernels = Kernels::select_fma(options);
        let mut model = WaveNet {
            weights: Arc::new(weights),
            condition,
            prewarmed: None,
            arrays: states,
            post_rings,
            scratch,
            kernels,
        };
        model.prewarm_at_load(options)?;
        Ok(model)
    }

    /// Input and output channels.
    pub fn channels(&self) -> (usize, usize) {
        (self.weights.in_channels, self.weights.out_channels)
    }

    /// Multiply-adds per sample of every convolution (grouped ones counted as the dense
    /// block-diagonal products the kernels run), including a condition_dsp.
    pub fn macs_per_sample(&self) -> usize {
        let macs = |c: &Conv| c.in_channels * c.out_channels * c.kernel_size;
        let w = &*self.weights;
        let mut n: usize = w.post_head.iter().map(macs).sum();
        for array in &w.arrays {
            n += macs(&array.rechannel) + macs(&array.head);
            for layer in &array.layers {
                n += macs(&layer.conv) + macs(&layer.mixin);
                n += layer.layer1x1.iter().chain(&layer.head1x1).map(macs).sum::<usize>();
                n += layer.films.iter().flatten().map(|f| macs(&f.conv)).sum::<usize>();
            }
        }
        n + self.condition.as_ref().map_or(0, |c| c.net.macs_per_sample())
    }

    /// Receptive field in samples (1 + Σ (K−1)·d), which is also NAM Core's prewarm length.
    pub fn receptive_field(&self) -> usize {
        self.weights.receptive_field
    }

    /// Puts the model into the state it reaches after an arbitrarily long silence. Under silence
    /// every convolution input becomes a constant column, so instead of running
    /// `receptive_field()` samples this fills each history with its column, layer by layer:
    /// O(layers), allocation-free, and bit-identical to feeding the zeros.
    fn fill_steady_state(&mut self) {
        let _flush = FlushDenormals::new();
        let n_in = self.weights.in_channels;
        self.scratch.u[..n_in].fill(0.0);
        self.run_dispatch(1, true);
    }

    /// Back to the state after NAM Core's first `Reset`, by a copy (allocation-free).
    pub fn reset(&mut self) {
        match self.prewarmed.take() {
            Some(snapshot) => {
                self.copy_state_from(&snapshot);
                self.prewarmed = Some(snapshot);
            }
            None => self.fill_steady_state(),
        }
    }

    /// NAM Core's `prewarm()`: silence from the current state. Without a recurrent condition_dsp
    /// that state is the steady one; with one, [`WaveNet::prewarm_samples`] zeros are run.
    pub fn prewarm(&mut self) {
        if self.counts_prewarm() {
            self.feed_zeros(self.prewarm_samples());
        } else {
            self.fill_steady_state();
        }
    }

    /// Processes `buffer` in place (streaming: the state carries over between calls).
    pub fn process_buffer(&mut self, buffer: &mut [f32]) {
        self.dispatch(buffer, false);
    }

    /// Runs `buffer` in the kernel variant chosen at load, with denormals flushed (restored after).
    #[inline(always)]
    fn dispatch(&mut self, buffer: &mut [f32], steady: bool) {
        let _flush = FlushDenormals::new();
        // SAFETY (both): `Kernels::Avx2` / `Avx2Fma` are only chosen when the CPU reports AVX2 /
        // AVX2 and FMA (simd.rs).
        #[cfg(target_arch = "x86_64")]
        match self.kernels {
            Kernels::Avx2 => return unsafe { self.process_chunks_avx2(buffer, steady) },
            Kernels::Avx2Fma => return unsafe { self.process_chunks_fma(buffer, steady) },
            Kernels::Portable => {}
        }
        self.process_chunks::<PortableVariant>(buffer, steady);
    }

    /// Interleaved multi-channel processing: the model's frame-major layout, so each chunk is one copy in and out.
    pub(crate) fn process_frames(&mut self, mut io: crate::net::Frames<'_>, frames: usize) {
        let _flush = FlushDenormals::new();
        let (ci, co) = self.channels();
        for start in (0..frames).step_by(MAX_FRAMES) {
            let f = MAX_FRAMES.min(frames - start);
            self.scratch.u[..f * ci].copy_from_slice(io.input(start * ci..(start + f) * ci));
            self.run_dispatch(f, false);
            io.output(start * co..(start + f) * co).copy_from_slice(&self.scratch.out[..f * co]);
        }
    }

    /// The same code compiled for AVX2 (no FMA: results are bit-identical to the portable path).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn process_chunks_avx2(&mut self, buffer: &mut [f32], steady: bool) {
        self.process_chunks::<Avx2Variant>(buffer, steady);
    }

    /// Compiled for AVX2 + FMA, with fused multiply-adds in the dense products.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn process_chunks_fma(&mut self, buffer: &mut [f32], steady: bool) {
        self.process_chunks::<FmaVariant>(buffer, steady);
    }

    /// Mono chunks of at most `MAX_FRAMES` frames, in place (top-level models are 1-in/1-out).
    #[inline(always)]
    fn process_chunks<V: Variant>(&mut self, buffer: &mut [f32], steady: bool) {
        for io in buffer.chunks_mut(MAX_FRAMES) {
            let frames = io.len();
            self.scratch.u[..frames].copy_from_slice(io);
            self.run::<V>(frames, steady);
            io.copy_from_slice(&self.scratch.out[..frames]);
        }
    }

    /// [`WaveNet::run`] as its own (recursive) function for a condition_dsp, in the variant of the
    /// kernels this model was built for. `run` itself must stay inlinable into the entry points
    /// compiled per variant, which a directly recursive call would prevent.
    #[inline(never)]
    fn run_dispatch(&mut self, frames: usize, steady: bool) {
        // SAFETY (both): as in `dispatch`.
        #[cfg(target_arch = "x86_64")]
        match self.kernels {
            Kernels::Avx2 => return unsafe { self.run_avx2(frames, steady) },
            Kernels::Avx2Fma => return unsafe { self.run_fma(frames, steady) },
            Kernels::Portable => {}
        }
        self.run::<PortableVariant>(frames, steady);
    }

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
}

/// Reads one layer array's weights in NAM Core's order (spec §3.2).
fn read_array(reader: &mut WeightReader<'_>, a: &ArrayConfig) -> Result<LayerArray> {
    let rechannel = Conv::read(reader, a.input_size, a.channels, 1, 1, false)?;
    let mut layers = Vec::with_capacity(a.dilations.len());
    for l in 0..a.dilations.len() {
        let out = a.conv_out(l);
        let conv =
            Conv::read_grouped(reader, a.channels, out, a.kernel_sizes[l], a.dilations[l], true, a.groups_input)?;
        let mixin = Conv::read_grouped(reader, a.condition_size, out, 1, 1, false, a.groups_mixin)?;
        let layer1x1 = match a.layer1x1 {
            Some(groups) => Some(Conv::read_grouped(reader, a.bottleneck, a.channels, 1, 1, true, groups)?),
            None => None,
        };
        let head1x1 = match a.head1x1 {
            Some((h1, groups)) => Some(Conv::read_grouped(reader, a.bottleneck, h1, 1, 1, true, groups)?),
            None => None,
        };
        let mut films: [Option<Film>; 8] = Default::default();
        for (site, film) in a.films.iter().enumerate() {
            if let Some(f) = film {
                let dim = a.film_dim(site, l);
                let rows = if f.shift { 2 * dim } else { dim };
                let conv = Conv::read_grouped(reader, a.condition_size, rows, 1, 1, true, f.groups)?;
                films[site] = Some(Film { conv, dim, shift: f.shift });
            }
        }
        layers.push(Layer {
            conv,
            mixin,
            layer1x1,
            head1x1,
            films,
            activation: a.activations[l].clone(),
            gating: a.gating[l].clone(),
            trainer_residual: a.semantics == Semantics::Trainer,
        });
    }
    let head = Conv::read(reader, a.head_input(), a.head_size, a.head_kernel_size, a.head_dilation, a.head_bias)?;
    Ok(LayerArray {
        rechannel,
        layers,
        head,
        channels: a.channels,
        bottleneck: a.bottleneck,
        head_input: a.head_input(),
    })
}

impl Scratch {
    fn new(w: &Weights) -> Scratch {
        let layers = || w.arrays.iter().flat_map(|a| a.layers.iter());
        let max_c = w.arrays.iter().map(|a| a.channels.max(a.rechannel.in_channels)).max().unwrap_or(1);
        let max_post = w.post_head.iter().map(|c| c.out_channels.max(c.in_channels)).max().unwrap_or(0);
        let max_z = layers().map(|l| l.conv.out_channels).max().unwrap_or(1).max(max_post);
        let max_film = layers().flat_map(|l| l.films.iter().flatten().map(|f| f.conv.out_channels)).max().unwrap_or(0);
        let max_h = layers().filter_map(|l| l.head1x1.as_ref().map(|h| h.out_channels)).max().unwrap_or(0);
        let max_head = w.arrays.iter().map(|a| a.head.out_channels.max(a.head_input)).max().unwrap_or(1);
        let buf = |width: usize| vec![0.0f32; MAX_FRAMES * width];
        Scratch {
            u: buf(w.in_channels),
            cond: buf(w.cond_channels),
            x_cur: buf(max_c),
            x_next: buf(max_c),
            z: buf(max_z),
            zm: buf(max_z),
            q: buf(w.cond_channels),
            film: buf(max_film),
            h: buf(max_h),
            head_out: buf(max_head),
            out: buf(w.out_channels),
        }
    }
}
