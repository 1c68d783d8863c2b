//! `Model`: one enum over the architectures, dispatching on the file's declared `architecture`.

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

/// A runnable model. Built from a [`NamModel`], it is already prewarmed: the output from the
/// first sample equals NAM Core's after its first `Reset(sample_rate, 64)`.
///
/// Weights are immutable and shared (`Arc`); `clone()` gives an independent model in the
/// prewarmed start state without copying weights (one per channel or thread).
///
/// Every processing method is allocation-free, lock-free and free of system calls.
#[derive(Debug)]
#[non_exhaustive]
// Built once and processed in place: boxing the larger variant would only add an indirection.
#[allow(clippy::large_enum_variant)]
pub enum Model {
    WaveNet(WaveNet),
    Lstm(Lstm),
    ConvNet(ConvNet),
    Linear(Linear),
    /// A SlimmableContainer: several models, one active, chosen by [`Model::set_slimmable_size`].
    Container(Container),
}

impl Clone for Model {
    /// A new model sharing the weights, in the prewarmed start state (not the current stream state).
    fn clone(&self) -> Self {
        let mut copy = match self {
            Model::WaveNet(m) => Model::WaveNet(m.clone()),
            Model::Lstm(m) => Model::Lstm(m.clone()),
            Model::ConvNet(m) => Model::ConvNet(m.clone()),
            Model::Linear(m) => Model::Linear(m.clone()),
            Model::Container(m) => {
                let mut c = m.clone();
                c.reset_all();
                Model::Container(c)
            }
        };
        copy.reset();
        copy
    }
}

impl Model {
    /// Builds the model a parsed file describes, with default options.
    pub fn from_nam(nam: &NamModel) -> Result<Model> {
        Self::from_nam_with(nam, &LoadOptions::default())
    }

    /// Builds the model a parsed file describes.
    pub fn from_nam_with(nam: &NamModel, options: &LoadOptions) -> Result<Model> {
        Self::build(nam, options, 0)
    }

    /// `depth` counts the nesting of container sub-models.
    pub(crate) fn build(nam: &NamModel, options: &LoadOptions, depth: usize) -> Result<Model> {
        options.check_limit("number of weights", options.limits.max_weights, nam.weights.len())?;
        match nam.architecture.as_str() {
            "WaveNet" if crate::wavenet::slimmable::is_slimmable(&nam.config) => {
                Ok(Model::Container(Container::slimmable_wavenet(nam, options)?))
            }
            "WaveNet" => Ok(Model::WaveNet(WaveNet::new(&nam.config, &nam.weights, nam.sample_rate, options)?)),
            "LSTM" => Ok(Model::Lstm(Lstm::new(&nam.config, &nam.weights, nam.sample_rate, options)?)),
            "ConvNet" => Ok(Model::ConvNet(ConvNet::new(&nam.config, &nam.weights, options)?)),
            "Linear" => Ok(Model::Linear(Linear::new(&nam.config, &nam.weights, options)?)),
            "SlimmableContainer" => Ok(Model::Container(Container::new(nam, options, depth)?)),
            other => Err(NamError::format(
                "architecture",
                format!("unknown architecture {other:?} (NAM Core knows WaveNet, LSTM, ConvNet, Linear, SlimmableContainer)"),
            )),
        }
    }

    /// The architecture name as written in `.nam` files.
    pub fn architecture(&self) -> &'static str {
        match self {
            Model::WaveNet(_) => "WaveNet",
            Model::Lstm(_) => "LSTM",
            Model::ConvNet(_) => "ConvNet",
            Model::Linear(_) => "Linear",
            Model::Container(c) => c.architecture(),
        }
    }

    /// Processes `buffer` in place (streaming: state carries over between calls). Any length works;
    /// the output does not depend on how a stream is split into calls.
    ///
    /// This is the mono fast path: on a model with more than one input or output channel (see
    /// [`Model::is_mono`]) it writes silence; use [`Model::process_channels`] there ([`Model::process`]
    /// returns an error instead).
    pub fn process_buffer(&mut self, buffer: &mut [f32]) {
        if !self.is_mono() {
            buffer.fill(0.0);
            return;
        }
        match self {
            Model::WaveNet(m) => m.process_buffer(buffer),
            Model::Lstm(m) => m.process_buffer(buffer),
            Model::ConvNet(m) => m.process_buffer(buffer),
            Model::Linear(m) => m.process_buffer(buffer),
            Model::Container(c) => c.active_mut().process_buffer(buffer),
        }
    }

    /// One input and one output channel (every container; most published models).
    pub fn is_mono(&self) -> bool {
        self.num_input_channels() == 1 && self.num_output_channels() == 1
    }

    /// Planar multi-channel processing, like NAM Core's `process(in[ch][n], out[ch][n])`: one
    /// slice per input and per output channel, all of the same length. Allocation-free.
    pub fn process_channels(&mut self, inputs: &[&[f32]], outputs: &mut [&mut [f32]]) -> Result<()> {
        let (ci, co) = (self.num_input_channels(), self.num_output_channels());
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
        match self {
            Model::WaveNet(m) => m.process_channels(inputs, outputs),
            Model::Lstm(m) => m.process_channels(inputs, outputs),
            Model::ConvNet(m) => m.process_channels(inputs, outputs),
            Model::Linear(m) => m.process_channels(inputs, outputs),
            Model::Container(c) => {
                // Containers are mono (checked at load).
                outputs[0].copy_from_slice(inputs[0]);
                c.active_mut().process_buffer(outputs[0]);
            }
        }
        Ok(())
    }

    /// Interleaved multi-channel processing (frame-major `[frame][channel]`, the layout of a
    /// `(frames, channels)` C-order array): `input` holds `frames × num_input_channels()` samples,
    /// `output` `frames × num_output_channels()`. Allocation-free.
    pub fn process_interleaved(&mut self, input: &[f32], output: &mut [f32]) -> Result<()> {
        let frames = self.interleaved_frames(input.len(), output.len())?;
        self.run_frames(Frames::Split { input, output }, frames);
        Ok(())
    }

    /// [`Model::process_interleaved`] in place, for models with as many outputs as inputs.
    pub fn process_interleaved_in_place(&mut self, buffer: &mut [f32]) -> Result<()> {
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
            Model::WaveNet(m) => m.process_frames(io, frames),
            Model::Lstm(m) => m.process_frames(io, frames),
            Model::ConvNet(m) => m.process_frames(io, frames),
            Model::Linear(m) => m.process_frames(io, frames),
            Model::Container(c) => match io {
                Frames::InPlace(b) => c.active_mut().process_buffer(b),
                Frames::Split { input, output } => {
                    output.copy_from_slice(input);
                    c.active_mut().process_buffer(output);
                }
            },
        }
    }

    /// Processes `input` into `output`; both must have the same length and the model must be mono.
    pub fn process(&mut self, input: &[f32], output: &mut [f32]) -> Result<()> {
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
            return Err(NamError::Buffer {
                message: format!(
                    "input and output must have the same length, got {} and {} samples",
                    input.len(),
                    output.len()
                ),
            });
        }
        output.copy_from_slice(input);
        self.process_buffer(output);
        Ok(())
    }

    /// Processes one sample.
    pub fn process_sample(&mut self, x: f32) -> f32 {
        let mut buf = [x];
        self.process_buffer(&mut buf);
        buf[0]
    }

    /// Back to the prewarmed start state (the state right after loading), by a copy/fill that
    /// allocates nothing. Also the way out after NaN input.
    pub fn reset(&mut self) {
        match self {
            Model::WaveNet(m) => m.prewarm(),
            Model::Lstm(m) => m.reset(),
            Model::ConvNet(m) => m.prewarm(),
            Model::Linear(m) => m.reset(),
            Model::Container(c) => c.active_mut().reset(),
        }
    }

    /// NAM Core's `prewarm()`: feed silence from the current state. For a WaveNet this is the same
    /// as [`Model::reset`] (the state under silence does not depend on the past); an LSTM runs
    /// [`Model::prewarm_samples`] zeros from wherever it is.
    pub fn prewarm(&mut self) {
        match self {
            Model::WaveNet(m) => m.prewarm(),
            Model::Lstm(m) => m.prewarm(),
            Model::ConvNet(m) => m.prewarm(),
            // NAM Core prewarms a Linear with 0 samples.
            Model::Linear(_) => {}
            Model::Container(c) => c.active_mut().prewarm(),
        }
    }

    /// Samples of input that influence one output sample (1 for an LSTM, whose memory is its state).
    pub fn receptive_field(&self) -> usize {
        match self {
            Model::WaveNet(m) => m.receptive_field(),
            Model::Lstm(_) => 1,
            Model::ConvNet(m) => m.receptive_field(),
            Model::Linear(m) => m.receptive_field(),
            Model::Container(c) => c.active().receptive_field(),
        }
    }

    /// Zeros NAM Core feeds when it prewarms this model (rounded up to its 64-frame blocks for an LSTM).
    pub fn prewarm_samples(&self) -> usize {
        match self {
            Model::WaveNet(m) => m.receptive_field(),
            Model::Lstm(m) => m.prewarm_samples(),
            Model::ConvNet(m) => m.receptive_field(),
            Model::Linear(_) => 0,
            Model::Container(c) => c.active().prewarm_samples(),
        }
    }

    fn channels(&self) -> (usize, usize) {
        match self {
            Model::WaveNet(m) => m.channels(),
            Model::Lstm(m) => m.channels(),
            Model::ConvNet(m) => m.channels(),
            Model::Linear(m) => m.channels(),
            Model::Container(_) => (1, 1),
        }
    }

    /// Input channels (`in_channels` of the file; containers are mono).
    pub fn num_input_channels(&self) -> usize {
        self.channels().0
    }

    /// Output channels (the last head's size for a WaveNet, `out_channels` otherwise).
    pub fn num_output_channels(&self) -> usize {
        self.channels().1
    }

    /// Multiply-adds per sample (per frame, over all channels) of the model as built, for
    /// GFLOP/s figures; a container reports its active sub-model.
    pub fn macs_per_sample(&self) -> usize {
        match self {
            Model::WaveNet(m) => m.macs_per_sample(),
            Model::Lstm(m) => m.macs_per_sample(),
            Model::ConvNet(m) => m.macs_per_sample(),
            Model::Linear(m) => m.macs_per_sample(),
            Model::Container(c) => c.active().macs_per_sample(),
        }
    }

    /// Chooses the sub-model of a SlimmableContainer by a size in [0, 1] (NAM Core's
    /// `SetSlimmableSize`: the first sub-model with `size < max_value`, else the last). A newly
    /// selected sub-model starts from its prewarmed state; no allocation, no prewarm run. Models
    /// that are not slimmable get an `Unsupported` error.
    pub fn set_slimmable_size(&mut self, size: f64) -> Result<()> {
        match self {
            Model::Container(c) => {
                c.set_slimmable_size(size);
                Ok(())
            }
            other => {
                Err(NamError::unsupported(format!("slimmable size on a {} (not slimmable)", other.architecture())))
            }
        }
    }

    /// The current slimmable size (`None` for models that are not slimmable).
    pub fn slimmable_size(&self) -> Option<f64> {
        match self {
            Model::Container(c) => Some(c.slimmable_size()),
            _ => None,
        }
    }

    /// Sizes at which the selection changes (empty for models that are not slimmable).
    pub fn slimmable_breakpoints(&self) -> &[f64] {
        match self {
            Model::Container(c) => c.slimmable_breakpoints(),
            _ => &[],
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
}
