//! LSTM (NAM Core `NAM/lstm.cpp`): stacked cells with PyTorch gate order i, f, g, o, one
//! `[4H][I+H]` matrix per layer over `[x; h]`, and a linear head on the last hidden state.

use std::sync::Arc;

use crate::activation::{fast_sigmoid, fast_tanh, sigmoid};
use crate::conv::WeightReader;
use crate::error::{NamError, Result};
use crate::json::Field;
use crate::math::tanh_f32;
use crate::options::LoadOptions;
#[cfg(target_arch = "x86_64")]
use crate::simd::{Avx2Variant, FmaVariant};
use crate::simd::{Kernels, PortableVariant, Variant};

#[derive(Debug)]
struct Cell {
    input_size: usize,
    /// The file's `[4H][I+H]` matrix stored transposed (`[I+H][4H]`), so the product runs as a
    /// sum of columns that vectorises over the gates, in the same order as a row-by-row dot product.
    wt: Vec<f32>,
    b: Vec<f32>,
}

#[derive(Debug)]
struct Weights {
    hidden: usize,
    cells: Vec<Cell>,
    in_channels: usize,
    out_channels: usize,
    /// Head `[out][H]` row-major and its biases.
    head_w: Vec<f32>,
    head_b: Vec<f32>,
    /// `[h_0, c_0]` of every layer as stored in the file.
    initial_state: Vec<f32>,
    prewarm_samples: usize,
    /// NAM Core's `GetPrewarmSamples()` (unrounded; what a parent WaveNet adds for it as a condition).
    core_prewarm: usize,
    /// NAM Core's `using_fast_tanh`: fast sigmoid and tanh in every gate.
    fast_tanh: bool,
}

/// An LSTM model with its streaming state.
#[derive(Debug, Clone)]
pub struct Lstm {
    weights: Arc<Weights>,
    /// For each layer: `h` (H floats) then `c` (H floats).
    state: Vec<f32>,
    /// The state after the load-time prewarm; [`Lstm::reset`] copies it back.
    snapshot: Vec<f32>,
    /// `[x; h]` of the current cell (the model input goes in first).
    xh: Vec<f32>,
    gates: Vec<f32>,
    /// Output of the last step, one value per output channel.
    out: Vec<f32>,
    kernels: Kernels,
}

/// NAM Core's `LSTM::GetPrewarmSamples`: half a second at the file's rate, or 1 when it is unknown.
fn core_prewarm_samples(sample_rate: Option<f64>) -> usize {
    let half = sample_rate.map_or(-1.0, |sr| (0.5 * sr).trunc());
    if half <= 0.0 {
        1
    } else {
        // Saturates for absurd rates; the caller checks the limit.
        half.min(usize::MAX as f64) as usize
    }
}

/// NAM Core's first `Reset(sr, 64)` feeds zeros in whole 64-frame blocks until the prewarm count
/// is reached, so the count is rounded up to a multiple of 64.
const CORE_RESET_BLOCK: usize = 64;

impl Lstm {
    /// Builds an LSTM and prewarms it exactly as NAM Core's first `Reset(sr, 64)` does.
    pub fn new(
        config: &serde_json::Value,
        weights: &[f32],
        sample_rate: Option<f64>,
        options: &LoadOptions,
    ) -> Result<Lstm> {
        let root = Field::new(config, "config").object()?;
        let limits = &options.limits;
        let layers = root.req("num_layers")?.usize()?;
        let input_size = root.req("input_size")?.positive()?;
        let hidden = root.req("hidden_size")?.positive()?;
        options.check_limit("config.num_layers", limits.max_layers, layers)?;
        options.check_limit("config.hidden_size (channels)", limits.max_channels, hidden)?;
        let channel_count = |key: &str| -> Result<usize> {
            let n = match root.get_some(key) {
                Some(f) => f.positive()?,
                None => 1,
            };
            options.check_limit(&format!("config.{key}"), limits.max_channels, n)?;
            Ok(n)
        };
        let (in_channels, out_channels) = (channel_count("in_channels")?, channel_count("out_channels")?);
        options.check_limit("config.input_size", limits.max_channels, input_size)?;
        // Core copies `in_channels` samples into an `input_size` vector: anything but equality
        // reads uninitialised memory or writes out of bounds there.
        if input_size != in_channels {
            return Err(NamError::format(
                "config.input_size",
                format!("expected in_channels = {in_channels} (one input per channel), got {input_size}"),
            ));
        }
        let expected: usize = (0..layers)
            .map(|l| {
                let i = if l == 0 { input_size } else { hidden };
                4 * hidden * (i + hidden) + 4 * hidden + 2 * hidden
            })
            .sum::<usize>()
            + out_channels * hidden
            + out_channels;
        if weights.len() != expected {
            return Err(NamError::WeightCount { expected, got: weights.len() });
        }

        let mut reader = WeightReader::new(weights);
        let mut cells = Vec::with_capacity(layers);
        let mut initial_state = Vec::with_capacity(2 * hidden * layers);
        for l in 0..layers {
            let i = if l == 0 { input_size } else { hidden };
            let (rows, cols) = (4 * hidden, i + hidden);
            let w = reader.take(rows * cols)?;
            let mut wt = vec![0.0; rows * cols];
            for r in 0..rows {
                for c in 0..cols {
                    wt[c * rows + r] = w[r * cols + c];
                }
            }
            let b = reader.take(4 * hidden)?.to_vec();
            initial_state.extend_from_slice(reader.take(2 * hidden)?);
            cells.push(Cell { input_size: i, wt, b });
        }
        let head_w = reader.take(out_channels * hidden)?.to_vec();
        let head_b = reader.take(out_channels)?.to_vec();
        reader.finish()?;

        // The trainer runs from the file's h0/c0 as they are (they already are its state after a
        // second of silence); NAM Core prewarms half a second more on top.
        let prewarm = if options.semantics == crate::Semantics::Trainer {
            0
        } else {
            // Bounded before the loop: a hostile sample_rate must not make loading take forever.
            let core = core_prewarm_samples(sample_rate);
            options.check_limit(
                "LSTM prewarm length (half a second at sample_rate)",
                limits.max_prewarm_samples,
                core,
            )?;
            core.div_ceil(CORE_RESET_BLOCK) * CORE_RESET_BLOCK
        };
        let weights = Arc::new(Weights {
            hidden,
            cells,
            in_channels,
            out_channels,
            head_w,
            head_b,
            initial_state,
            prewarm_samples: prewarm,
            core_prewarm: core_prewarm_samples(sample_rate),
            fast_tanh: options.fast_tanh,
        });
        let mut model = Lstm {
            state: weights.initial_state.clone(),
            snapshot: weights.initial_state.clone(),
            xh: vec![0.0; input_size.max(hidden) + hidden],
            gates: vec![0.0; 4 * hidden],
            out: vec![0.0; out_channels],
            kernels: Kernels::select_fma(options),
            weights,
        };
        model.prewarm();
        model.snapshot.copy_from_slice(&model.state);
        Ok(model)
    }

    pub fn channels(&self) -> (usize, usize) {
        (self.weights.in_channels, self.weights.out_channels)
    }

    /// Multiply-adds per sample: the gate products of every cell and the head.
    pub fn macs_per_sample(&self) -> usize {
        let w = &*self.weights;
        w.cells.iter().map(|c| 4 * w.hidden * (c.input_size + w.hidden)).sum::<usize>() + w.out_channels * w.hidden
    }

    /// Interleaved multi-channel processing, one frame at a time.
    pub(crate) fn process_frames(&mut self, io: crate::net::Frames<'_>, frames: usize) {
        self.dispatch(Io::Frames(io, frames));
    }

    /// Zeros fed at load (and by [`Lstm::prewarm`]).
    pub fn prewarm_samples(&self) -> usize {
        self.weights.prewarm_samples
    }

    /// NAM Core's `GetPrewarmSamples()`: half a second at the file's rate (1 when it has none).
    pub(crate) fn core_prewarm_samples(&self) -> usize {
        self.weights.core_prewarm
    }

    /// Feeds `prewarm_samples()` zeros from the current state (NAM Core's `prewarm()`).
    pub fn prewarm(&mut self) {
        for _ in 0..self.weights.prewarm_samples {
            self.xh[..self.weights.in_channels].fill(0.0);
            self.step();
        }
    }

    /// Restores the state right after the load-time prewarm (a copy; no allocation); with
    /// `Semantics::Trainer` that is the file's h0/c0.
    pub fn reset(&mut self) {
        self.state.copy_from_slice(&self.snapshot);
    }

    /// Back to the file's h0/c0, before any prewarm (a WaveNet with this LSTM as its condition_dsp
    /// prewarms the whole chain from there, as NAM Core does).
    pub(crate) fn restart(&mut self) {
        self.state.copy_from_slice(&self.weights.initial_state);
    }

    /// Copies the state of `other`, the same model (no allocation).
    pub(crate) fn copy_state_from(&mut self, other: &Lstm) {
        self.state.copy_from_slice(&other.state);
    }

    /// Processes `buffer` in place, one sample at a time (the recurrence allows nothing else).
    pub fn process_buffer(&mut self, buffer: &mut [f32]) {
        self.dispatch(Io::Mono(buffer));
    }

    /// Runs `io` in the kernel variant chosen at load (once per call, not per sample).
    #[inline(always)]
    fn dispatch(&mut self, io: Io<'_>) {
        // SAFETY (both): `Kernels::Avx2` / `Avx2Fma` are only chosen when the CPU reports AVX2 /
        // AVX2 and FMA (simd.rs).
        #[cfg(target_arch = "x86_64")]
        match self.kernels {
            Kernels::Avx2 => return unsafe { self.run_avx2(io) },
            Kernels::Avx2Fma => return unsafe { self.run_fma(io) },
            Kernels::Portable => {}
        }
        self.run::<PortableVariant>(io);
    }

    /// The same code compiled for AVX2 (no FMA: results are bit-identical to the portable path).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn run_avx2(&mut self, io: Io<'_>) {
        self.run::<Avx2Variant>(io);
    }

    /// Compiled for AVX2 + FMA (fused multiply-adds in the gate products and the activations).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_fma(&mut self, io: Io<'_>) {
        self.run::<FmaVariant>(io);
    }

    #[inline(always)]
    fn run<V: Variant>(&mut self, io: Io<'_>) {
        match io {
            Io::Mono(buffer) => {
                for x in buffer {
                    self.xh[0] = *x;
                    self.step_with::<V>();
                    *x = self.out[0];
                }
            }
            Io::Frames(mut io, frames) => {
                let (ci, co) = self.channels();
                for t in 0..frames {
                    self.xh[..ci].copy_from_slice(io.input(t * ci..(t + 1) * ci));
                    self.step_with::<V>();
                    io.output(t * co..(t + 1) * co).copy_from_slice(&self.out);
                }
            }
        }
    }

    /// One time step in the kernel variant chosen at load (the prewarm's path; streaming
    /// dispatches once per buffer instead).
    fn step(&mut self) {
        // SAFETY (both): as in `dispatch`.
        #[cfg(target_arch = "x86_64")]
        match self.kernels {
            Kernels::Avx2 => return unsafe { self.step_avx2() },
            Kernels::Avx2Fma => return unsafe { self.step_fma() },
            Kernels::Portable => {}
        }
        self.step_with::<PortableVariant>();
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn step_avx2(&mut self) {
        self.step_with::<Avx2Variant>();
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn step_fma(&mut self) {
        self.step_with::<FmaVariant>();
    }

    /// One time step from the input in `xh[..in_channels]` into `out`, in the kernel variant `V`
    /// (a vector cell kernel for hidden sizes 8/16/24/32 in exact mode, the scalar loops otherwise).
    #[inline(always)]
    fn step_with<V: Variant>(&mut self) {
        let w = &*self.weights;
        let h = w.hidden;
        if w.cells.is_empty() {
            // Core passes the input through (first min(in, out) channels; the rest are zero).
            for (c, y) in self.out.iter_mut().enumerate() {
                *y = if c < w.in_channels { self.xh[c] } else { 0.0 };
            }
            return;
        }
        for (l, cell) in w.cells.iter().enumerate() {
            let (hs, cs) = self.state[2 * h * l..2 * h * (l + 1)].split_at_mut(h);
            if !w.fast_tanh && V::lstm_cell(&self.xh[..cell.input_size], &cell.wt, &cell.b, hs, cs) {
                self.xh[..h].copy_from_slice(hs);
                continue;
            }
            let cols = cell.input_size + h;
            // [x; h]: layer 0 takes the sample, later layers the new h of the layer below.
            self.xh[cell.input_size..cols].copy_from_slice(hs);
            // gates = W·[x; h] + b (NAM Core: the product first, then the bias).
            let rows = 4 * h;
            self.gates.fill(0.0);
            for (col, &xv) in cell.wt.chunks_exact(rows).zip(&self.xh[..cols]) {
                for (g, &wv) in self.gates.iter_mut().zip(col) {
                    *g += wv * xv;
                }
            }
            for (g, &bv) in self.gates.iter_mut().zip(&cell.b) {
                *g += bv;
            }
            if w.fast_tanh {
                update_cell(&mut self.gates, cs, hs, fast_sigmoid, fast_tanh);
            } else {
                update_cell(&mut self.gates, cs, hs, sigmoid, tanh_f32);
            }
            // The next layer's input is this layer's new h.
            self.xh[..h].copy_from_slice(hs);
        }
        let last = &self.state[2 * h * (w.cells.len() - 1)..2 * h * (w.cells.len() - 1) + h];
        for ((y, row), &b) in self.out.iter_mut().zip(w.head_w.chunks_exact(h)).zip(&w.head_b) {
            let mut acc = 0.0f32;
            for (wv, hv) in row.iter().zip(last) {
                acc += wv * hv;
            }
            *y = acc + b;
        }
    }
}

/// What one streaming call processes: a mono buffer in place, or interleaved frames.
enum Io<'a> {
    Mono(&'a mut [f32]),
    Frames(crate::net::Frames<'a>, usize),
}

/// NAM Core's cell update, c = σ(f)·c + σ(i)·tanh(g), h = σ(o)·tanh(c), with each activation run
/// as its own loop over a contiguous block so it vectorises (generic, so the maths is inlined).
#[inline(always)]
fn update_cell(gates: &mut [f32], c: &mut [f32], h: &mut [f32], sig: impl Fn(f32) -> f32, tanh: impl Fn(f32) -> f32) {
    let n = c.len();
    let (ifg, go) = gates.split_at_mut(3 * n);
    let (gate_if, gg) = ifg.split_at_mut(2 * n);
    gate_if.iter_mut().for_each(|v| *v = sig(*v));
    gg.iter_mut().for_each(|v| *v = tanh(*v));
    go.iter_mut().for_each(|v| *v = sig(*v));
    let (gi, gf) = gate_if.split_at(n);
    for j in 0..n {
        c[j] = gf[j] * c[j] + gi[j] * gg[j];
    }
    for j in 0..n {
        h[j] = go[j] * tanh(c[j]);
    }
}
