//! SlimmableContainer (NAM Core `NAM/container.cpp`): several complete models, one active at a
//! time, chosen by a "size" in [0, 1]. Every sub-model is built, and prewarmed, at load, so a
//! switch only restores the newly selected model's prewarmed state: allocation-free, with no
//! multi-millisecond prewarm on the audio thread (NAM Core resets and prewarms under a mutex).

use crate::error::{NamError, Result};
use crate::file::NamModel;
use crate::json::Field;
use crate::model::Model;
use crate::options::LoadOptions;

/// A SlimmableContainer with its sub-models.
#[derive(Debug, Clone)]
pub struct Container {
    models: Vec<Model>,
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
}

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
            let model = Model::build(&sub, options, depth + 1).map_err(|e| match e {
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
        })
    }

    /// A channel-slicing slimmable WaveNet: one prebuilt model per reachable width combination.
    pub(crate) fn slimmable_wavenet(nam: &NamModel, options: &LoadOptions) -> Result<Container> {
        let s = crate::wavenet::slimmable::build(nam, options)?;
        let models: Vec<Model> = s.models.into_iter().map(Model::WaveNet).collect();
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
            self.active = index;
        }
    }

    pub fn slimmable_size(&self) -> f64 {
        self.size
    }

    /// Sizes at which the selection changes: every max_value but the last.
    pub fn slimmable_breakpoints(&self) -> &[f64] {
        &self.breakpoints
    }

    pub fn active(&self) -> &Model {
        &self.models[self.active]
    }

    pub fn active_mut(&mut self) -> &mut Model {
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
    }
}
