//! `Model`: the public runnable model. It wraps the architecture dispatch (`net.rs`) with what
//! every architecture needs at its edge: input guarding (non-finite samples), a lock-free
//! cross-thread slimmable-size control, and offline rendering (optionally on several threads).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::{NamError, Result};
use crate::file::NamModel;
use crate::net::Net;
use crate::options::LoadOptions;

/// Inputs are clamped to ±this (+120 dBFS): far beyond any audio, small enough that no model's
/// arithmetic overflows to infinity on it (an `inf` would turn into NaN inside and, in a recurrent
/// model, poison the state).
pub const MAX_INPUT: f32 = 1.0e6;

/// With the `failpoints` feature (test builds only), a buffer whose first sample has these bits
/// (a NaN payload no audio produces) makes processing panic, to test how a panic is contained.
pub const FAILPOINT_BITS: u32 = 0x7fc0_fa11;

#[inline(always)]
fn failpoint(_buffer: &[f32]) {
    #[cfg(feature = "failpoints")]
    if _buffer.first().map(|x| x.to_bits()) == Some(FAILPOINT_BITS) {
        panic!("failpoint: deliberate internal error (test build)");
    }
}

/// Frames per chunk of the guarded (copying) path.
const GUARD_CHUNK: usize = 256;

/// Replaces non-finite samples by 0 and clamps the rest to ±[`MAX_INPUT`]; returns how many were
/// non-finite. Branch-free, so it vectorises.
#[inline]
fn sanitize(buffer: &mut [f32]) -> u64 {
    let mut bad = 0u64;
    for x in buffer {
        let finite = x.is_finite();
        bad += u64::from(!finite);
        *x = if finite { x.clamp(-MAX_INPUT, MAX_INPUT) } else { 0.0 };
    }
    bad
}

#[inline]
fn is_clean(input: &[f32]) -> bool {
    input.iter().fold(true, |ok, x| ok & (x.abs() <= MAX_INPUT))
}

/// A handle that sets a model's slimmable size from any thread, lock-free: the value is stored in
/// an atomic and the model applies it at the start of its next processing call.
#[derive(Debug, Clone)]
pub struct SlimmableControl(Arc<AtomicU64>);

/// "Nothing pending" (a NaN bit pattern no caller can store: sizes are clamped first).
const NO_PENDING: u64 = u64::MAX;

impl SlimmableControl {
    /// Requests `size` (clamped to [0, 1]; NaN means 1, as [`Model::set_slimmable_size`]).
    pub fn set(&self, size: f64) {
        let size = if size.is_nan() { 1.0 } else { size.clamp(0.0, 1.0) };
        self.0.store(size.to_bits(), Ordering::Release);
    }

    /// The size requested and not applied yet.
    pub fn pending(&self) -> Option<f64> {
        let bits = self.0.load(Ordering::Acquire);
        (bits != NO_PENDING).then(|| f64::from_bits(bits))
    }

    fn take(&self) -> Option<f64> {
        if self.0.load(Ordering::Relaxed) == NO_PENDING {
            return None;
        }
        let bits = self.0.swap(NO_PENDING, Ordering::AcqRel);
        (bits != NO_PENDING).then(|| f64::from_bits(bits))
    }
}

/// A runnable model. Built from a [`NamModel`], it is already prewarmed: the output from the
/// first sample equals NAM Core's after its first `Reset(sample_rate, 64)`.
///
/// Weights are immutable and shared (`Arc`); `clone()` gives an independent model in the
/// prewarmed start state without copying weights (one per channel or thread).
///
/// Every processing method is allocation-free, lock-free and free of system calls. Input samples
/// that are NaN or infinite are processed as 0 and counted ([`Model::nonfinite_count`]); finite
/// samples beyond ±[`MAX_INPUT`] are clamped.
#[derive(Debug)]
pub struct Model {
    net: Net,
    nonfinite: u64,
    control: SlimmableControl,
    /// Guarded-path scratch: one chunk of input and of output, interleaved.
    guard_in: Vec<f32>,
    guard_out: Vec<f32>,
}

impl Clone for Model {
    /// A new model sharing the weights, in the prewarmed start state (not the current stream
    /// state), with its own slimmable control, at the same slimmable size.
    fn clone(&self) -> Self {
        let mut net = self.net.clone();
        net.reset();
        Model::wrap(net)
    }
}

impl Model {
    /// Builds the model a parsed file describes, with default options.
    pub fn from_nam(nam: &NamModel) -> Result<Model> {
        Self::from_nam_with(nam, &LoadOptions::default())
    }

    /// Builds the model a parsed file describes.
    pub fn from_nam_with(nam: &NamModel, options: &LoadOptions) -> Result<Model> {
        if let Some(factor) = options.rate_multiplier.filter(|&n| n != 1) {
            let dilated = crate::rate::dilate(nam, factor, options)?;
            return Ok(Model::wrap(Net::build(&dilated, options, 0)?));
        }
        Ok(Model::wrap(Net::build(nam, options, 0)?))
    }

    fn wrap(net: Net) -> Model {
        let (ci, co) = net.channels();
        Model {
            net,
            nonfinite: 0,
            control: SlimmableControl(Arc::new(AtomicU64::new(NO_PENDING))),
            guard_in: vec![0.0; GUARD_CHUNK * ci],
            guard_out: vec![0.0; GUARD_CHUNK * co],
        }
    }

    /// The architecture name as written in `.nam` files.
    pub fn architecture(&self) -> &'static str {
        self.net.architecture()
    }

    /// Applies a size set through [`Model::slimmable_control`] (one atomic load when there is none).
    #[inline]
    fn apply_pending(&mut self) {
        if let Some(size) = self.control.take() {
            // Only slimmable models hand out a control that matters; others ignore it.
            let _ = self.net.set_slimmable_size(size);
        }
    }

    /// Processes `buffer` in place (streaming: state carries over between calls). Any length works;
    /// the output does not depend on how a stream is split into calls.
    ///
    /// This is the mono fast path: on a model with more than one input or output channel (see
    /// [`Model::is_mono`]) it writes silence; use [`Model::process_channels`] or
    /// [`Model::process_interleaved`] there ([`Model::process`] returns an error instead).
    pub fn process_buffer(&mut self, buffer: &mut [f32]) {
        self.apply_pending();
        failpoint(buffer);
        self.nonfinite += sanitize(buffer);
        self.net.process_buffer(buffer);
    }

    /// One input and one output channel (every container; most published models).
    pub fn is_mono(&self) -> bool {
        self.net.is_mono()
    }

    /// Planar multi-channel processing, like NAM Core's `process(in[ch][n], out[ch][n])`: one
    /// slice per input and per output channel, all of the same length. Allocation-free.
    pub fn process_channels(&mut self, inputs: &[&[f32]], outputs: &mut [&mut [f32]]) -> Result<()> {
        self.apply_pending();
        let (ci, co) = self.net.channels();
        if inputs.len() != ci || outputs.len() != co {
            return Err(NamError::Buffer {
                message: format!(
                    "the model has {ci} input and {co} output channels, got {} input and {} output slices",
                    inputs.len(),
                    outputs.len()
                ),
            });
        }
        let n = inputs.first().map_or(0, |x| x.len());
        if let Some(bad) = inputs.iter().map(|x| x.len()).chain(outputs.iter().map(|y| y.len())).find(|&l| l != n) {
            return Err(NamError::Buffer {
                message: format!("every channel must have the same length, got {n} and {bad} samples"),
            });
        }
        // One adapter for every architecture: chunks are interleaved into the guard buffers (where
        // the input is also sanitised), run through the interleaved path and scattered back.
        for start in (0..n).step_by(GUARD_CHUNK) {
            let f = GUARD_CHUNK.min(n - start);
            for (c, x) in inputs.iter().enumerate() {
                for (t, &v) in x[start..start + f].iter().enumerate() {
                    self.guard_in[t * ci + c] = v;
                }
            }
            self.nonfinite += sanitize(&mut self.guard_in[..f * ci]);
            self.net.process_interleaved(&self.guard_in[..f * ci], &mut self.guard_out[..f * co])?;
            for (c, y) in outputs.iter_mut().enumerate() {
                for (t, v) in y[start..start + f].iter_mut().enumerate() {
                    *v = self.guard_out[t * co + c];
                }
            }
        }
        Ok(())
    }

    /// Interleaved multi-channel processing (frame-major `[frame][channel]`, the layout of a
    /// `(frames, channels)` C-order array): `input` holds `frames × num_input_channels()` samples,
    /// `output` `frames × num_output_channels()`. Allocation-free.
    pub fn process_interleaved(&mut self, input: &[f32], output: &mut [f32]) -> Result<()> {
        self.apply_pending();
        if is_clean(input) {
            return self.net.process_interleaved(input, output);
        }
        let (ci, co) = self.net.channels();
        let frames = input.len() / ci;
        if input.len() % ci != 0 || output.len() != frames * co {
            return self.net.process_interleaved(input, output);
        }
        for start in (0..frames).step_by(GUARD_CHUNK) {
            let f = GUARD_CHUNK.min(frames - start);
            self.guard_in[..f * ci].copy_from_slice(&input[start * ci..(start + f) * ci]);
            self.nonfinite += sanitize(&mut self.guard_in[..f * ci]);
            self.net.process_interleaved(&self.guard_in[..f * ci], &mut output[start * co..(start + f) * co])?;
        }
        Ok(())
    }

    /// [`Model::process_interleaved`] in place, for models with as many outputs as inputs.
    pub fn process_interleaved_in_place(&mut self, buffer: &mut [f32]) -> Result<()> {
        self.apply_pending();
        failpoint(buffer);
        let (ci, co) = self.net.channels();
        if ci == co && buffer.len() % ci == 0 {
            self.nonfinite += sanitize(buffer);
        }
        self.net.process_interleaved_in_place(buffer)
    }

    /// Processes `input` into `output`; both must have the same length and the model must be mono.
    pub fn process(&mut self, input: &[f32], output: &mut [f32]) -> Result<()> {
        if !self.is_mono() {
            return self.net.process(input, output);
        }
        if input.len() != output.len() {
            return self.net.process(input, output);
        }
        output.copy_from_slice(input);
        self.process_buffer(output);
        Ok(())
    }

    /// Processes one sample (mono models; see [`Model::process_buffer`]).
    pub fn process_sample(&mut self, x: f32) -> f32 {
        let mut buf = [x];
        self.process_buffer(&mut buf);
        buf[0]
    }

    /// Input samples that were NaN or infinite (processed as 0) since the model was built.
    pub fn nonfinite_count(&self) -> u64 {
        self.nonfinite
    }

    /// Back to the prewarmed start state (the state right after loading), by a copy/fill that
    /// allocates nothing. Also the way out after NaN input.
    pub fn reset(&mut self) {
        self.net.reset();
    }

    /// NAM Core's `prewarm()`: feed silence from the current state. For a WaveNet or ConvNet this
    /// is the same as [`Model::reset`] (the state under silence does not depend on the past); an
    /// LSTM runs [`Model::prewarm_samples`] zeros from wherever it is; a Linear, 0 samples.
    pub fn prewarm(&mut self) {
        self.net.prewarm();
    }

    /// Samples of input that influence one output sample (1 for an LSTM, whose memory is its state).
    pub fn receptive_field(&self) -> usize {
        self.net.receptive_field()
    }

    /// Zeros NAM Core feeds when it prewarms this model (rounded up to its 64-frame blocks for an LSTM).
    pub fn prewarm_samples(&self) -> usize {
        self.net.prewarm_samples()
    }

    /// Input channels (`in_channels` of the file; containers are mono).
    pub fn num_input_channels(&self) -> usize {
        self.net.channels().0
    }

    /// Output channels (the last head's size for a WaveNet, `out_channels` otherwise).
    pub fn num_output_channels(&self) -> usize {
        self.net.channels().1
    }

    /// Multiply-adds per sample (per frame, over all channels) of the model as built, for
    /// GFLOP/s figures; a container reports its active sub-model.
    pub fn macs_per_sample(&self) -> usize {
        self.net.macs_per_sample()
    }

    /// Chooses the sub-model of a SlimmableContainer (or the width of a slimmable WaveNet) by a
    /// size in [0, 1], with NAM Core's rules. A newly selected sub-model starts from its
    /// prewarmed state; no allocation, no prewarm run. Models that are not slimmable get an
    /// `Unsupported` error. From another thread, use [`Model::slimmable_control`].
    pub fn set_slimmable_size(&mut self, size: f64) -> Result<()> {
        self.net.set_slimmable_size(size)
    }

    /// The current slimmable size (`None` for models that are not slimmable).
    pub fn slimmable_size(&self) -> Option<f64> {
        self.net.slimmable_size()
    }

    /// Sizes at which the selection changes (empty for models that are not slimmable).
    pub fn slimmable_breakpoints(&self) -> &[f64] {
        self.net.slimmable_breakpoints()
    }

    /// A `Send + Sync` handle that sets the slimmable size from another thread (lock-free; applied
    /// at the start of the next processing call).
    pub fn slimmable_control(&self) -> SlimmableControl {
        self.control.clone()
    }

    /// Crossfade length in samples for slimmable size changes (0, the default, switches at once).
    /// During a fade the previous sub-model keeps running and fades out linearly.
    pub fn set_slimmable_crossfade(&mut self, samples: usize) -> Result<()> {
        match &mut self.net {
            Net::Container(c) => {
                c.set_crossfade(samples);
                Ok(())
            }
            other => {
                Err(NamError::unsupported(format!("slimmable crossfade on a {} (not slimmable)", other.architecture())))
            }
        }
    }

    /// The crossfade length in samples (0 for models that are not slimmable).
    pub fn slimmable_crossfade(&self) -> usize {
        match &self.net {
            Net::Container(c) => c.crossfade(),
            _ => 0,
        }
    }

    /// Offline rendering: a fresh prewarmed copy processes the whole signal; `self`'s streaming
    /// state is untouched. Allocates the copy (not for the audio thread).
    pub fn render(&self, input: &[f32]) -> Vec<f32> {
        let mut fresh = self.clone();
        let mut out = input.to_vec();
        fresh.process_buffer(&mut out);
        out
    }

    /// Like [`Model::render`] into a caller-provided buffer (same length as `input`).
    pub fn render_into(&self, input: &[f32], output: &mut [f32]) -> Result<()> {
        let mut fresh = self.clone();
        fresh.process(input, output)
    }

    /// [`Model::render`] for interleaved multi-channel signals (see [`Model::process_interleaved`]).
    pub fn render_interleaved(&self, input: &[f32]) -> Result<Vec<f32>> {
        let frames = input.len() / self.num_input_channels();
        let mut output = vec![0.0f32; frames * self.num_output_channels()];
        self.clone().process_interleaved(input, &mut output)?;
        Ok(output)
    }

    /// [`Model::render`] for planar multi-channel signals.
    pub fn render_channels(&self, inputs: &[&[f32]]) -> Result<Vec<Vec<f32>>> {
        let n = inputs.first().map_or(0, |x| x.len());
        let mut outputs = vec![vec![0.0f32; n]; self.num_output_channels()];
        let mut views: Vec<&mut [f32]> = outputs.iter_mut().map(Vec::as_mut_slice).collect();
        self.clone().process_channels(inputs, &mut views)?;
        Ok(outputs)
    }

    /// Whether [`Model::render_parallel`] can split a signal bit-identically: a finite receptive
    /// field and no recurrent state. An LSTM (or a container, whose sub-model may be one) cannot,
    /// nor can a Linear on its FFT kernel, whose rounding depends on the block phase, nor a
    /// WaveNet whose condition_dsp is one of these (an LSTM condition remembers the whole past).
    pub fn is_chunkable(&self) -> bool {
        self.net.is_chunkable()
    }

    /// [`Model::render_interleaved`] on up to `threads` threads, bit-identical to it: the signal is
    /// cut into chunks that each start with `receptive_field − 1` frames of overlap, run on fresh
    /// copies. Models that are not [`Model::is_chunkable`] render on one thread.
    pub fn render_parallel(&self, input: &[f32], threads: usize) -> Result<Vec<f32>> {
        let (ci, co) = self.net.channels();
        if input.len() % ci != 0 {
            return self.render_interleaved(input);
        }
        let frames = input.len() / ci;
        let overlap = self.receptive_field().saturating_sub(1);
        let threads = threads.max(1).min(frames / (4 * overlap + 4096).max(1)).max(1);
        if threads == 1 || !self.is_chunkable() {
            return self.render_interleaved(input);
        }
        let mut output = vec![0.0f32; frames * co];
        let per = frames.div_ceil(threads);
        std::thread::scope(|scope| -> Result<()> {
            let handles: Vec<_> = output
                .chunks_mut(per * co)
                .enumerate()
                .map(|(i, out)| {
                    let start = i * per;
                    let warm = overlap.min(start);
                    let end = start + out.len() / co;
                    let chunk = &input[(start - warm) * ci..end * ci];
                    let mut model = self.clone();
                    scope.spawn(move || -> Result<()> {
                        let mut head = vec![0.0f32; warm * co];
                        model.process_interleaved(&chunk[..warm * ci], &mut head)?;
                        model.process_interleaved(&chunk[warm * ci..], out)
                    })
                })
                .collect();
            for h in handles {
                h.join().map_err(|_| NamError::Buffer { message: "a render thread panicked".into() })??;
            }
            Ok(())
        })?;
        Ok(output)
    }
}
