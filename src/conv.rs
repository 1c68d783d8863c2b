//! Convolution primitives shared by the architectures: dense causal dilated convolutions (1×1 is
//! the K = 1 case), the frame-major history ring they read from, and the weight cursor.
//!
//! Layout: activations are frame-major (`[frame][channel]`, one frame's channels contiguous), so
//! every output frame is computed by the same operations in the same order whatever the block
//! size — block-split output is bit-identical to one-shot output.

use crate::error::{NamError, Result};
use crate::simd::dense::{Operand, Operands, Store};
use crate::simd::{copy_to_front, Variant};

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
    /// Weights stored `[k][i][o]` so the innermost loop runs over contiguous output channels,
    /// each row zero-padded to `row` floats (a multiple of 4) so vector kernels load whole rows.
    weights: Vec<f32>,
    row: usize,
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
        let row = out_channels.next_multiple_of(4);
        let mut weights = vec![0.0; row * in_channels * kernel_size];
        for q in 0..groups {
            for o in 0..og {
                for i in 0..ig {
                    for k in 0..kernel_size {
                        let (out_row, col) = (q * og + o, q * ig + i);
                        weights[(k * in_channels + col) * row + out_row] =
                            raw[((q * og + o) * ig + i) * kernel_size + k];
                    }
                }
            }
        }
        let bias = if bias { Some(reader.take(out_channels)?.to_vec()) } else { None };
        Ok(Conv { in_channels, out_channels, kernel_size, dilation, weights, row, bias })
    }

    /// Frames of input history this convolution needs before the current frame.
    pub fn history(&self) -> usize {
        (self.kernel_size - 1) * self.dilation
    }

    /// Computes `frames` output frames into `out` (stride `out_stride`, writing channels
    /// `0..out_channels`) in the kernel variant `V`. `input` is frame-major with `in_channels` per
    /// frame; output frame `t` reads input frames `start + t − (K−1−k)·d`, so `start ≥ history()`.
    ///
    /// Each output is one running sum over the taps (oldest first) and their input channels in
    /// order, then the bias (see `simd::dense` for why that order is fixed). An optional bias-free
    /// 1×1 `mixin` of `(cond, cond_stride)` continues the same running sum before the bias:
    /// `y = (Σ taps + mixin·cond) + b`, one pass instead of two.
    #[inline(always)]
    pub fn apply_with<V: Variant>(
        &self,
        input: &[f32],
        start: usize,
        frames: usize,
        mixin: Option<(&Conv, &[f32], usize)>,
        out: &mut [f32],
        out_stride: usize,
    ) {
        debug_assert!(mixin.is_none_or(|(m, _, _)| m.out_channels == self.out_channels && m.kernel_size == 1));
        let ops = Operands {
            x: input,
            stride: self.in_channels,
            start,
            cin: self.in_channels,
            taps: self.kernel_size,
            dilation: self.dilation,
            w: &self.weights,
            row: self.row,
            extra: mixin.map(|(m, cond, stride)| Operand {
                x: cond,
                stride,
                first: 0,
                cin: m.in_channels,
                w: &m.weights,
            }),
        };
        self.product::<V>(&ops, frames, out, out_stride, Store::Set(self.bias.as_deref()));
    }

    /// A 1×1 convolution over frames laid out with `in_stride` floats (reading channels
    /// `0..in_channels` of each): `out = W·x + b`, overwriting channels `0..out_channels`, in the
    /// kernel variant `V`.
    #[inline(always)]
    pub fn apply_1x1_with<V: Variant>(
        &self,
        input: &[f32],
        in_stride: usize,
        frames: usize,
        out: &mut [f32],
        out_stride: usize,
    ) {
        self.pointwise::<V>(input, in_stride, frames, out, out_stride, Store::Set(self.bias.as_deref()))
    }

    /// `out += W·x` for a 1×1 convolution without bias (the WaveNet input mixin), variant `V`.
    #[inline(always)]
    pub fn accumulate_1x1_with<V: Variant>(
        &self,
        input: &[f32],
        in_stride: usize,
        frames: usize,
        out: &mut [f32],
        out_stride: usize,
    ) {
        self.pointwise::<V>(input, in_stride, frames, out, out_stride, Store::Add)
    }

    /// `out = (W·x + b) + residual` for a 1×1 (a WaveNet layer's output), in one pass.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub fn apply_1x1_residual<V: Variant>(
        &self,
        input: &[f32],
        in_stride: usize,
        frames: usize,
        residual: &[f32],
        residual_stride: usize,
        out: &mut [f32],
        out_stride: usize,
    ) {
        let store = Store::Residual(self.bias.as_deref(), residual, residual_stride);
        self.pointwise::<V>(input, in_stride, frames, out, out_stride, store)
    }

    #[inline(always)]
    fn pointwise<V: Variant>(
        &self,
        input: &[f32],
        in_stride: usize,
        frames: usize,
        out: &mut [f32],
        out_stride: usize,
        store: Store<'_>,
    ) {
        debug_assert_eq!(self.kernel_size, 1);
        let ops = Operands {
            x: input,
            stride: in_stride,
            start: 0,
            cin: self.in_channels,
            taps: 1,
            dilation: 1,
            w: &self.weights,
            row: self.row,
            extra: None,
        };
        self.product::<V>(&ops, frames, out, out_stride, store)
    }

    #[inline(always)]
    fn product<V: Variant>(&self, ops: &Operands<'_>, frames: usize, y: &mut [f32], y_stride: usize, store: Store<'_>) {
        V::product(self.out_channels, ops, frames, y, y_stride, store)
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
            copy_to_front(&mut self.data, from, self.history * ch);
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

    /// Becomes a copy of `other`, a ring of the same shape (allocation-free).
    pub fn copy_from(&mut self, other: &Ring) {
        self.data.copy_from_slice(&other.data);
        self.pos = other.pos;
    }

    /// Back to a silent history (allocation-free).
    pub fn clear(&mut self) {
        self.data.fill(0.0);
        self.pos = self.history;
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
