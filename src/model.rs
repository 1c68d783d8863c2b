//! `Model`: one enum over the architectures, dispatching on the file's declared `architecture`.

use crate::container::Container;
use crate::error::{NamError, Result};
use crate::file::NamModel;
use crate::lstm::Lstm;
use crate::options::LoadOptions;
use crate::wavenet::WaveNet;

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
    /// A SlimmableContainer: several models, one active, chosen by [`Model::set_slimmable_size`].
    Container(Container),
}

impl Clone for Model {
    /// A new model sharing the weights, in the prewarmed start state (not the current stream state).
    fn clone(&self) -> Self {
        let mut copy = match self {
            Model::WaveNet(m) => Model::WaveNet(m.clone()),
            Model::Lstm(m) => Model::Lstm(m.clone()),
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

/// Architectures NAM Core 0.5.5 knows but this build does not run yet.
const KNOWN_UNSUPPORTED: [&str; 2] = ["ConvNet", "Linear"];

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
            "WaveNet" => {
                let model = WaveNet::new(&nam.config, &nam.weights, nam.sample_rate, options)?;
                match model.channels() {
                    (1, 1) => Ok(Model::WaveNet(model)),
                    (i, o) => Err(NamError::unsupported(format!(
                        "multi-channel input/output at the top level ({i} in, {o} out); mono models run today"
                    ))),
                }
            }
            "LSTM" => Ok(Model::Lstm(Lstm::new(&nam.config, &nam.weights, nam.sample_rate, options)?)),
            "SlimmableContainer" => Ok(Model::Container(Container::new(nam, options, depth)?)),
            name if KNOWN_UNSUPPORTED.contains(&name) => {
                Err(NamError::unsupported(format!("architecture {name:?} (coming in a later release)")))
            }
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
            Model::Container(c) => c.architecture(),
        }
    }

    /// Processes `buffer` in place (streaming: state carries over between calls). Any length works;
    /// the output does not depend on how a stream is split into calls.
    pub fn process_buffer(&mut self, buffer: &mut [f32]) {
        match self {
            Model::WaveNet(m) => m.process_buffer(buffer),
            Model::Lstm(m) => m.process_buffer(buffer),
            Model::Container(c) => c.active_mut().process_buffer(buffer),
        }
    }

    /// Processes `input` into `output`; both must have the same length.
    pub fn process(&mut self, input: &[f32], output: &mut [f32]) -> Result<()> {
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
            Model::Container(c) => c.active_mut().prewarm(),
        }
    }

    /// Samples of input that influence one output sample (1 for an LSTM, whose memory is its state).
    pub fn receptive_field(&self) -> usize {
        match self {
            Model::WaveNet(m) => m.receptive_field(),
            Model::Lstm(_) => 1,
            Model::Container(c) => c.active().receptive_field(),
        }
    }

    /// Zeros NAM Core feeds when it prewarms this model (rounded up to its 64-frame blocks for an LSTM).
    pub fn prewarm_samples(&self) -> usize {
        match self {
            Model::WaveNet(m) => m.receptive_field(),
            Model::Lstm(m) => m.prewarm_samples(),
            Model::Container(c) => c.active().prewarm_samples(),
        }
    }

    /// Input channels (1 for every model this build runs).
    pub fn num_input_channels(&self) -> usize {
        1
    }

    /// Output channels (1 for every model this build runs).
    pub fn num_output_channels(&self) -> usize {
        1
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
}
