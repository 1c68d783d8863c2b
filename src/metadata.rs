//! Typed view of the optional `metadata` object. NAM Core reads only `loudness`,
//! `input_level_dbu` and `output_level_dbu` (and throws when they are not numbers); the rest is
//! descriptive and read leniently.

use serde_json::{Map, Value};

use crate::error::Result;
use crate::json::Field;

/// What the trainer and users write into `metadata`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    /// Output loudness (dB) of the model on the trainer's standard input.
    pub loudness: Option<f64>,
    /// Analog level (dBu) that corresponds to 0 dBFS at the model input.
    pub input_level_dbu: Option<f64>,
    /// Analog level (dBu) that corresponds to 0 dBFS at the model output.
    pub output_level_dbu: Option<f64>,
    /// The trainer's 0..1 estimate of gain/compression.
    pub gain: Option<f64>,
    pub name: Option<String>,
    pub modeled_by: Option<String>,
    pub gear_type: Option<String>,
    pub gear_make: Option<String>,
    pub gear_model: Option<String>,
    pub tone_type: Option<String>,
    /// The whole `metadata` object as written.
    pub raw: Map<String, Value>,
}

impl Metadata {
    pub(crate) fn parse(field: Option<Field<'_>>) -> Result<Metadata> {
        let Some(field) = field else { return Ok(Metadata::default()) };
        let obj = field.object()?;
        // Core reads these three with a typed getter: a string there is an error, not a silent None.
        let number = |key: &str| -> Result<Option<f64>> { obj.get_some(key).map(|f| f.f64()).transpose() };
        let text = |key: &str| obj.map.get(key).and_then(Value::as_str).map(str::to_string);
        Ok(Metadata {
            loudness: number("loudness")?,
            input_level_dbu: number("input_level_dbu")?,
            output_level_dbu: number("output_level_dbu")?,
            gain: obj.map.get("gain").and_then(Value::as_f64).filter(|g| g.is_finite()),
            name: text("name"),
            modeled_by: text("modeled_by"),
            gear_type: text("gear_type"),
            gear_make: text("gear_make"),
            gear_model: text("gear_model"),
            tone_type: text("tone_type"),
            raw: obj.map.clone(),
        })
    }
}
