//! A WaveNet's `condition_dsp`: a nested `.nam` of any architecture (NAM Core builds it with its
//! generic loader) whose outputs replace the model input as the conditioning signal of every
//! layer. It runs once per chunk, before the layer arrays.

use std::sync::Arc;

use super::{WaveNet, CORE_RESET_BLOCK, MAX_FRAMES};
use crate::conv::Ring;
use crate::error::{NamError, Result};
use crate::file::NamModel;
use crate::net::Net;
use crate::options::LoadOptions;
use crate::simd::denormals::FlushDenormals;

/// The condition model and what the parent WaveNet needs to know about it.
#[derive(Debug, Clone)]
pub(crate) struct Condition {
    pub net: Box<Net>,
    /// NAM Core's `GetPrewarmSamples()` of the condition model (not rounded to blocks): the parent
    /// adds it to its own prewarm count.
    pub core_prewarm: usize,
    /// See [`Net::needs_counted_prewarm`]: the parent then prewarms by running zeros.
    pub counted_prewarm: bool,
}

impl Condition {
    /// Builds the nested model at `path` (`config.condition_dsp`, ...); `depth` is the nesting depth
    /// of the parent, already checked against `max_nesting` by the config parser.
    pub fn build(nam: &NamModel, path: &str, in_channels: usize, options: &LoadOptions, depth: usize) -> Result<Self> {
        let net = Net::build(nam, options, depth + 1).map_err(|e| relocate(e, path))?;
        if net.num_input_channels() != in_channels {
            return Err(NamError::format(
                path,
                format!(
                    "its {} input channels must equal the model's in_channels ({in_channels})",
                    net.num_input_channels()
                ),
            ));
        }
        let core_prewarm = net.core_prewarm_samples();
        let counted_prewarm = net.needs_counted_prewarm();
        Ok(Condition { net: Box::new(net), core_prewarm, counted_prewarm })
    }

    /// Runs one chunk: `input` holds the parent's input frames, `output` receives the condition
    /// (both frame-major). With `steady`, the condition model is first put into its state under
    /// silence (only for non-recurrent conditions, whose prewarmed state is that state).
    #[inline]
    pub fn process(&mut self, input: &[f32], output: &mut [f32], steady: bool) {
        if steady {
            self.net.reset();
        }
        // The buffer shapes are fixed at build time, so this cannot fail.
        let processed = self.net.process_interleaved(input, output);
        debug_assert!(processed.is_ok());
    }
}

/// Prewarm and state handling of a WaveNet with a condition_dsp (kept here, next to the condition).
impl WaveNet {
    /// Zeros NAM Core feeds when it prewarms (`GetPrewarmSamples`); rounded up to NAM Core's
    /// 64-frame reset blocks when the condition_dsp is recurrent (the count actually run).
    pub fn prewarm_samples(&self) -> usize {
        let p = self.weights.core_prewarm;
        if self.counts_prewarm() {
            p.div_ceil(CORE_RESET_BLOCK) * CORE_RESET_BLOCK
        } else {
            p
        }
    }

    /// Whether prewarming runs NAM Core's count of zeros from the construction state (a condition_dsp
    /// whose prewarmed state is not the steady state under silence) instead of filling that state.
    pub(crate) fn counts_prewarm(&self) -> bool {
        self.condition.as_ref().is_some_and(|c| c.counted_prewarm)
    }

    /// NAM Core's `mPrewarmSamples` (what a parent WaveNet adds for this model as its condition_dsp).
    pub(crate) fn core_prewarm_samples(&self) -> usize {
        self.weights.core_prewarm
    }

    /// The condition_dsp model, if there is one.
    pub(crate) fn condition(&self) -> Option<&crate::net::Net> {
        self.condition.as_ref().map(|c| &*c.net)
    }

    /// The load-time prewarm. A recurrent condition_dsp reaches no steady state, so this does what
    /// NAM Core's first `Reset(sr, 64)` does: from the state at construction (silent histories,
    /// the LSTM at the file's h0/c0) run the prewarm count, in whole 64-frame blocks, then keep
    /// the result for [`WaveNet::reset`].
    pub(super) fn prewarm_at_load(&mut self, options: &LoadOptions) -> Result<()> {
        if !self.counts_prewarm() {
            self.fill_steady_state();
            return Ok(());
        }
        let count = self.prewarm_samples();
        options.check_limit(
            "WaveNet prewarm length (with a recurrent condition_dsp)",
            options.limits.max_prewarm_samples,
            count,
        )?;
        self.restart();
        self.feed_zeros(count);
        let mut snapshot = self.clone();
        snapshot.copy_state_from(self);
        self.prewarmed = Some(Arc::new(snapshot));
        Ok(())
    }

    /// The state at construction, before any prewarm (NAM Core's state before its first `Reset`).
    pub(crate) fn restart(&mut self) {
        for state in &mut self.arrays {
            state.rings.iter_mut().for_each(Ring::clear);
            state.head_ring.clear();
        }
        self.post_rings.iter_mut().for_each(Ring::clear);
        if let Some(c) = &mut self.condition {
            c.net.restart();
        }
    }

    /// Copies the streaming state of `other`, a model with the same weights (allocation-free).
    pub(crate) fn copy_state_from(&mut self, other: &WaveNet) {
        for (mine, theirs) in self.arrays.iter_mut().zip(&other.arrays) {
            for (r, s) in mine.rings.iter_mut().zip(&theirs.rings) {
                r.copy_from(s);
            }
            mine.head_ring.copy_from(&theirs.head_ring);
        }
        for (r, s) in self.post_rings.iter_mut().zip(&other.post_rings) {
            r.copy_from(s);
        }
        if let (Some(mine), Some(theirs)) = (&mut self.condition, &other.condition) {
            mine.net.copy_state_from(&theirs.net);
        }
    }

    /// Runs `count` zero frames (allocation-free).
    pub(super) fn feed_zeros(&mut self, count: usize) {
        let _flush = FlushDenormals::new();
        let n_in = self.weights.in_channels;
        let mut left = count;
        while left > 0 {
            let frames = left.min(MAX_FRAMES);
            self.scratch.u[..frames * n_in].fill(0.0);
            self.run_dispatch(frames, false);
            left -= frames;
        }
    }
}

/// Errors of the nested model name their place in the parent file.
fn relocate(e: NamError, path: &str) -> NamError {
    match e {
        NamError::WeightCount { expected, got } => NamError::format(
            format!("{path}.weights"),
            format!("the config needs exactly {expected} weights, the file has {got}"),
        ),
        NamError::Format { field, message } if field == "config" || field.starts_with("config.") => {
            NamError::format(format!("{path}.{field}"), message)
        }
        NamError::Format { field, message } if field == "architecture" => {
            NamError::format(format!("{path}.architecture"), message)
        }
        e => e,
    }
}
