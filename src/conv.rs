//! Convolution primitives shared by the architectures: dense causal dilated convolutions (1×1 is
//! the K = 1 case), the frame-major history ring they read from, and the weight cursor.
//!
//! Layout: activations are frame-major (`[frame][channel]`, one frame's channels contiguous), so
//! every output frame is computed by the same operations in the same order whatever the block
//! size — block-split output is bit-identical to one-shot output.

use crate::error::{NamError, Result};

/// Calls `$obj.$method::<N>(args)` with `N` = the width when it has a register-sized kernel, or
/// `N = 0` (the general path). The match runs once per call, outside the frame loop.
macro_rules! with_width {
    ($width:expr, $obj:ident . $method:ident ( $($arg:expr),* )) => {
        match $width {
            1 => $obj.$method::<1>($($arg),*),
            2 => $obj.$method::<2>($($arg),*),
            3 => $obj.$method::<3>($($arg),*),
            4 => $obj.$method::<4>($($arg),*),
            6 => $obj.$method::<6>($($arg),*),
            8 => $obj.$method::<8>($($arg),*),
            12 => $obj.$method::<12>($($arg),*),
            16 => $obj.$method::<16>($($arg),*),
            24 => $obj.$method::<24>($($arg),*),
            32 => $obj.$method::<32>($($arg),*),
            _ => $obj.$method::<0>($($arg),*),
        }
    };
}

/// Reads the flat weight array front to back. The total count is validated before any model is
/// built, so running short here means a bug in a count formula; it is still an error, not a panic.
pub(crate) struct WeightReader<'a> {
    weights: &'a [f32],
    pos: usize,
}

impl<'a> WeightReader<'a> {
    pub fn new(weights: &'a [f32]) -> Self {
        WeightReader { weights, pos: 0 }
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [f32]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.weights.len());
        match end {
            Some(end) => {
                let s = &self.weights[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(NamError::WeightCount { expected: self.pos + n, got: self.weights.len() }),
        }
    }

    pub fn finish(&self) -> Result<()> {
        if self.pos == self.weights.len() {
            Ok(())
        } else {
            Err(NamError::WeightCount { expected: self.pos, got: self.weights.len() })
        }
    }
}

/// A causal dilated convolution `y[t] = b + Σ_k W_k · x[t − (K−1−k)·d]` (tap K−1 is the newest
/// sample, as in NAM Core and PyTorch).
#[derive(Debug, Clone)]
pub(crate) struct Conv {
    pub in_channels: usize,
    pub out_channels: usize,
    pub kernel_size: usize,
    pub dilation: usize,
    /// Weights stored `[k][i][o]` so the innermost loop runs over contiguous output channels.
    weights: Vec<f32>,
    bias: Option<Vec<f32>>,
}

impl Conv {
    pub fn read(
        reader: &mut WeightReader<'_>,
        in_channels: usize,
        out_channels: usize,
        kernel_size: usize,
        dilation: usize,
        bias: bool,
    ) -> Result<Conv> {
        Self::read_grouped(reader, in_channels, out_channels, kernel_size, dilation, bias, 1)
    }

    /// Number of weights a (grouped) convolution reads: PyTorch's `[o][i/g][k]`, then the bias.
    pub fn weight_count(
        in_channels: usize,
        out_channels: usize,
        kernel_size: usize,
        bias: bool,
        groups: usize,
    ) -> usize {
        out_channels * (in_channels / groups) * kernel_size + if bias { out_channels } else { 0 }
    }

    /// Reads a grouped convolution (block-diagonal weights; the caller checked that `groups`
    /// divides both channel counts). Groups are expanded to a dense matrix with zeros off the
    /// diagonal blocks, so one kernel serves every case.
    pub fn read_grouped(
        reader: &mut WeightReader<'_>,
        in_channels: usize,
        out_channels: usize,
        kernel_size: usize,
        dilation: usize,
        bias: bool,
        groups: usize,
    ) -> Result<Conv> {
        let (ig, og) = (in_channels / groups, out_channels / groups);
        let raw = reader.take(out_channels * ig * kernel_size)?;
        let mut weights = vec![0.0; out_channels * in_channels * kernel_size];
        for q in 0..groups {
            for o in 0..og {
                for i in 0..ig {
                    for k in 0..kernel_size {
                        let (row, col) = (q * og + o, q * ig + i);
                        weights[(k * in_channels + col) * out_channels + row] =
                            raw[((q * og + o) * ig + i) * kernel_size + k];
                    }
                }
            }
        }
        let bias = if bias { Some(reader.take(out_channels)?.to_vec()) } else { None };
        Ok(Conv { in_channels, out_channels, kernel_size, dilation, weights, bias })
    }

    /// Frames of input history this convolution needs before the current frame.
    pub fn history(&self) -> usize {
        (self.kernel_size - 1) * self.dilation
    }

    /// Computes `frames` output frames into `out` (stride `out_stride`, writing channels
    /// `0..out_channels`). `input` is frame-major with `in_channels` per frame; output frame `t`
    /// reads input frames `start + t − (K−1−k)·d`, so `start ≥ history()`.
    ///
    /// Rounding follows NAM Core's Eigen path exactly: each tap's matrix-vector product is summed
    /// over input channels in order, the taps are added oldest first, then the bias.
    #[inline(always)]
    pub fn apply(&self, input: &[f32], start: usize, frames: usize, out: &mut [f32], out_stride: usize) {
        with_width!(self.out_channels, self.apply_n(input, start, frames, out, out_stride))
    }

    /// A 1×1 convolution over frames laid out with `in_stride` floats (reading channels
    /// `0..in_channels` of each): `out = W·x + b`, overwriting channels `0..out_channels`.
    #[inline(always)]
    pub fn apply_1x1(&self, input: &[f32], in_stride: usize, frames: usize, out: &mut [f32], out_stride: usize) {
        debug_assert_eq!(self.kernel_size, 1);
        with_width!(self.out_channels, self.pointwise_n(input, in_stride, frames, out, out_stride, true))
    }

    /// `out += W·x` for a 1×1 convolution without bias (the WaveNet input mixin).
    #[inline(always)]
    pub fn accumulate_1x1(&self, input: &[f32], in_stride: usize, frames: usize, out: &mut [f32], out_stride: usize) {
        debug_assert_eq!(self.kernel_size, 1);
        with_width!(self.out_channels, self.pointwise_n(input, in_stride, frames, out, out_stride, false))
    }

    /// [`Conv::apply`] for `N` output channels (`N = 0`: any width).
    #[inline(always)]
    fn apply_n<const N: usize>(&self, input: &[f32], start: usize, frames: usize, out: &mut [f32], out_stride: usize) {
        let ci = self.in_channels;
        for t in 0..frames {
            let y = &mut out[t * out_stride..t * out_stride + self.out_channels];
            for k in 0..self.kernel_size {
                let frame = start + t - (self.kernel_size - 1 - k) * self.dilation;
                self.tap::<N>(k, &input[frame * ci..(frame + 1) * ci], y, k == 0);
            }
            self.add_bias(y);
        }
    }

    /// 1×1 over `frames` frames: `out = W·x + b` (`overwrite`) or `out += W·x`.
    #[inline(always)]
    fn pointwise_n<const N: usize>(
        &self,
        input: &[f32],
        in_stride: usize,
        frames: usize,
        out: &mut [f32],
        out_stride: usize,
        overwrite: bool,
    ) {
        for t in 0..frames {
            let y = &mut out[t * out_stride..t * out_stride + self.out_channels];
            self.tap::<N>(0, &input[t * in_stride..t * in_stride + self.in_channels], y, overwrite);
            if overwrite {
                self.add_bias(y);
            }
        }
    }

    /// `y = W_k·x` (`overwrite`) or `y += W_k·x`, where the product is summed over input channels
    /// in order before it is added to `y`. Common widths (`N > 0`) get a fixed-size accumulator that
    /// lives in registers; every width uses the same summation order, so results do not depend on
    /// the path.
    #[inline(always)]
    fn tap<const N: usize>(&self, k: usize, x: &[f32], y: &mut [f32], overwrite: bool) {
        let co = self.out_channels;
        let w = &self.weights[k * x.len() * co..(k + 1) * x.len() * co];
        if N > 0 {
            return tap_fixed::<N>(w, x, y, overwrite);
        }
        const TILE: usize = 64;
        for tile_start in (0..co).step_by(TILE) {
            let n = TILE.min(co - tile_start);
            let mut acc = [0.0f32; TILE];
            let acc = &mut acc[..n];
            for (i, &xv) in x.iter().enumerate() {
                let row = &w[i * co + tile_start..i * co + tile_start + n];
                for (a, &wv) in acc.iter_mut().zip(row) {
                    *a += wv * xv;
                }
            }
            store(&mut y[tile_start..tile_start + n], acc, overwrite);
        }
    }

    #[inline(always)]
    fn add_bias(&self, y: &mut [f32]) {
        if let Some(b) = &self.bias {
            for (yo, &bo) in y.iter_mut().zip(b) {
                *yo += bo;
            }
        }
    }
}

/// The input history of one convolution plus room for new frames, frame-major. New frames are
/// written at `pos..`; when the buffer is full the last `history` frames are moved to the front
/// (amortised: the buffer holds many blocks), so no allocation ever happens after construction.
#[derive(Debug, Clone)]
pub(crate) struct Ring {
    data: Vec<f32>,
    channels: usize,
    history: usize,
    capacity: usize,
    pos: usize,
}

impl Ring {
    pub fn new(channels: usize, history: usize, max_frames: usize) -> Ring {
        let capacity = history + (history.max(8 * max_frames));
        Ring { data: vec![0.0; capacity * channels], channels, history, capacity, pos: history }
    }

    /// Makes room for `frames` new frames and returns the frame index where they start.
    #[inline(always)]
    pub fn prepare(&mut self, frames: usize) -> usize {
        if self.pos + frames > self.capacity {
            let ch = self.channels;
            let from = (self.pos - self.history) * ch;
            self.data.copy_within(from..self.pos * ch, 0);
            self.pos = self.history;
        }
        self.pos
    }

    #[inline(always)]
    pub fn advance(&mut self, frames: usize) {
        self.pos += frames;
    }

    #[inline(always)]
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The `frames` frames starting at `start`, for writing.
    #[inline(always)]
    pub fn frames_mut(&mut self, start: usize, frames: usize) -> &mut [f32] {
        &mut self.data[start * self.channels..(start + frames) * self.channels]
    }

    /// Copies frame `start` into every history frame before it: the steady state reached when that
    /// column has been the input for longer than the history.
    #[inline(always)]
    pub fn fill_history_from(&mut self, start: usize) {
        let ch = self.channels;
        for f in start - self.history..start {
            self.data.copy_within(start * ch..(start + 1) * ch, f * ch);
        }
    }
}

/// [`Conv::tap`] for `N` output channels: `w` is `[i][N]`.
#[inline(always)]
fn tap_fixed<const N: usize>(w: &[f32], x: &[f32], y: &mut [f32], overwrite: bool) {
    let mut acc = [0.0f32; N];
    for (row, &xv) in w.chunks_exact(N).zip(x) {
        for (a, &wv) in acc.iter_mut().zip(row) {
            *a += wv * xv;
        }
    }
    store(&mut y[..N], &acc, overwrite);
}

#[inline(always)]
fn store(y: &mut [f32], acc: &[f32], overwrite: bool) {
    if overwrite {
        y.copy_from_slice(acc);
    } else {
        for (yo, &a) in y.iter_mut().zip(acc) {
            *yo += a;
        }
    }
}
