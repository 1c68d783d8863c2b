//! The parsed `.nam` file: version check, weights, sample rate and metadata. No model is built here.

use std::path::Path;

use serde_json::Value;

use crate::error::{NamError, Result};
use crate::json::{Field, Obj};
use crate::metadata::Metadata;
use crate::options::Limits;

/// A file format version `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Oldest and newest file versions NAM Core 0.5.5 reads fully.
pub const EARLIEST_VERSION: Version = Version { major: 0, minor: 5, patch: 0 };
pub const LATEST_VERSION: Version = Version { major: 0, minor: 7, patch: 0 };

impl Version {
    /// Parses `^\d+\.\d+\.\d+$` exactly, as NAM Core does.
    pub fn parse(text: &str) -> Option<Version> {
        let mut parts = text.split('.');
        let mut next = || -> Option<u64> {
            let p = parts.next()?;
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            p.parse().ok()
        };
        let v = Version { major: next()?, minor: next()?, patch: next()? };
        if parts.next().is_some() {
            return None;
        }
        Some(v)
    }

    /// NAM Core 0.5.5's rule: below 0.5.0 or major > 0 or minor > 7 is rejected; 0.7.x with x > 0
    /// loads with a warning (returned as `Ok(Some(message))`).
    fn check(text: &str) -> Result<Option<String>> {
        let err = |message: &str| NamError::Version { version: text.to_string(), message: message.to_string() };
        let v = Version::parse(text).ok_or_else(|| err("expected the form MAJOR.MINOR.PATCH, e.g. \"0.5.4\""))?;
        if v < EARLIEST_VERSION {
            return Err(err(&format!("older than the earliest supported version {EARLIEST_VERSION}")));
        }
        if v.major > LATEST_VERSION.major || v.minor > LATEST_VERSION.minor {
            return Err(err(&format!("newer than the latest supported version {LATEST_VERSION}")));
        }
        if v > LATEST_VERSION {
            return Ok(Some(format!(
                "file version {v} is newer than {LATEST_VERSION}, the latest this library knows; loading it anyway \
                 (as NAM Core does), but it may use features that are read incorrectly"
            )));
        }
        Ok(None)
    }
}

/// A `.nam` file, parsed and validated at the file level (architecture-specific checks happen when
/// a [`crate::Model`] is built from it).
#[derive(Debug, Clone)]
pub struct NamModel {
    /// The `version` string as written in the file.
    pub version: String,
    /// The `architecture` name, e.g. `"WaveNet"`.
    pub architecture: String,
    /// The architecture-specific `config` object.
    pub config: Value,
    /// The flat weight array, as float32.
    pub weights: Vec<f32>,
    /// The rate the model was trained at; `None` when the file does not say (NAM Core: "unknown").
    pub sample_rate: Option<f64>,
    /// Typed view of `metadata` (plus the raw object).
    pub metadata: Metadata,
    warnings: Vec<String>,
}

impl NamModel {
    /// Reads and parses a `.nam` file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<NamModel> {
        Self::from_file_with_limits(path, &Limits::default())
    }

    /// As [`NamModel::from_file`], with explicit limits (the file size is checked before reading).
    pub fn from_file_with_limits(path: impl AsRef<Path>, limits: &Limits) -> Result<NamModel> {
        let path = path.as_ref();
        let bytes = read_limited(path, limits)?;
        Self::from_slice_with_limits(&bytes, limits).map_err(|e| e.in_file(&path.display().to_string()))
    }

    /// Parses the JSON text of a `.nam` file.
    pub fn from_json_str(text: &str) -> Result<NamModel> {
        Self::from_slice_with_limits(text.as_bytes(), &Limits::default())
    }

    /// Parses the JSON bytes of a `.nam` file (UTF-8, an optional BOM is skipped).
    pub fn from_slice_with_limits(bytes: &[u8], limits: &Limits) -> Result<NamModel> {
        if bytes.len() > limits.max_json_bytes {
            return Err(NamError::Limit {
                what: "JSON size in bytes".into(),
                limit: limits.max_json_bytes as u64,
                got: bytes.len() as u64,
            });
        }
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let value: Value = serde_json::from_slice(bytes).map_err(|e| NamError::Json {
            message: e.to_string(),
            line: e.line(),
            column: e.column(),
        })?;
        Self::from_value(&value, "(top level)", limits)
    }

    /// Builds from an already parsed JSON object; `path` prefixes field names in errors (used for
    /// nested models).
    pub(crate) fn from_value(value: &Value, path: &str, limits: &Limits) -> Result<NamModel> {
        let root = Field::new(value, path).object()?;
        let version_field = root.req("version")?;
        let version_text = version_field.string()?.to_string();
        let mut warnings = Vec::new();
        let checked = Version::check(&version_text).map_err(|e| match e {
            // A nested model (condition_dsp, container sub-model): say which version is wrong.
            NamError::Version { version, message } if path != "(top level)" => {
                NamError::Version { version, message: format!("{message} (at {})", version_field.path) }
            }
            e => e,
        })?;
        if let Some(w) = checked {
            warnings.push(w);
        }
        let architecture = root.req("architecture")?.string()?.to_string();
        let config = root.req("config")?;
        config.object()?;
        let weights = parse_weights(&root, limits)?;
        let sample_rate = match root.get_some("sample_rate") {
            None => None,
            Some(f) => {
                let sr = f.f64()?;
                if sr <= 0.0 {
                    return Err(f.expected("a positive sample rate in Hz"));
                }
                Some(sr)
            }
        };
        let metadata = Metadata::parse(root.get_some("metadata"))?;
        Ok(NamModel {
            version: version_text,
            architecture,
            config: config.value.clone(),
            weights,
            sample_rate,
            metadata,
            warnings,
        })
    }

    /// Warnings raised while reading (e.g. a version newer than 0.7.0). Nothing is printed.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The parsed version.
    pub fn parsed_version(&self) -> Option<Version> {
        Version::parse(&self.version)
    }
}

/// Reads a file whose size is first checked against `limits.max_json_bytes` (errors name the file).
pub fn read_limited(path: &Path, limits: &Limits) -> Result<Vec<u8>> {
    let shown = path.display().to_string();
    let io_err = |e: std::io::Error| NamError::Io { path: shown.clone(), kind: e.kind(), message: e.to_string() };
    let size = std::fs::metadata(path).map_err(io_err)?.len();
    if size > limits.max_json_bytes as u64 {
        let e = NamError::Limit { what: "file size in bytes".into(), limit: limits.max_json_bytes as u64, got: size };
        return Err(e.in_file(&shown));
    }
    std::fs::read(path).map_err(io_err)
}

fn parse_weights(root: &Obj<'_>, limits: &Limits) -> Result<Vec<f32>> {
    let field = root.req("weights")?;
    let Value::Array(items) = field.value else {
        return Err(field.expected("an array of numbers"));
    };
    if items.len() > limits.max_weights {
        return Err(NamError::Limit {
            what: "number of weights".into(),
            limit: limits.max_weights as u64,
            got: items.len() as u64,
        });
    }
    let mut weights = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let Some(v) = item.as_f64() else {
            return Err(NamError::format(
                format!("weights[{index}]"),
                format!("expected a number, got {}", crate::json::describe(item)),
            ));
        };
        let w = v as f32;
        if !w.is_finite() {
            return Err(NamError::NonFiniteWeight { index });
        }
        weights.push(w);
    }
    Ok(weights)
}
