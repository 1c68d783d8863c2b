//! Linear (NAM Core `NAM/linear.cpp`): an FIR filter `y[t] = b + Σ_k w[k]·x[t−k]` with Core's tap
//! order (`w[0]` multiplies the newest sample), run on the first `min(in, out)` channels.
//!
//! Two kernels, chosen like Core's `implementation` (`auto`: direct up to 256 taps):
//! - direct form: one dot product per sample;
//! - zero-latency uniformly partitioned FFT convolution: the first `B` taps run in direct form and
//!   the rest as `P` partitions of `B` taps, multiplied in the frequency domain (FFT size `2B`) with
//!   the spectra of the last `P` input blocks. A block's result is due one sample after the block
//!   completes, so nothing is delayed.
//!
//! The partitioned sum `Σ_{p≥1} X_{q+1−p}·H_p` needed when block `q+1` completes depends only on
//! blocks that are already complete, so it is accumulated a few partitions per sample while block
//! `q+1` fills. The sample that completes a block then does one forward FFT, one spectrum product
//! and one inverse FFT, whatever the filter length: the CPU spike is bounded by the block size,
//! not the filter length. Every step happens at a fixed sample index, so the output does not
//! depend on how the stream is split into calls (bit-identical), and nothing allocates after load.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use crate::conv::Ring;
use crate::error::{NamError, Result};
use crate::json::Field;
use crate::options::LoadOptions;

/// Core's `auto` rule: direct form up to this many taps, partitioned FFT above.
const AUTO_DIRECT_MAX_TAPS: usize = 256;
/// Frames per internal chunk of the direct path's history.
const CHUNK: usize = 256;

/// Which kernel runs a Linear model (the file's `implementation`, or a load-time override).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinearImplementation {
    /// Direct form up to 256 taps, partitioned FFT above (NAM Core's default).
    Auto,
    Direct,
    /// Zero-latency partitioned FFT convolution.
    Fft,
}

impl LinearImplementation {
    /// Core's names, case-insensitive: `auto`, `direct`/`legacy`/`old`, `fft`/`partitioned_fft`/`partitioned-fft`.
    pub fn parse(name: &str) -> Option<LinearImplementation> {
        match name.to_ascii_lowercase().as_str() {
            "auto" => Some(LinearImplementation::Auto),
            "direct" | "legacy" | "old" => Some(LinearImplementation::Direct),
            "fft" | "partitioned_fft" | "partitioned-fft" => Some(LinearImplementation::Fft),
            _ => None,
        }
    }
}

/// Core's FFT block size by filter length.
fn fft_block_size(taps: usize) -> usize {
    match taps {
        0..=2048 => 256,
        2049..=8192 => 512,
        _ => 1024,
    }
}

/// The frequency-domain part of a long filter.
struct FftPlan {
    block: usize,
    /// `H_p`, `p = 0..P`: spectra (B+1 bins) of the zero-padded tap partitions after the direct head.
    kernels: Vec<Vec<Complex<f32>>>,
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
}

impl std::fmt::Debug for FftPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FftPlan").field("block", &self.block).field("partitions", &self.kernels.len()).finish()
    }
}

#[derive(Debug)]
struct Weights {
    /// The direct-form taps, oldest first (Core's `_weight`): `taps[D−1−k] = w[k]`.
    direct: Vec<f32>,
    bias: f32,
    taps: usize,
    in_channels: usize,
    out_channels: usize,
    fft: Option<FftPlan>,
}

/// Streaming state of one filtered channel.
#[derive(Debug, Clone)]
struct ChannelState {
    history: Ring,
    fft: Option<FftState>,
}

#[derive(Debug, Clone)]
struct FftState {
    /// Samples of the block being filled.
    block: Vec<f32>,
    filled: usize,
    /// Input spectra of the last `P` blocks (ring; `slot` is where the next one goes).
    spectra: Vec<Vec<Complex<f32>>>,
    slot: usize,
    /// `Σ_{p≥1} X·H_p` for the block being filled, and how many partitions it holds so far.
    pending: Vec<Complex<f32>>,
    pending_done: usize,
    /// Overlap-add ring of future outputs (2B samples, indexed by absolute sample mod 2B).
    tail: Vec<f32>,
    tail_pos: usize,
    /// FFT work buffers.
    time: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
}

/// A Linear (FIR) model with its streaming state.
#[derive(Debug, Clone)]
pub struct Linear {
    weights: Arc<Weights>,
    channels: Vec<ChannelState>,
    /// One channel of an interleaved chunk, gathered for processing.
    gather: Vec<f32>,
}

impl Linear {
    pub fn new(config: &serde_json::Value, weights: &[f32], options: &LoadOptions) -> Result<Linear> {
        let root = Field::new(config, "config").object()?;
        let taps = root.req("receptive_field")?.positive()?;
        options.check_limit("config.receptive_field", options.limits.max_receptive_field, taps)?;
        let bias = root.req("bias")?.bool()?;
        let channel_count = |key: &str| -> Result<usize> {
            let n = match root.get_some(key) {
                Some(f) => f.positive()?,
                None => 1,
            };
            options.check_limit(&format!("config.{key}"), options.limits.max_channels, n)?;
            Ok(n)
        };
        let (in_channels, out_channels) = (channel_count("in_channels")?, channel_count("out_channels")?);
        let requested = match root.get_some("implementation") {
            Some(f) => {
                let name = f.string()?;
                LinearImplementation::parse(name).ok_or_else(|| {
                    f.error(format!(
                        "unknown implementation {name:?} (expected auto, direct, legacy, old, fft, partitioned_fft or partitioned-fft)"
                    ))
                })?
            }
            None => LinearImplementation::Auto,
        };
        let implementation = options.linear_implementation.unwrap_or(requested);
        let expected = taps + usize::from(bias);
        if weights.len() != expected {
            return Err(NamError::WeightCount { expected, got: weights.len() });
        }
        // NAM Core: w[0] multiplies the newest sample; the trainer's PyTorch conv: w[K−1] does.
        let reversed: Vec<f32>;
        let w = if options.semantics == crate::Semantics::Trainer {
            reversed = weights[..taps].iter().rev().copied().collect();
            &reversed[..]
        } else {
            &weights[..taps]
        };
        let use_fft = match implementation {
            LinearImplementation::Direct => false,
            LinearImplementation::Fft => true,
            LinearImplementation::Auto => taps > AUTO_DIRECT_MAX_TAPS,
        };
        let block = fft_block_size(taps);
        let direct_taps = if use_fft { taps.min(block) } else { taps };
        let direct: Vec<f32> = w[..direct_taps].iter().rev().copied().collect();
        let fft = if use_fft && taps > direct_taps { Some(FftPlan::new(&w[direct_taps..], block)) } else { None };
        let weights = Arc::new(Weights {
            direct,
            bias: if bias { weights[taps] } else { 0.0 },
            taps,
            in_channels,
            out_channels,
            fft,
        });
        let channels = (0..in_channels.min(out_channels)).map(|_| ChannelState::new(&weights)).collect();
        Ok(Linear { weights, channels, gather: vec![0.0; CHUNK] })
    }

    pub fn channels(&self) -> (usize, usize) {
        (self.weights.in_channels, self.weights.out_channels)
    }

    /// Taps of the filter (NAM Core's `receptive_field`).
    pub fn receptive_field(&self) -> usize {
        self.weights.taps
    }

    /// Whether the partitioned FFT kernel runs (else the direct form).
    pub fn uses_fft(&self) -> bool {
        self.weights.fft.is_some()
    }

    /// Multiply-adds per sample and channel: the direct taps plus, for the FFT kernel, the
    /// spectrum products (4 real per complex bin) and two FFTs of size 2B amortised over B samples.
    pub fn macs_per_sample(&self) -> usize {
        let w = &*self.weights;
        let per_channel = match &w.fft {
            None => w.taps,
            Some(plan) => {
                let (b, p) = (plan.block, plan.kernels.len());
                let n = 2 * b;
                let fft = n * (usize::BITS - n.leading_zeros()) as usize;
                w.direct.len() + (4 * p * (b + 1) + fft) / b
            }
        };
        per_channel * self.channels.len()
    }

    /// Zero state (Core prewarms a Linear with 0 samples; a fresh filter has silent history).
    pub fn reset(&mut self) {
        for ch in &mut self.channels {
            ch.reset();
        }
    }

    /// Processes mono audio in place (the first channel; a model without a filtered channel outputs 0).
    pub fn process_buffer(&mut self, buffer: &mut [f32]) {
        match self.channels.first_mut() {
            Some(ch) => ch.process(&self.weights, buffer),
            None => buffer.fill(0.0),
        }
    }

    /// Interleaved processing: each filtered channel is gathered chunk by chunk, filtered and
    /// scattered back; outputs beyond `min(in, out)` are zero.
    pub(crate) fn process_frames(&mut self, mut io: crate::net::Frames<'_>, frames: usize) {
        let (ci, co) = self.channels();
        for (c, ch) in self.channels.iter_mut().enumerate() {
            for start in (0..frames).step_by(CHUNK) {
                let f = CHUNK.min(frames - start);
                let input = io.input(start * ci..(start + f) * ci);
                for (g, frame) in self.gather[..f].iter_mut().zip(input.chunks_exact(ci)) {
                    *g = frame[c];
                }
                ch.process(&self.weights, &mut self.gather[..f]);
                let output = io.output(start * co..(start + f) * co);
                for (&g, frame) in self.gather[..f].iter().zip(output.chunks_exact_mut(co)) {
                    frame[c] = g;
                }
            }
        }
        for t in 0..frames {
            io.output(t * co..(t + 1) * co)[self.channels.len()..].fill(0.0);
        }
    }
}

impl FftPlan {
    fn new(rest: &[f32], block: usize) -> FftPlan {
        let mut planner = RealFftPlanner::<f32>::new();
        let forward = planner.plan_fft_forward(2 * block);
        let inverse = planner.plan_fft_inverse(2 * block);
        let mut time = forward.make_input_vec();
        let mut scratch = forward.make_scratch_vec();
        let kernels = rest
            .chunks(block)
            .map(|part| {
                time.fill(0.0);
                time[..part.len()].copy_from_slice(part);
                let mut spectrum = forward.make_output_vec();
                // Lengths come from the plan itself, so this cannot fail.
                let _ = forward.process_with_scratch(&mut time, &mut spectrum, &mut scratch);
                spectrum
            })
            .collect();
        FftPlan { block, kernels, forward, inverse }
    }
}

impl ChannelState {
    fn new(w: &Weights) -> ChannelState {
        let history = Ring::new(1, w.direct.len().saturating_sub(1), CHUNK);
        let fft = w.fft.as_ref().map(|plan| {
            let (b, p) = (plan.block, plan.kernels.len());
            let scratch_len =
                plan.forward.get_scratch_len().max(plan.inverse.get_scratch_len()).max(plan.inverse.complex_len());
            FftState {
                block: vec![0.0; b],
                filled: 0,
                spectra: vec![vec![Complex::default(); b + 1]; p],
                slot: 0,
                pending: vec![Complex::default(); b + 1],
                pending_done: 0,
                tail: vec![0.0; 2 * b],
                tail_pos: 0,
                time: vec![0.0; 2 * b],
                spectrum: vec![Complex::default(); b + 1],
                scratch: vec![Complex::default(); scratch_len],
            }
        });
        ChannelState { history, fft }
    }

    fn reset(&mut self) {
        self.history.clear();
        if let Some(s) = &mut self.fft {
            s.block.fill(0.0);
            s.filled = 0;
            for x in &mut s.spectra {
                x.fill(Complex::default());
            }
            s.slot = 0;
            s.pending.fill(Complex::default());
            s.pending_done = 0;
            s.tail.fill(0.0);
            s.tail_pos = 0;
        }
    }

    fn process(&mut self, w: &Weights, buffer: &mut [f32]) {
        let d = w.direct.len();
        for chunk in buffer.chunks_mut(CHUNK) {
            let frames = chunk.len();
            let start = self.history.prepare(frames);
            self.history.frames_mut(start, frames).copy_from_slice(chunk);
            let data = self.history.data();
            for (t, y) in chunk.iter_mut().enumerate() {
                let x = *y;
                let end = start + t + 1;
                let mut acc = w.bias + dot(&w.direct, &data[end - d..end]);
                if let (Some(plan), Some(state)) = (&w.fft, &mut self.fft) {
                    acc += state.push(plan, x);
                }
                *y = acc;
            }
            self.history.advance(frames);
        }
    }
}

impl FftState {
    /// Takes the partitioned part of the output for this sample and feeds the sample in.
    #[inline]
    fn push(&mut self, plan: &FftPlan, x: f32) -> f32 {
        let b = plan.block;
        let out = std::mem::take(&mut self.tail[self.tail_pos]);
        self.tail_pos = (self.tail_pos + 1) % (2 * b);
        self.block[self.filled] = x;
        self.filled += 1;
        // Spread Σ_{p≥1} over the block: after `filled` samples, ⌈filled·(P−1)/B⌉ partitions are in.
        let later = plan.kernels.len() - 1;
        let due = (self.filled * later).div_ceil(b);
        self.accumulate_pending(plan, due);
        if self.filled == b {
            self.complete_block(plan);
        }
        out
    }

    /// Adds partitions `pending_done+1 ..= due` (each with the input spectrum `p` blocks back).
    fn accumulate_pending(&mut self, plan: &FftPlan, due: usize) {
        let n = plan.kernels.len();
        while self.pending_done < due {
            let p = self.pending_done + 1;
            let x = &self.spectra[(self.slot + n - p) % n];
            for ((acc, &xv), &hv) in self.pending.iter_mut().zip(x).zip(&plan.kernels[p]) {
                *acc += xv * hv;
            }
            self.pending_done = p;
        }
    }

    /// The block is full: its spectrum times `H_0` plus the pending sum goes back to the time
    /// domain and is overlap-added into the outputs starting at the next sample.
    fn complete_block(&mut self, plan: &FftPlan) {
        let b = plan.block;
        let n = plan.kernels.len();
        self.time[..b].copy_from_slice(&self.block);
        self.time[b..].fill(0.0);
        let spectrum = &mut self.spectra[self.slot];
        let r = plan.forward.process_with_scratch(&mut self.time, spectrum, &mut self.scratch);
        debug_assert!(r.is_ok());
        for ((acc, &xv), (&hv, &pv)) in
            self.spectrum.iter_mut().zip(spectrum.iter()).zip(plan.kernels[0].iter().zip(&self.pending))
        {
            *acc = pv + xv * hv;
        }
        // A real signal's DC and Nyquist bins are real; make that exact for the inverse transform.
        self.spectrum[0].im = 0.0;
        self.spectrum[b].im = 0.0;
        let r = plan.inverse.process_with_scratch(&mut self.spectrum, &mut self.time, &mut self.scratch);
        debug_assert!(r.is_ok());
        let scale = 1.0 / (2 * b) as f32;
        for (i, &v) in self.time[..2 * b - 1].iter().enumerate() {
            self.tail[(self.tail_pos + i) % (2 * b)] += v * scale;
        }
        self.filled = 0;
        self.slot = (self.slot + 1) % n;
        self.pending.fill(Complex::default());
        self.pending_done = 0;
    }
}

/// `Σ a[i]·b[i]` with eight partial sums (vectorises; the order is fixed, so the result does not
/// depend on where the window sits in memory).
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut sum = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in ar.iter().zip(br) {
        sum += x * y;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linear(taps: &[f32], bias: Option<f32>, implementation: &str) -> Linear {
        let config = serde_json::json!({
            "receptive_field": taps.len(), "bias": bias.is_some(), "implementation": implementation
        });
        let mut w = taps.to_vec();
        w.extend(bias);
        Linear::new(&config, &w, &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn core_tap_order_known_values() {
        // NAM Core's test_linear.cpp: w = [0.5, -0.25, 0.125], x = [1, 2, 3, 4].
        let mut m = linear(&[0.5, -0.25, 0.125], None, "direct");
        let mut x = [1.0, 2.0, 3.0, 4.0];
        m.process_buffer(&mut x);
        assert_eq!(x, [0.5, 0.75, 1.125, 1.5]);
    }

    /// The FFT kernel against an f64 direct convolution, for lengths around the partition edges.
    #[test]
    fn fft_matches_direct_convolution() {
        for taps in [257usize, 511, 512, 513, 700, 2049] {
            let w: Vec<f32> =
                (0..taps).map(|k| ((k * 7919 % 101) as f32 / 50.0 - 1.0) * (-(k as f32) / 300.0).exp()).collect();
            let mut m = linear(&w, Some(0.1), "auto");
            assert!(m.uses_fft());
            let n = 3 * taps + 100;
            let x: Vec<f32> = (0..n).map(|i| ((i * 31 % 17) as f32 / 8.0 - 1.0) * 0.7).collect();
            let mut y = x.clone();
            m.process_buffer(&mut y);
            for (t, &got) in y.iter().enumerate() {
                let want: f64 = 0.1 + (0..taps.min(t + 1)).map(|k| f64::from(w[k]) * f64::from(x[t - k])).sum::<f64>();
                assert!((f64::from(got) - want).abs() < 2e-5, "taps {taps} t {t}: {got} vs {want}");
            }
        }
    }
}
