//! The shape of a sample's `quality` as J12 accepts it (workflows §3.4, J12 row 3): the numbers
//! are the runner's, only their shape is checked; errors by dotted path, in document order.

use serde_json::Value;

use super::field_errors::FieldErrors;

/// The keys of `quality`, each required.
const KEYS: [&str; 7] = [
    "bases",
    "composition",
    "count",
    "encoding",
    "gc",
    "length",
    "sequences",
];

/// The problems of the body's `quality` value (`None`: absent); empty when its shape is right.
pub fn check(quality: Option<&Value>) -> FieldErrors {
    let mut errors = FieldErrors::new();
    let object = match quality {
        None => {
            errors.add("quality", "required field");
            return errors;
        }
        Some(Value::Null) => {
            errors.add("quality", "null value not allowed");
            return errors;
        }
        Some(Value::Object(object)) => object,
        Some(_) => {
            errors.add("quality", "must be of dict type");
            return errors;
        }
    };
    for (key, value) in object {
        if errors.is_full() {
            return errors;
        }
        let path = format!("quality.{key}");
        match key.as_str() {
            "bases" => rows(value, &path, 6, &mut errors),
            "composition" => rows(value, &path, 4, &mut errors),
            "count" if !is_integer(value) => errors.add(path, "must be of integer type"),
            "encoding" if !value.is_string() => errors.add(path, "must be of string type"),
            "gc" if !value.is_number() => errors.add(path, "must be of number type"),
            "length" if integers(value) != Some(2) => {
                errors.add(path, "must be a list of 2 integers")
            }
            "sequences" if integers(value).is_none() => {
                errors.add(path, "must be a list of integers")
            }
            _ => {}
        }
    }
    for key in KEYS {
        if !object.contains_key(key) {
            errors.add(format!("quality.{key}"), "required field");
        }
    }
    errors
}

fn is_integer(value: &Value) -> bool {
    value.is_i64() || value.is_u64()
}

/// How many items a list of integers has; `None` when it is not one.
fn integers(value: &Value) -> Option<usize> {
    let list = value.as_array()?;
    list.iter().all(is_integer).then_some(list.len())
}

/// A list of rows of `width` numbers each (`bases`, `composition`).
fn rows(value: &Value, path: &str, width: usize, errors: &mut FieldErrors) {
    let Some(rows) = value.as_array() else {
        errors.add(path, "must be of list type");
        return;
    };
    for (i, row) in rows.iter().enumerate() {
        if errors.is_full() {
            return;
        }
        let ok = row
            .as_array()
            .is_some_and(|r| r.len() == width && r.iter().all(Value::is_number));
        if !ok {
            errors.add(
                format!("{path}.{i}"),
                format!("must be a list of {width} numbers"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors(value: Value) -> Value {
        Value::Object(check(Some(&value)).into_map())
    }

    #[test]
    fn a_right_shape_passes() {
        let quality = json!({"bases": [[30.0, 32, 29.5, 32, 27, 32]], "composition": [[46.5, 18.6, 7.8, 27.2]],
            "count": 20000, "encoding": "Sanger / Illumina 1.9", "gc": 45.5, "length": [36, 151],
            "sequences": [0, 0]});
        assert!(check(Some(&quality)).is_empty());
    }

    #[test]
    fn each_wrong_shape_is_named() {
        assert_eq!(
            Value::Object(check(None).into_map()),
            json!({"quality": ["required field"]})
        );
        assert_eq!(
            errors(json!([])),
            json!({"quality": ["must be of dict type"]})
        );
        let quality = json!({"sequences": [1.5], "bases": [[1, 2, 3, 4, 5, 6], [1, 2], "x"],
            "composition": [[1, 2, 3, "4"]], "count": 1.0, "encoding": 3, "gc": "45",
            "length": [1, 2, 3]});
        assert_eq!(
            errors(quality),
            json!({"quality.sequences": ["must be a list of integers"],
                   "quality.bases.1": ["must be a list of 6 numbers"],
                   "quality.bases.2": ["must be a list of 6 numbers"],
                   "quality.composition.0": ["must be a list of 4 numbers"],
                   "quality.count": ["must be of integer type"],
                   "quality.encoding": ["must be of string type"],
                   "quality.gc": ["must be of number type"],
                   "quality.length": ["must be a list of 2 integers"]})
        );
        assert_eq!(
            errors(json!({"bases": [], "composition": []})),
            json!({"quality.count": ["required field"], "quality.encoding": ["required field"],
                   "quality.gc": ["required field"], "quality.length": ["required field"],
                   "quality.sequences": ["required field"]})
        );
    }

    #[test]
    fn at_most_100_keys() {
        let rows: Vec<Value> = (0..500).map(|_| json!([1])).collect();
        assert_eq!(check(Some(&json!({"bases": rows}))).len(), 100);
    }
}
