//! Validation errors keyed by field or dotted path, in document order (contract §3, §9.3).

use serde::Serialize;
use serde_json::{Map, Value};

/// At most this many keys are reported (contract §9.3).
pub const MAX_ERROR_KEYS: usize = 100;

/// An ordered map of path → messages. Adding to a new path beyond [`MAX_ERROR_KEYS`] is ignored.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct FieldErrors(Map<String, Value>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// Record `message` under `path`.
    pub fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let path = path.into();
        let message = Value::String(message.into());
        if let Some(Value::Array(list)) = self.0.get_mut(&path) {
            list.push(message);
        } else if self.0.len() < MAX_ERROR_KEYS {
            self.0.insert(path, Value::Array(vec![message]));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True once the key limit is reached: validators may stop early.
    pub fn is_full(&self) -> bool {
        self.0.len() >= MAX_ERROR_KEYS
    }

    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }

    /// `Ok(())` when empty, else `Err(self)`.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}
