//! nam-rs: a fast, exact, real-time-safe runtime for Neural Amp Modeler (`.nam`) models.
//!
//! ```no_run
//! use nam_rs::{Model, NamModel};
//! let nam = NamModel::from_file("amp.nam")?;
//! let mut model = Model::from_nam(&nam)?;
//! let mut audio = vec![0.0f32; 48_000];
//! model.process_buffer(&mut audio); // in place, allocation-free
//! # Ok::<(), nam_rs::NamError>(())
//! ```
//!
//! Parity: output equals NAM Core 0.5.5 (and the PyTorch trainer where they agree) within 1e-5
//! from the first sample. Real-time safety: `process*`, `reset` and `prewarm` never allocate,
//! lock or make system calls; all memory is allocated when the model is built.

// Nothing derived from file content may panic: no unwrap/expect in the library (tests may).
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod activation;
mod container;
mod conv;
mod convnet;
mod error;
mod file;
mod json;
mod linear;
mod lstm;
mod math;
mod metadata;
mod model;
mod net;
mod options;
mod peak;
mod rate;
mod resample;
mod simd;
mod wavenet;

#[cfg(feature = "python")]
mod python;

pub use activation::{fast_sigmoid, fast_tanh, Activation};
pub use container::Container;
pub use convnet::ConvNet;
pub use error::{NamError, Result};
pub use file::{NamModel, Version, EARLIEST_VERSION, LATEST_VERSION};
pub use linear::{Linear, LinearImplementation};
pub use lstm::Lstm;
pub use metadata::Metadata;
pub use model::{Model, SlimmableControl, FAILPOINT_BITS, MAX_INPUT};
pub use options::{Limits, LoadOptions, Semantics};
pub use peak::fma_peak_gflops;
pub use rate::{dilate, dilation_blocker};
pub use resample::{HostRateModel, RateConversion, DEFAULT_MODEL_RATE};
pub use wavenet::WaveNet;
