//! WaveNet kernels (NAM Core `NAM/wavenet`): layer arrays of dilated convolutions with a 1×1
//! mixer of the conditioning input, gated/blended activations, residual 1×1s and a head
//! accumulator per array. Parsing lives in `config.rs`; this file only computes.

mod config;

use std::sync::Arc;

use config::{Gating, WaveNetConfig};

use crate::activation::Activation;
use crate::conv::{Conv, Ring, WeightReader};
use crate::error::{NamError, Result};
use crate::options::LoadOptions;
use crate::simd::Kernels;

/// Frames processed per internal chunk: bounds the scratch memory; any host block size works.
pub(crate) const MAX_FRAMES: usize = 128;

#[derive(Debug)]
struct Layer {
    conv: Conv,
    mixin: Conv,
    layer1x1: Conv,
    activation: Activation,
    gating: Gating,
}

#[derive(Debug)]
struct LayerArray {
    rechannel: Conv,
    layers: Vec<Layer>,
    head: Conv,
    channels: usize,
    bottleneck: usize,
}

/// Immutable weights, shared between copies of a model.
#[derive(Debug)]
struct Weights {
    arrays: Vec<LayerArray>,
    head_scale: f32,
    receptive_field: usize,
}

/// Per-array streaming state: one input-history ring per layer plus the head accumulator ring.
#[derive(Debug, Clone)]
struct ArrayState {
    rings: Vec<Ring>,
    head_ring: Ring,
}

/// Scratch buffers sized at build time for `MAX_FRAMES` frames.
#[derive(Debug, Clone)]
struct Scratch {
    /// The conditioning input (the raw model input) of the chunk.
    cond: Vec<f32>,
    /// Pre-activation / activation of the current layer, `[frame][conv_out]`.
    z: Vec<f32>,
    /// Residual output of the last layer of an array = input of the next array.
    xfer: Vec<f32>,
    /// Head output of the last array processed.
    head_out: Vec<f32>,
}

/// A WaveNet model with its streaming state.
#[derive(Debug, Clone)]
pub struct WaveNet {
    weights: Arc<Weights>,
    arrays: Vec<ArrayState>,
    scratch: Scratch,
    kernels: Kernels,
}

impl WaveNet {
    /// Builds a WaveNet from its `config` and flat weights; the result is already prewarmed.
    pub fn new(config: &serde_json::Value, weights: &[f32], options: &LoadOptions) -> Result<WaveNet> {
        let config = WaveNetConfig::parse(config, options)?;
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
                layers + 2 * (a.head_kernel_size - 1) * a.head_dilation * a.bottleneck
            })
            .sum();
        options.check_limit(
            "WaveNet state memory (bytes)",
            options.limits.max_receptive_field.saturating_mul(4 * 64),
            state_floats.saturating_mul(4),
        )?;

        let mut reader = WeightReader::new(weights);
        let mut arrays = Vec::with_capacity(config.arrays.len());
        for a in &config.arrays {
            let rechannel = Conv::read(&mut reader, a.input_size, a.channels, 1, 1, false)?;
            let mut layers = Vec::with_capacity(a.dilations.len());
            for l in 0..a.dilations.len() {
                let out = a.conv_out(l);
                layers.push(Layer {
                    conv: Conv::read(&mut reader, a.channels, out, a.kernel_sizes[l], a.dilations[l], true)?,
                    mixin: Conv::read(&mut reader, a.condition_size, out, 1, 1, false)?,
                    layer1x1: Conv::read(&mut reader, a.bottleneck, a.channels, 1, 1, true)?,
                    activation: a.activations[l].clone(),
                    gating: a.gating[l].clone(),
                });
            }
            let head =
                Conv::read(&mut reader, a.bottleneck, a.head_size, a.head_kernel_size, a.head_dilation, a.head_bias)?;
            arrays.push(LayerArray { rechannel, layers, head, channels: a.channels, bottleneck: a.bottleneck });
        }
        // NAM Core uses the last weight, not config.head_scale.
        let head_scale = reader.take(1)?[0];
        reader.finish()?;

        let weights = Weights { arrays, head_scale, receptive_field: config.receptive_field() };
        let states = weights
            .arrays
            .iter()
            .map(|a| ArrayState {
                rings: a.layers.iter().map(|l| Ring::new(a.channels, l.conv.history(), MAX_FRAMES)).collect(),
                head_ring: Ring::new(a.bottleneck, a.head.history(), MAX_FRAMES),
            })
            .collect();
        let max_z = weights.arrays.iter().flat_map(|a| a.layers.iter().map(|l| l.conv.out_channels)).max().unwrap_or(1);
        let max_c = weights.arrays.iter().map(|a| a.channels).max().unwrap_or(1);
        let max_head = weights.arrays.iter().map(|a| a.head.out_channels).max().unwrap_or(1);
        let scratch = Scratch {
            cond: vec![0.0; MAX_FRAMES],
            z: vec![0.0; MAX_FRAMES * max_z],
            xfer: vec![0.0; MAX_FRAMES * max_c],
            head_out: vec![0.0; MAX_FRAMES * max_head],
        };
        let kernels = Kernels::select(options);
        let mut model = WaveNet { weights: Arc::new(weights), arrays: states, scratch, kernels };
        model.prewarm();
        Ok(model)
    }

    /// Receptive field in samples (1 + Σ (K−1)·d), which is also NAM Core's prewarm length.
    pub fn receptive_field(&self) -> usize {
        self.weights.receptive_field
    }

    /// Puts the model into the state it reaches after an arbitrarily long silence. Under silence
    /// every convolution input becomes a constant column, so instead of running
    /// `receptive_field()` samples this fills each history with its column, layer by layer:
    /// O(layers), allocation-free, and bit-identical to feeding the zeros.
    pub fn prewarm(&mut self) {
        let mut zero = [0.0f32];
        self.process_chunk(&mut zero, true);
    }

    /// Processes `buffer` in place (streaming: the state carries over between calls).
    pub fn process_buffer(&mut self, buffer: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if self.kernels == Kernels::Avx2 {
            // SAFETY: `Kernels::Avx2` is only chosen when the CPU reports AVX2 (simd.rs).
            return unsafe { self.process_buffer_avx2(buffer) };
        }
        self.process_chunks(buffer);
    }

    /// The same code compiled for AVX2 (no FMA: results are bit-identical to the portable path).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn process_buffer_avx2(&mut self, buffer: &mut [f32]) {
        self.process_chunks(buffer);
    }

    #[inline(always)]
    fn process_chunks(&mut self, buffer: &mut [f32]) {
        for chunk in buffer.chunks_mut(MAX_FRAMES) {
            self.process_chunk(chunk, false);
        }
    }

    /// One chunk of at most `MAX_FRAMES` frames, in place. With `steady` (one frame of silence),
    /// every history is first filled with the column the frame writes, which yields the steady
    /// state under a constant input.
    #[inline(always)]
    fn process_chunk(&mut self, io: &mut [f32], steady: bool) {
        let frames = io.len();
        debug_assert!(frames <= MAX_FRAMES);
        let Scratch { cond, z, xfer, head_out } = &mut self.scratch;
        cond[..frames].copy_from_slice(io);
        let n_arrays = self.weights.arrays.len();
        for (a, (array, state)) in self.weights.arrays.iter().zip(self.arrays.iter_mut()).enumerate() {
            let (c, b) = (array.channels, array.bottleneck);
            // Rechannel the array input into the first layer's history.
            let first = &mut state.rings[0];
            let start0 = first.prepare(frames);
            let input: &[f32] = if a == 0 { &cond[..frames] } else { &xfer[..frames * array.rechannel.in_channels] };
            array.rechannel.apply_1x1(input, array.rechannel.in_channels, frames, first.frames_mut(start0, frames), c);
            if steady {
                first.fill_history_from(start0);
            }
            // The head accumulator starts at the previous array's head output (or zero).
            let head_start = state.head_ring.prepare(frames);
            let s = state.head_ring.frames_mut(head_start, frames);
            if a == 0 {
                s.fill(0.0);
            } else {
                s.copy_from_slice(&head_out[..frames * b]);
            }

            let n_layers = array.layers.len();
            for (l, layer) in array.layers.iter().enumerate() {
                let (done, rest) = state.rings.split_at_mut(l + 1);
                let ring = &done[l];
                let start = ring.prepare_position();
                let g = layer.conv.out_channels;
                layer.conv.apply(ring.data(), start, frames, z, g);
                layer.mixin.accumulate_1x1(cond, 1, frames, z, g);
                activate(layer, z, frames, b);
                let s = state.head_ring.frames_mut(head_start, frames);
                if g == b {
                    for (sv, &av) in s.iter_mut().zip(&z[..frames * b]) {
                        *sv += av;
                    }
                } else {
                    for t in 0..frames {
                        for (sv, &av) in s[t * b..(t + 1) * b].iter_mut().zip(&z[t * g..t * g + b]) {
                            *sv += av;
                        }
                    }
                }
                // Residual: next = x + layer1x1(a). The last array's last residual is never used.
                let dest: &mut [f32] = if l + 1 < n_layers {
                    let next = &mut rest[0];
                    let next_start = next.prepare(frames);
                    next.frames_mut(next_start, frames)
                } else if a + 1 < n_arrays {
                    &mut xfer[..frames * c]
                } else {
                    continue;
                };
                layer.layer1x1.apply_1x1(z, g, frames, dest, c);
                let x = &ring.data()[start * c..(start + frames) * c];
                for (d, &xv) in dest.iter_mut().zip(x) {
                    *d += xv;
                }
                if steady && l + 1 < n_layers {
                    let next = &mut rest[0];
                    let p = next.prepare_position();
                    next.fill_history_from(p);
                }
            }
            if steady {
                state.head_ring.fill_history_from(head_start);
            }
            array.head.apply(state.head_ring.data(), head_start, frames, head_out, array.head.out_channels);
            for ring in &mut state.rings {
                ring.advance(frames);
            }
            state.head_ring.advance(frames);
        }
        let scale = self.weights.head_scale;
        for (y, h) in io.iter_mut().zip(head_out.iter()) {
            *y = scale * *h;
        }
    }
}

/// Applies the layer's activation (and gating) to the pre-activation `z` (`[frame][g]`), leaving
/// the `b` activated values at the start of each frame.
#[inline(always)]
fn activate(layer: &Layer, z: &mut [f32], frames: usize, b: usize) {
    let g = layer.conv.out_channels;
    match &layer.gating {
        Gating::None => layer.activation.apply(z, frames, g, b),
        Gating::Gated(secondary) => {
            layer.activation.apply(z, frames, g, b);
            secondary.apply(&mut z[b..], frames, g, b);
            for t in 0..frames {
                let (top, bottom) = z[t * g..(t + 1) * g].split_at_mut(b);
                for (p, &q) in top.iter_mut().zip(bottom.iter()) {
                    *p *= q;
                }
            }
        }
        Gating::Blended(secondary) => {
            secondary.apply(&mut z[b..], frames, g, b);
            for t in 0..frames {
                let (top, bottom) = z[t * g..(t + 1) * g].split_at_mut(b);
                for (ch, (p, &alpha)) in top.iter_mut().zip(bottom.iter()).enumerate() {
                    let x = *p;
                    *p = alpha * layer.activation.apply_one(x, ch) + (1.0 - alpha) * x;
                }
            }
        }
    }
}
