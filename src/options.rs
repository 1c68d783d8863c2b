//! `LoadOptions`: the one place where load-time choices live (activation mode, limits, ...).

/// Upper bounds checked before anything is allocated, because a `.nam` is an untrusted download.
/// The defaults are far above every published model (the largest A1/A2 presets have ~14k weights
/// and a receptive field of 6347 samples).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Size of the JSON text in bytes.
    pub max_json_bytes: usize,
    /// Total number of weights in the file.
    pub max_weights: usize,
    /// Channels (width) of any layer, hidden size of an LSTM.
    pub max_channels: usize,
    /// Kernel size of any convolution.
    pub max_kernel_size: usize,
    /// Receptive field in samples (sets the size of the convolution histories).
    pub max_receptive_field: usize,
    /// Layers in the whole model (WaveNet layers, LSTM layers).
    pub max_layers: usize,
    /// Zeros an LSTM is fed at load (half a second at its sample rate): 2²² covers rates up to 8 MHz.
    pub max_prewarm_samples: usize,
    /// Depth of nested models (a condition_dsp inside a condition_dsp ...).
    pub max_nesting: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_json_bytes: 256 << 20,
            max_weights: 50_000_000,
            max_channels: 1024,
            max_kernel_size: 1024,
            max_receptive_field: 1 << 22,
            max_layers: 4096,
            max_prewarm_samples: 1 << 22,
            max_nesting: 4,
        }
    }
}

/// Options for building a [`crate::Model`] from a parsed file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoadOptions {
    /// Replace exact `tanh` by NAM Core's rational approximation (`Fasttanh`), as NAM Core does for
    /// models built after `enable_fast_tanh()`. Off by default: exact output is the contract.
    pub fast_tanh: bool,
    /// Resource limits checked while parsing and building.
    pub limits: Limits,
    /// Use the baseline (SSE2) kernels even when the CPU has AVX2. The output equals the AVX2
    /// kernels' bit for bit, and the default FMA kernels' within 1e-6 of the peak; this exists to
    /// check exactly that, and for benchmarking.
    pub portable_kernels: bool,
    /// Use the AVX2 kernels without FMA even when the CPU has FMA (WaveNet): bit-identical to the
    /// portable kernels, whereas FMA rounds each multiply-add once (within 1e-6 of them).
    pub no_fma_kernels: bool,
    /// Overrides a Linear model's `implementation` (NAM Core's `auto` rule otherwise).
    pub linear_implementation: Option<crate::linear::LinearImplementation>,
    /// Run the model at this integer multiple of its trained sample rate by multiplying every
    /// dilation (`crate::rate`: exact, no latency); `None` (or 1) runs it as trained. Models it
    /// cannot apply to (LSTM, a post-stack head with kernel > 1) fail to load with `Unsupported`.
    pub rate_multiplier: Option<usize>,
    /// Whose reading of the file to compute: NAM Core's (the default) or the PyTorch trainer's.
    pub semantics: Semantics,
}

/// Where NAM Core and the PyTorch trainer compute different things for the same file
/// (`docs/compatibility.md`), which one to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Semantics {
    /// What the plugin plays (NAM Core 0.5.5).
    #[default]
    Core,
    /// What training computed (`neural-amp-modeler`'s forward pass): reversed Linear taps,
    /// Hardtanh `min_val`/`max_val`, `layer1x1_post_film` in every gating mode, an inactive
    /// `layer1x1` adds the activation, a FiLM without `active` is off, LSTMs start (and reset)
    /// at the file's h0/c0 without prewarm, and the extra activations Softsigmoid, ELU and GELU.
    Trainer,
}

impl Semantics {
    /// `"core"` or `"trainer"` (the Python keyword's values).
    pub fn parse(name: &str) -> Option<Semantics> {
        match name {
            "core" => Some(Semantics::Core),
            "trainer" => Some(Semantics::Trainer),
            _ => None,
        }
    }

    /// The Python keyword's value for this reading.
    pub fn name(self) -> &'static str {
        match self {
            Semantics::Core => "core",
            Semantics::Trainer => "trainer",
        }
    }
}

impl LoadOptions {
    pub(crate) fn check_limit(&self, what: &str, limit: usize, got: usize) -> crate::Result<()> {
        if got > limit {
            Err(crate::NamError::Limit { what: what.to_string(), limit: limit as u64, got: got as u64 })
        } else {
            Ok(())
        }
    }
}
