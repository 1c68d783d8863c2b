//! Small typed accessors over `serde_json::Value` that remember where they are, so every parse
//! error names its field (`config.layers[1].dilations[3]`) and quotes what it found.

use serde_json::{Map, Value};

use crate::error::{NamError, Result};

/// Short, bounded rendering of a JSON value for error messages.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            if s.chars().count() > 40 {
                format!("the string {:?}...", s.chars().take(37).collect::<String>())
            } else {
                format!("the string {s:?}")
            }
        }
        Value::Array(a) if a.len() == 1 => "an array of 1 item".to_string(),
        Value::Array(a) => format!("an array of {} items", a.len()),
        Value::Object(_) => "an object".to_string(),
    }
}

/// A JSON value together with its path inside the file.
#[derive(Clone)]
pub(crate) struct Field<'a> {
    pub value: &'a Value,
    pub path: String,
}

impl<'a> Field<'a> {
    pub fn new(value: &'a Value, path: impl Into<String>) -> Self {
        Field { value, path: path.into() }
    }

    pub fn error(&self, message: impl Into<String>) -> NamError {
        NamError::format(self.path.clone(), message)
    }

    pub fn expected(&self, what: &str) -> NamError {
        self.error(format!("expected {what}, got {}", describe(self.value)))
    }

    pub fn is_null(&self) -> bool {
        self.value.is_null()
    }

    pub fn object(&self) -> Result<Obj<'a>> {
        match self.value {
            Value::Object(map) => Ok(Obj { map, path: self.path.clone() }),
            _ => Err(self.expected("an object")),
        }
    }

    pub fn items(&self) -> Result<Vec<Field<'a>>> {
        match self.value {
            Value::Array(a) => {
                Ok(a.iter().enumerate().map(|(i, v)| Field::new(v, format!("{}[{i}]", self.path))).collect())
            }
            _ => Err(self.expected("an array")),
        }
    }

    pub fn string(&self) -> Result<&'a str> {
        self.value.as_str().ok_or_else(|| self.expected("a string"))
    }

    pub fn bool(&self) -> Result<bool> {
        self.value.as_bool().ok_or_else(|| self.expected("true or false"))
    }

    pub fn f64(&self) -> Result<f64> {
        match self.value.as_f64() {
            Some(v) if v.is_finite() => Ok(v),
            _ => Err(self.expected("a finite number")),
        }
    }

    /// A number that must fit in float32 without becoming infinite.
    pub fn f32(&self) -> Result<f32> {
        let f = self.f64()? as f32;
        if f.is_finite() {
            Ok(f)
        } else {
            Err(self.expected("a number in the float32 range"))
        }
    }

    /// A non-negative integer (`3.0` is accepted, as NAM Core's JSON library does).
    pub fn usize(&self) -> Result<usize> {
        if let Some(u) = self.value.as_u64() {
            return usize::try_from(u).map_err(|_| self.expected("a smaller integer"));
        }
        match self.value.as_f64() {
            Some(v) if v >= 0.0 && v.fract() == 0.0 && v < 9.0e15 => Ok(v as usize),
            _ => Err(self.expected("a non-negative integer")),
        }
    }

    /// An integer ≥ 1.
    pub fn positive(&self) -> Result<usize> {
        match self.usize() {
            Ok(v) if v >= 1 => Ok(v),
            _ => Err(self.expected("a positive integer")),
        }
    }
}

/// A JSON object with its path.
#[derive(Clone)]
pub(crate) struct Obj<'a> {
    pub map: &'a Map<String, Value>,
    pub path: String,
}

impl<'a> Obj<'a> {
    fn child_path(&self, key: &str) -> String {
        if self.path.is_empty() || self.path == "(top level)" {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub fn error(&self, message: impl Into<String>) -> NamError {
        NamError::format(self.path.clone(), message)
    }

    /// A child that is present (possibly null).
    pub fn get(&self, key: &str) -> Option<Field<'a>> {
        self.map.get(key).map(|v| Field::new(v, self.child_path(key)))
    }

    /// A child that is present and not null.
    pub fn get_some(&self, key: &str) -> Option<Field<'a>> {
        self.get(key).filter(|f| !f.is_null())
    }

    pub fn req(&self, key: &str) -> Result<Field<'a>> {
        self.get(key).ok_or_else(|| NamError::format(self.child_path(key), "required key is missing"))
    }
}
