//! `Net`: one enum over the architectures, dispatching on the file's declared `architecture`.

use crate::container::Container;
use crate::convnet::ConvNet;
use crate::error::{NamError, Result};
use crate::file::NamModel;
use crate::linear::Linear;
use crate::lstm::Lstm;
use crate::options::LoadOptions;
use crate::wavenet::WaveNet;

/// Interleaved (frame-major, `[frame][channel]`) audio: one buffer processed in place, or an
/// input and an output buffer with the model's channel counts.
pub(crate) enum Frames<'a> {
    InPlace(&'a mut [f32]),
    Split { input: &'a [f32], output: &'a mut [f32] },
}

impl Frames<'_> {
    #[inline]
    pub(crate) fn input(&self, range: std::ops::Range<usize>) -> &[f32] {
        match self {
            Frames::InPlace(b) => &b[range],
            Frames::Split { input, .. } => &input[range],
        }
    }

    #[inline]
    pub(crate) fn output(&mut self, range: std::ops::Range<usize>) -> &mut [f32] {
        match self {
            Frames::InPlace(b) => &mut b[range],
            Frames::Split { output, .. } => &mut output[range],
        }
    }
}

/// The architectures behind [`crate::Model`] (which adds input guarding and cross-thread
/// controls); the methods here are the dispatch, documented on `Model`.
#[derive(Debug)]
// Built once and processed in place: boxing the larger variant would only add an indirection.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Net {
    WaveNet(WaveNet),
    Lstm(Lstm),
    ConvNet(ConvNet),
    Linear(Linear),
    /// A SlimmableContainer: several models, one active, chosen by [`Net::set_slimmable_size`].
    Container(Container),
}

impl Clone for Net {
    /// A new model sharing the weights, in the prewarmed start state (not the current stream state).
    fn clone(&self) -> Self {
        let mut copy = match self {
            Net::WaveNet(m) => Net::WaveNet(m.clone()),
            Net::Lstm(m) => Net::Lstm(m.clone()),
            Net::ConvNet(m) => Net::ConvNet(m.clone()),
            Net::Linear(m) => Net::Linear(m.clone()),
            Net::Container(m) => {
                let mut c = m.clone();
                c.reset_all();
                Net::Container(c)
            }
        };
        copy.reset();
        copy
    }
}

impl Net {
    /// `depth` counts the nesting of container sub-models and condition_dsps.
    pub(crate) fn build(nam: &NamModel, options: &LoadOptions, depth: usize) -> Result<Net> {
        options.check_limit("number of weights", options.limits.max_weights, nam.weights.len())?;
        match nam.architecture.as_str() {
            "WaveNet" if crate::wavenet::slimmable::is_slimmable(&nam.config) => {
                Ok(Net::Container(Container::slimmable_wavenet(nam, options, depth)?))
            }
            "WaveNet" => Ok(Net::WaveNet(WaveNet::nested(&nam.config, &nam.weights, nam.sample_rate, options, depth)?)),
            "LSTM" => Ok(Net::Lstm(Lstm::new(&nam.config, &nam.weights, nam.sample_rate, options)?)),
            "ConvNet" => Ok(Net::ConvNet(ConvNet::new(&nam.config, &nam.weights, options)?)),
            "Linear" => Ok(Net::Linear(Linear::new(&nam.config, &nam.weights, options)?)),
            "SlimmableContainer" => Ok(Net::Container(Container::new(nam, options, depth)?)),
            other => Err(NamError::format(
                "architecture",
                format!("unknown architecture {other:?} (NAM Core knows WaveNet, LSTM, ConvNet, Linear, SlimmableContainer)"),
            )),
        }
    }

    /// The architecture name as written in `.nam` files.
    pub(crate) fn architecture(&self) -> &'static str {
        match self {
            Net::WaveNet(_) => "WaveNet",
            Net::Lstm(_) => "LSTM",
            Net::ConvNet(_) => "ConvNet",
            Net::Linear(_) => "Linear",
            Net::Container(c) => c.architecture(),
        }
    }

    /// Processes `buffer` in place (streaming: state carries over between calls). Any length works;
    /// the output does not depend on how a stream is split into calls.
    ///
    /// This is the mono fast path: on a model with more than one input or output channel (see
    /// [`Net::is_mono`]) it writes silence; use [`Net::process_channels`] there ([`Net::process`]
    /// returns an error instead).
    pub(crate) fn process_buffer(&mut self, buffer: &mut [f32]) {
        if !self.is_mono() {
            buffer.fill(0.0);
            return;
        }
        match self {
            Net::WaveNet(m) => m.process_buffer(buffer),
            Net::Lstm(m) => m.process_buffer(buffer),
            Net::ConvNet(m) => m.process_buffer(buffer),
            Net::Linear(m) => m.process_buffer(buffer),
            Net::Container(c) => c.process_buffer(buffer),
        }
    }

    /// One input and one output channel (every container; most published models).
    pub(crate) fn is_mono(&self) -> bool {
        self.num_input_channels() == 1 && self.num_output_channels() == 1
    }

    /// Interleaved multi-channel processing (frame-major `[frame][channel]`, the layout of a
    /// `(frames, channels)` C-order array): `input` holds `frames × num_input_channels()` samples,
    /// `output` `frames × num_output_channels()`. Allocation-free.
    pub(crate) fn process_interleaved(&mut self, input: &[f32], output: &mut [f32]) -> Result<()> {
        let frames = self.interleaved_frames(input.len(), output.len())?;
        self.run_frames(Frames::Split { input, output }, frames);
        Ok(())
    }

    /// [`Net::process_interleaved`] in place, for models with as many outputs as inputs.
    pub(crate) fn process_interleaved_in_place(&mut self, buffer: &mut [f32]) -> Result<()> {
        let frames = self.interleaved_frames(buffer.len(), buffer.len())?;
        self.run_frames(Frames::InPlace(buffer), frames);
        Ok(())
    }

    fn interleaved_frames(&self, input: usize, output: usize) -> Result<usize> {
        let (ci, co) = self.channels();
        let frames = input / ci;
        if input % ci != 0 || output != frames * co {
            return Err(NamError::Buffer {
                message: format!(
                    "interleaved buffers must hold whole frames of {ci} input and {co} output channels, \
                     got {input} input and {output} output samples"
                ),
            });
        }
        Ok(frames)
    }

    fn run_frames(&mut self, io: Frames<'_>, frames: usize) {
        match self {
            Net::WaveNet(m) => m.process_frames(io, frames),
            Net::Lstm(m) => m.process_frames(io, frames),
            Net::ConvNet(m) => m.process_frames(io, frames),
            Net::Linear(m) => m.process_frames(io, frames),
            Net::Container(c) => match io {
                Frames::InPlace(b) => c.process_buffer(b),
                Frames::Split { input, output } => {
                    output.copy_from_slice(input);
                    c.process_buffer(output);
                }
            },
        }
    }

    /// Processes `input` into `output`; both must have the same length and the model must be mono.
    pub(crate) fn process(&mut self, input: &[f32], output: &mut [f32]) -> Result<()> {
        if !self.is_mono() {
            return Err(NamError::Buffer {
                message: format!(
                    "the model has {} input and {} output channels; use process_channels",
                    self.num_input_channels(),
                    self.num_output_channels()
                ),
            });
        }
        if input.len() != output.len() {
            return Err(NamError::lengths_differ(input.len(), output.len()));
        }
        output.copy_from_slice(input);
        self.process_buffer(output);
        Ok(())
    }

    /// Back to the prewarmed start state (the state right after loading), by a copy/fill that
    /// allocates nothing. Also the way out after NaN input.
    pub(crate) fn reset(&mut self) {
        match self {
            Net::WaveNet(m) => m.reset(),
            Net::Lstm(m) => m.reset(),
            Net::ConvNet(m) => m.prewarm(),
            Net::Linear(m) => m.reset(),
            Net::Container(c) => c.reset(),
        }
    }

    /// NAM Core's `prewarm()`: feed silence from the current state. For a WaveNet this is the same
    /// as [`Net::reset`] (the state under silence does not depend on the past) unless its
    /// condition_dsp is recurrent; an LSTM runs [`Net::prewarm_samples`] zeros from wherever it is.
    pub(crate) fn prewarm(&mut self) {
        match self {
            Net::WaveNet(m) => m.prewarm(),
            Net::Lstm(m) => m.prewarm(),
            Net::ConvNet(m) => m.prewarm(),
            // NAM Core prewarms a Linear with 0 samples.
            Net::Linear(_) => {}
            Net::Container(c) => c.active_mut().prewarm(),
        }
    }

    /// Samples of input that influence one output sample (1 for an LSTM, whose memory is its state).
    pub(crate) fn receptive_field(&self) -> usize {
        match self {
            Net::WaveNet(m) => m.receptive_field(),
            Net::Lstm(_) => 1,
            Net::ConvNet(m) => m.receptive_field(),
            Net::Linear(m) => m.receptive_field(),
            Net::Container(c) => c.active().receptive_field(),
        }
    }

    /// Zeros NAM Core feeds when it prewarms this model (rounded up to its 64-frame blocks for an LSTM).
    pub(crate) fn prewarm_samples(&self) -> usize {
        match self {
            Net::WaveNet(m) => m.prewarm_samples(),
            Net::Lstm(m) => m.prewarm_samples(),
            Net::ConvNet(m) => m.receptive_field(),
            Net::Linear(_) => 0,
            Net::Container(c) => c.active().prewarm_samples(),
        }
    }

    /// NAM Core's `GetPrewarmSamples()` of this model as a WaveNet's condition_dsp (unrounded).
    pub(crate) fn core_prewarm_samples(&self) -> usize {
        match self {
            Net::Lstm(m) => m.core_prewarm_samples(),
            Net::WaveNet(m) => m.core_prewarm_samples(),
            Net::Container(c) => c.active().core_prewarm_samples(),
            other => other.prewarm_samples(),
        }
    }

    /// Whether NAM Core's prewarm leaves this model (as a condition_dsp) in a state other than the
    /// steady state under silence, so a parent must run its prewarm count of zeros from the
    /// construction state instead of filling the steady state: anything recurrent (an LSTM, also
    /// inside a condition_dsp or as a container's active sub-model).
    pub(crate) fn needs_counted_prewarm(&self) -> bool {
        match self {
            Net::Lstm(_) => true,
            Net::WaveNet(m) => m.counts_prewarm(),
            Net::Container(c) => c.active().needs_counted_prewarm(),
            Net::ConvNet(_) | Net::Linear(_) => false,
        }
    }

    /// Whether a signal split into chunks that start `receptive_field() − 1` frames early gives
    /// bit-identical output (see `Model::is_chunkable`): a finite receptive field, no recurrent
    /// state, and no FFT Linear (whose rounding depends on the block phase), condition_dsp included.
    pub(crate) fn is_chunkable(&self) -> bool {
        match self {
            Net::WaveNet(m) => m.condition().is_none_or(Net::is_chunkable),
            Net::ConvNet(_) => true,
            Net::Linear(m) => !m.uses_fft(),
            Net::Lstm(_) | Net::Container(_) => false,
        }
    }

    /// The state at construction, before any prewarm (used when a WaveNet with a recurrent
    /// condition_dsp prewarms the way NAM Core does). Models whose prewarmed state is the state
    /// under silence just reset.
    pub(crate) fn restart(&mut self) {
        match self {
            Net::WaveNet(m) => m.restart(),
            Net::Lstm(m) => m.restart(),
            Net::Container(c) => c.active_mut().restart(),
            other => other.reset(),
        }
    }

    /// Copies the streaming state of `other` (the same model), allocation-free; for the
    /// architectures whose prewarmed state is the state under silence this is a reset.
    pub(crate) fn copy_state_from(&mut self, other: &Net) {
        match (self, other) {
            (Net::WaveNet(m), Net::WaveNet(o)) => m.copy_state_from(o),
            (Net::Lstm(m), Net::Lstm(o)) => m.copy_state_from(o),
            // A condition_dsp's container never switches sub-model: both sides have the same one active.
            (Net::Container(m), Net::Container(o)) => m.active_mut().copy_state_from(o.active()),
            (m, _) => m.reset(),
        }
    }

    pub(crate) fn channels(&self) -> (usize, usize) {
        match self {
            Net::WaveNet(m) => m.channels(),
            Net::Lstm(m) => m.channels(),
            Net::ConvNet(m) => m.channels(),
            Net::Linear(m) => m.channels(),
            Net::Container(_) => (1, 1),
        }
    }

    /// Input channels (`in_channels` of the file; containers are mono).
    pub(crate) fn num_input_channels(&self) -> usize {
        self.channels().0
    }

    /// Output channels (the last head's size for a WaveNet, `out_channels` otherwise).
    pub(crate) fn num_output_channels(&self) -> usize {
        self.channels().1
    }

    /// Multiply-adds per sample (per frame, over all channels) of the model as built, for
    /// GFLOP/s figures; a container reports its active sub-model.
    pub(crate) fn macs_per_sample(&self) -> usize {
        match self {
            Net::WaveNet(m) => m.macs_per_sample(),
            Net::Lstm(m) => m.macs_per_sample(),
            Net::ConvNet(m) => m.macs_per_sample(),
            Net::Linear(m) => m.macs_per_sample(),
            Net::Container(c) => c.active().macs_per_sample(),
        }
    }

    /// Chooses the sub-model of a SlimmableContainer by a size in [0, 1] (NAM Core's
    /// `SetSlimmableSize`: the first sub-model with `size < max_value`, else the last). A newly
    /// selected sub-model starts from its prewarmed state; no allocation, no prewarm run. Models
    /// that are not slimmable get an `Unsupported` error.
    pub(crate) fn set_slimmable_size(&mut self, size: f64) -> Result<()> {
        match self {
            Net::Container(c) => {
                c.set_slimmable_size(size);
                Ok(())
            }
            other => {
                Err(NamError::unsupported(format!("slimmable size on a {} (not slimmable)", other.architecture())))
            }
        }
    }

    /// The current slimmable size (`None` for models that are not slimmable).
    pub(crate) fn slimmable_size(&self) -> Option<f64> {
        match self {
            Net::Container(c) => Some(c.slimmable_size()),
            _ => None,
        }
    }

    /// Sizes at which the selection changes (empty for models that are not slimmable).
    pub(crate) fn slimmable_breakpoints(&self) -> &[f64] {
        match self {
            Net::Container(c) => c.slimmable_breakpoints(),
            _ => &[],
        }
    }
}
