//! Field checks for JSON object bodies, with the contract's validation messages (§3). Every
//! string is held to the storage rule of `model::text`; every list to `--max-list-items`.

use serde_json::{Map, Value};

use super::error::{ApiError, ApiResult};
use crate::model::field_errors::FieldErrors;
use crate::model::text;

pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    max_list_items: usize,
    pub errors: FieldErrors,
}

impl<'a> Fields<'a> {
    pub fn new(map: &'a Map<String, Value>, max_list_items: usize) -> Self {
        Fields {
            map,
            max_list_items,
            errors: FieldErrors::new(),
        }
    }

    /// The raw value of `field`, if present (including null).
    pub fn raw(&self, field: &str) -> Option<&'a Value> {
        self.map.get(field)
    }

    /// A name or id that may be stored: `Some` when it passes the rule of `model::text`.
    fn name(&mut self, field: &str, value: &str) -> Option<String> {
        match text::check_name(value) {
            Ok(()) => Some(value.to_owned()),
            Err(rule) => {
                self.errors.add(field, rule);
                None
            }
        }
    }

    pub fn has(&self, field: &str) -> bool {
        self.raw(field).is_some()
    }

    fn present(&mut self, field: &str, required: bool) -> Option<&'a Value> {
        match self.raw(field) {
            None => {
                if required {
                    self.errors.add(field, "required field");
                }
                None
            }
            Some(Value::Null) => {
                self.errors.add(field, "null value not allowed");
                None
            }
            Some(value) => Some(value),
        }
    }

    /// A string; `non_empty` rejects `""`.
    pub fn string(&mut self, field: &str, required: bool, non_empty: bool) -> Option<String> {
        let value = self.present(field, required)?;
        match value.as_str() {
            None => {
                self.errors.add(field, "must be of string type");
                None
            }
            Some("") if non_empty => {
                self.errors.add(field, "empty values not allowed");
                None
            }
            Some(s) => self.name(field, s),
        }
    }

    /// A string that may also be null (returns `Some(None)` for null).
    pub fn nullable_string(&mut self, field: &str) -> Option<Option<String>> {
        match self.raw(field)? {
            Value::Null => Some(None),
            Value::String(s) => self.name(field, s).map(Some),
            _ => {
                self.errors.add(field, "must be of string type");
                None
            }
        }
    }

    /// Free text that may also be null or absent (`None` for both): NUL is refused, line breaks
    /// and tabs are kept.
    pub fn text(&mut self, field: &str, required: bool) -> Option<String> {
        let problem = match self.raw(field) {
            None if required => "required field",
            None => return None,
            Some(Value::Null) if required => "null value not allowed",
            Some(Value::Null) => return None,
            Some(Value::String(s)) => match text::check_text(s) {
                Ok(()) => return Some(s.clone()),
                Err(rule) => rule,
            },
            Some(_) => "must be of string type",
        };
        self.errors.add(field, problem);
        None
    }

    /// A new password: any characters, held to `auth::passwords::check_new` (it is hashed, never
    /// stored as given).
    pub fn password(&mut self, field: &str, required: bool) -> Option<String> {
        let value = self.present(field, required)?;
        let Some(password) = value.as_str() else {
            self.errors.add(field, "must be of string type");
            return None;
        };
        match crate::auth::passwords::check_new(password) {
            Ok(()) => Some(password.to_owned()),
            Err(problem) => {
                self.errors.add(field, problem);
                None
            }
        }
    }

    pub fn boolean(&mut self, field: &str, required: bool) -> Option<bool> {
        let value = self.present(field, required)?;
        match value.as_bool() {
            Some(b) => Some(b),
            None => {
                self.errors.add(field, "must be of boolean type");
                None
            }
        }
    }

    pub fn integer(&mut self, field: &str, required: bool, min: i64, max: i64) -> Option<i64> {
        let value = self.present(field, required)?;
        match value.as_i64() {
            None => {
                self.errors.add(field, "must be of integer type");
                None
            }
            Some(n) if n < min => {
                self.errors.add(field, format!("min value is {min}"));
                None
            }
            Some(n) if n > max => {
                self.errors.add(field, format!("max value is {max}"));
                None
            }
            Some(n) => Some(n),
        }
    }

    /// A list of strings.
    pub fn string_list(&mut self, field: &str, required: bool) -> Option<Vec<String>> {
        let value = self.present(field, required)?;
        let Some(list) = value.as_array() else {
            self.errors.add(field, "must be of list type");
            return None;
        };
        if list.len() > self.max_list_items {
            let limit = self.max_list_items;
            self.errors.add(field, format!("max length is {limit}"));
            return None;
        }
        let mut out = Vec::with_capacity(list.len());
        for item in list {
            match item.as_str() {
                Some(s) => out.push(self.name(field, s)?),
                None => {
                    self.errors.add(field, "must be of string type");
                    return None;
                }
            }
        }
        Some(out)
    }

    /// A string restricted to `allowed`.
    pub fn choice(&mut self, field: &str, required: bool, allowed: &[&str]) -> Option<String> {
        self.parsed(field, required, |value| {
            allowed.contains(&value).then(|| value.to_owned())
        })
    }

    /// A string that `parse` turns into a value (an enum's wire name), else `unallowed value`.
    pub fn parsed<T>(
        &mut self,
        field: &str,
        required: bool,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Option<T> {
        let value = self.string(field, required, false)?;
        let parsed = parse(&value);
        if parsed.is_none() {
            self.errors.add(field, format!("unallowed value {value}"));
        }
        parsed
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.errors.add(field, message);
    }

    /// 422 `invalid_input` when any check failed.
    pub fn finish(self) -> ApiResult<()> {
        self.errors.into_result().map_err(ApiError::invalid_input)
    }
}
