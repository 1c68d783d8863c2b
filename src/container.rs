//! SlimmableContainer (NAM Core `NAM/container.cpp`): several complete models, one active at a
//! time, chosen by a "size" in [0, 1]. Every sub-model is built, and prewarmed, at load, so a
//! switch only restores the newly selected model's prewarmed state: allocation-free, with no
//! multi-millisecond prewarm on the audio thread (NAM Core resets and prewarms under a mutex).

use crate::error::{NamError, Result};
use crate::file::NamModel;
use crate::json::Field;
use crate::net::Net;
use crate::options::LoadOptions;

/// A SlimmableContainer with its sub-models.
#[derive(Debug, Clone)]
pub struct Container {
    models: Vec<Net>,
    /// Upper bound (exclusive) of the size range of each sub-model, strictly ascending.
    max_values: Vec<f64>,
    /// For a slimmable WaveNet: per-array allowed widths and each model's widths (NAM Core's
    /// `ratio_to_channels` rule selects); empty for a SlimmableContainer.
    allowed: Vec<Vec<usize>>,
    widths: Vec<Vec<usize>>,
    breakpoints: Vec<f64>,
    active: usize,
    size: f64,
    /// The file's architecture: "SlimmableContainer", or "WaveNet" for a slimmable WaveNet.
    architecture: &'static str,
    fade: Crossfade,
}

/// A switch's crossfade: the previous sub-model keeps running (from its current state) and fades
/// out linearly while the new one, started from its prewarmed snapshot, fades in.
#[derive(Debug, Clone)]
struct Crossfade {
    /// Fade length in samples (0: switch at once).
    length: usize,
    /// The sub-model fading out, and how many samples of the fade are done.
    from: Option<usize>,
    done: usize,
    /// The fading-out model's output for one chunk.
    scratch: Vec<f32>,
}

/// Samples per crossfade chunk.
const FADE_CHUNK: usize = 256;

impl Container {
    pub(crate) fn new(nam: &NamModel, options: &LoadOptions, depth: usize) -> Result<Container> {
        options.check_limit("nesting depth of SlimmableContainer sub-models", options.limits.max_nesting, depth + 1)?;
        let root = Field::new(&nam.config, "config").object()?;
        let list = root.req("submodels")?;
        let items = list.items()?;
        if items.is_empty() {
            return Err(list.expected("a non-empty list of sub-models"));
        }
        let mut models = Vec::with_capacity(items.len());
        let mut max_values: Vec<f64> = Vec::with_capacity(items.len());
        for item in &items {
            let entry = item.object()?;
            let max_field = entry.req("max_value")?;
            let max_value = max_field.f64()?;
            if let Some(&prev) = max_values.last() {
                if max_value <= prev {
                    return Err(
                        max_field.error(format!("max_value must be strictly ascending: {max_value} follows {prev}"))
                    );
                }
            }
            let model_field = entry.req("model")?;
            let sub = NamModel::from_value(model_field.value, &model_field.path, &options.limits)?;
            if let (Some(own), Some(sub_rate)) = (nam.sample_rate, sub.sample_rate) {
                if own != sub_rate {
                    return Err(model_field
                        .error(format!("its sample_rate ({sub_rate} Hz) differs from the container's ({own} Hz)")));
                }
            }
            let model = Net::build(&sub, options, depth + 1).map_err(|e| match e {
                NamError::WeightCount { expected, got } => NamError::format(
                    format!("{}.weights", model_field.path),
                    format!("the config needs exactly {expected} weights, the file has {got}"),
                ),
                e => e,
            })?;
            if (model.num_input_channels(), model.num_output_channels()) != (1, 1) {
                return Err(
                    model_field.error("container sub-models must be mono (1 in, 1 out), as NAM Core's container is")
                );
            }
            models.push(model);
            max_values.push(max_value);
        }
        let last = max_values[max_values.len() - 1];
        if last < 1.0 {
            return Err(list.error(format!("the last sub-model's max_value must be at least 1.0, got {last}")));
        }
        let active = models.len() - 1;
        let breakpoints = max_values[..max_values.len() - 1].to_vec();
        Ok(Container {
            models,
            max_values,
            allowed: Vec::new(),
            widths: Vec::new(),
            breakpoints,
            active,
            size: 1.0,
            architecture: "SlimmableContainer",
            fade: Crossfade::new(),
        })
    }

    /// A channel-slicing slimmable WaveNet: one prebuilt model per reachable width combination.
    pub(crate) fn slimmable_wavenet(nam: &NamModel, options: &LoadOptions, depth: usize) -> Result<Container> {
        let s = crate::wavenet::slimmable::build(nam, options, depth)?;
        let models: Vec<Net> = s.models.into_iter().map(Net::WaveNet).collect();
        let active = s
            .widths
            .iter()
            .position(|w| w.iter().zip(&s.allowed).all(|(c, a)| Some(c) == a.last()))
            .unwrap_or(models.len() - 1);
        Ok(Container {
            models,
            max_values: Vec::new(),
            allowed: s.allowed,
            widths: s.widths,
            breakpoints: s.breakpoints,
            active,
            size: 1.0,
            architecture: "WaveNet",
            fade: Crossfade::new(),
        })
    }

    /// NAM Core's rule: the first sub-model with `size < max_value`, else the last.
    fn index_for(&self, size: f64) -> usize {
        if !self.allowed.is_empty() {
            use crate::wavenet::slimmable::channels_for;
            let matches = |w: &Vec<usize>| w.iter().zip(&self.allowed).all(|(&c, a)| c == channels_for(size, a));
            return self.widths.iter().position(matches).unwrap_or(self.models.len() - 1);
        }
        self.max_values.iter().position(|&m| size < m).unwrap_or(self.models.len() - 1)
    }

    /// Selects the sub-model for `size` (clamped to [0, 1]). When the selection changes, the new
    /// sub-model starts from its prewarmed state. Allocation-free.
    pub fn set_slimmable_size(&mut self, size: f64) {
        let size = if size.is_nan() { 1.0 } else { size.clamp(0.0, 1.0) };
        self.size = size;
        let index = self.index_for(size);
        if index != self.active {
            self.models[index].reset();
            // A switch during a fade fades from the model being faded in (the one heard most).
            self.fade.from = (self.fade.length > 0).then_some(self.active);
            self.fade.done = 0;
            self.active = index;
        }
    }

    /// Crossfade length, in samples, for later switches (0 = switch at once).
    pub fn set_crossfade(&mut self, samples: usize) {
        self.fade.length = samples;
        if self.fade.done >= samples {
            self.fade.from = None;
        }
    }

    pub fn crossfade(&self) -> usize {
        self.fade.length
    }

    /// Processes mono audio in place through the active sub-model (and, during a crossfade, the
    /// previous one). Allocation-free; the fade position advances per sample, so block splits give
    /// identical output.
    pub(crate) fn process_buffer(&mut self, buffer: &mut [f32]) {
        let mut rest = buffer;
        while let Some(from) = self.fade.from {
            if rest.is_empty() {
                return;
            }
            let n = rest.len().min(FADE_CHUNK).min(self.fade.length - self.fade.done);
            let (chunk, tail) = rest.split_at_mut(n);
            let old = &mut self.fade.scratch[..n];
            old.copy_from_slice(chunk);
            let (a, b) = (from.min(self.active), from.max(self.active));
            let (low, high) = self.models.split_at_mut(b);
            let (old_model, new_model) =
                if from < self.active { (&mut low[a], &mut high[0]) } else { (&mut high[0], &mut low[a]) };
            old_model.process_buffer(old);
            new_model.process_buffer(chunk);
            let length = self.fade.length as f32;
            for (i, (y, &o)) in chunk.iter_mut().zip(old.iter()).enumerate() {
                let g = (self.fade.done + i + 1) as f32 / length;
                *y = o + g * (*y - o);
            }
            self.fade.done += n;
            if self.fade.done == self.fade.length {
                self.fade.from = None;
            }
            rest = tail;
        }
        self.models[self.active].process_buffer(rest);
    }

    pub fn slimmable_size(&self) -> f64 {
        self.size
    }

    /// Sizes at which the selection changes: every max_value but the last.
    pub fn slimmable_breakpoints(&self) -> &[f64] {
        &self.breakpoints
    }

    pub(crate) fn active(&self) -> &Net {
        &self.models[self.active]
    }

    pub(crate) fn active_mut(&mut self) -> &mut Net {
        &mut self.models[self.active]
    }

    pub fn architecture(&self) -> &'static str {
        self.architecture
    }

    /// Index of the active sub-model.
    pub fn active_index(&self) -> usize {
        self.active
    }

    pub(crate) fn reset_all(&mut self) {
        for m in &mut self.models {
            m.reset();
        }
        self.fade.from = None;
    }

    /// Back to the active sub-model's prewarmed state; a fade in progress ends.
    pub(crate) fn reset(&mut self) {
        self.models[self.active].reset();
        self.fade.from = None;
    }
}

impl Crossfade {
    fn new() -> Crossfade {
        Crossfade { length: 0, from: None, done: 0, scratch: vec![0.0; FADE_CHUNK] }
    }
}
