//! The one error type of the crate. Every failure names what went wrong (field, expected vs got);
//! the Python bindings map each variant onto one exception class in `python.rs`.

use std::fmt;

/// Result alias used throughout the crate.
pub type Result<T, E = NamError> = std::result::Result<T, E>;

/// Everything that can go wrong when reading a `.nam` file, building a model or calling it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum NamError {
    /// The file could not be read (missing, permissions, ...).
    Io { path: String, kind: std::io::ErrorKind, message: String },
    /// The text is not valid JSON (or not UTF-8).
    Json { message: String, line: usize, column: usize },
    /// A key is missing or has the wrong type or value. `field` is a path such as `config.layers[1].channels`.
    Format { field: String, message: String },
    /// The flat weight array does not have the length the config implies.
    WeightCount { expected: usize, got: usize },
    /// A weight is NaN or infinite (or out of the float32 range).
    NonFiniteWeight { index: usize },
    /// The file's `version` is malformed or outside what NAM Core 0.5.5 accepts.
    Version { version: String, message: String },
    /// The file is valid but uses a feature this build cannot run yet.
    Unsupported { feature: String },
    /// A resource limit (see [`crate::Limits`]) would be exceeded; checked before allocating.
    Limit { what: String, limit: u64, got: u64 },
    /// A processing call got buffers it cannot use (e.g. input and output of different lengths).
    Buffer { message: String },
    /// Context: the error happened while reading this file.
    InFile { path: String, source: Box<NamError> },
}

impl NamError {
    pub(crate) fn format(field: impl Into<String>, message: impl Into<String>) -> Self {
        NamError::Format { field: field.into(), message: message.into() }
    }

    pub(crate) fn unsupported(feature: impl Into<String>) -> Self {
        NamError::Unsupported { feature: feature.into() }
    }

    /// `process(input, output)` with buffers of different lengths.
    pub(crate) fn lengths_differ(input: usize, output: usize) -> Self {
        NamError::Buffer {
            message: format!("input and output must have the same length, got {input} and {output} samples"),
        }
    }

    /// The error without file context: what kind of failure it is.
    pub fn root(&self) -> &NamError {
        match self {
            NamError::InFile { source, .. } => source.root(),
            other => other,
        }
    }

    pub(crate) fn in_file(self, path: &str) -> Self {
        match self {
            // An I/O error already names its path.
            e @ NamError::Io { .. } => e,
            e => NamError::InFile { path: path.to_string(), source: Box::new(e) },
        }
    }
}

impl fmt::Display for NamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NamError::Io { path, message, .. } => write!(f, "cannot read {path}: {message}"),
            NamError::Json { message, line, column } => {
                write!(f, "invalid JSON at line {line}, column {column}: {message}")
            }
            NamError::Format { field, message } => write!(f, "{field}: {message}"),
            NamError::WeightCount { expected, got } => write!(
                f,
                "weights: the config needs exactly {expected} weights, the file has {got} ({})",
                if got > expected { "too many" } else { "too few" }
            ),
            NamError::NonFiniteWeight { index } => {
                write!(
                    f,
                    "weights[{index}]: expected a finite float32 value, got a number beyond the float32 range (±3.4028235e38)"
                )
            }
            NamError::Version { version, message } => write!(f, "version {version:?}: {message}"),
            NamError::Unsupported { feature } => write!(f, "unsupported model feature: {feature}"),
            NamError::Limit { what, limit, got } => write!(
                f,
                "{what} is {got}, above the limit of {limit} (raise it with LoadOptions/limits if you trust this file)"
            ),
            NamError::Buffer { message } => write!(f, "{message}"),
            NamError::InFile { path, source } => write!(f, "{path}: {source}"),
        }
    }
}

impl std::error::Error for NamError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            NamError::InFile { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}
