//! Results formatting (contract §9) as plain functions: checked and prepared once at finalize
//! (`ops::finalize`), served as stored bytes (§9.4).

pub mod brotli_splice;
pub mod coverage;
pub mod gzip_splice;
pub mod otus_json;

/// Fast gzip (level 1): raw results are stored compressed.
pub fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 8),
        flate2::Compression::fast(),
    );
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// The error of a JSON number that no double can hold (`1e999`) anywhere in `raw`, as serde_json
/// words it with its place (`number out of range at line 1 column 31`); `None` when every number
/// reads. The results are located without reading numbers (J4), and the workflow checks fail on
/// such a number without saying so; this names it.
pub fn number_out_of_range(raw: &[u8]) -> Option<String> {
    use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

    /// Any JSON value, read whole (numbers included) and dropped.
    struct Read;

    impl<'de> Deserialize<'de> for Read {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Read, D::Error> {
            d.deserialize_any(ReadVisitor)
        }
    }

    struct ReadVisitor;

    impl<'de> Visitor<'de> for ReadVisitor {
        type Value = Read;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_bool<E>(self, _: bool) -> Result<Read, E> {
            Ok(Read)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Read, E> {
            Ok(Read)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Read, E> {
            Ok(Read)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Read, E> {
            Ok(Read)
        }
        fn visit_str<E>(self, _: &str) -> Result<Read, E> {
            Ok(Read)
        }
        fn visit_unit<E>(self) -> Result<Read, E> {
            Ok(Read)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Read, A::Error> {
            while seq.next_element::<Read>()?.is_some() {}
            Ok(Read)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Read, A::Error> {
            while map.next_entry::<serde::de::IgnoredAny, Read>()?.is_some() {}
            Ok(Read)
        }
    }

    let mut reader = serde_json::Deserializer::from_slice(raw);
    match Read::deserialize(&mut reader) {
        Err(e) if e.to_string().starts_with("number out of range") => Some(e.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_no_double_holds_are_named() {
        let found = super::number_out_of_range(br#"{"hits": [], "x": 1e999}"#);
        assert_eq!(
            found.as_deref(),
            Some("number out of range at line 1 column 23")
        );
        assert_eq!(
            super::number_out_of_range(br#"{"x": [-1e308, 1e-999]}"#),
            None
        );
        assert_eq!(super::number_out_of_range(b"{\"x\": tru"), None);
    }
}
