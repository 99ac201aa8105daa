//! Typed, error-tolerant deserialization of raw Pathoscope results: no `serde_json::Value` tree.
//!
//! A finalize body can hold 20 M depth values; a `Value` per depth costs 32+ bytes, so the visitors
//! here read `align` straight into a reused `Vec<u32>` and keep only the small fields. Wrong JSON
//! types never abort the parse: they come back as [`Shape::Wrong`] or a flag so that every problem
//! can be reported with its path (contract §9.3).

use super::transcode::Transcode;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Number;
use std::fmt;

/// A value that should have been a container, or what it was instead.
pub(super) enum Shape<T> {
    Ok(T),
    /// `null` gets `null value not allowed`; any other type `must be of <kind> type`.
    Wrong {
        null: bool,
    },
}

/// The message for a value of the wrong JSON type (contract §3 wording).
pub(super) fn type_message(null: bool, kind: &str) -> String {
    if null {
        "null value not allowed".to_owned()
    } else {
        format!("must be of {kind} type")
    }
}

/// A value reduced to what the checks need: scalars kept, containers drained without storing.
#[derive(Debug)]
pub(super) enum Scalar {
    Null,
    Bool,
    Num(Number),
    Str(String),
    Container,
}

impl Scalar {
    /// The number when it has the wanted kind (`integer` or any `number`), else the message.
    pub(super) fn number(self, integer: bool) -> Result<Number, String> {
        let kind = if integer { "integer" } else { "number" };
        match self {
            Scalar::Num(n) if !integer || !n.is_f64() => Ok(n),
            other => Err(type_message(matches!(other, Scalar::Null), kind)),
        }
    }
}

/// Scalar visits of a container visitor: each one is the wrong type.
macro_rules! wrong_scalars {
    () => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Shape::Wrong { null: false })
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Shape::Wrong { null: false })
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Shape::Wrong { null: false })
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Shape::Wrong { null: false })
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(Shape::Wrong { null: false })
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Shape::Wrong { null: true })
        }
    };
}

/// For visitors that want an object: a list is the wrong type and is skipped.
macro_rules! wrong_seq {
    () => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Shape::Wrong { null: false })
        }
    };
}

/// For visitors that want a list: an object is the wrong type and is skipped.
macro_rules! wrong_map {
    () => {
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Shape::Wrong { null: false })
        }
    };
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Scalar, E> {
                Ok(Scalar::Bool)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Num(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Num(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                // serde_json never yields a non-finite float; keep the arm total anyway.
                Ok(Number::from_f64(v).map_or(Scalar::Bool, Scalar::Num))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Str(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar::Str(v))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar::Null)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Container)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Container)
            }
        }
        d.deserialize_any(V)
    }
}

/// The object keys the checks look at; matching on `&str` avoids allocating every key.
enum Field {
    Id,
    Otu,
    Align,
    Coverage,
    Final,
    Version,
    Pi,
    Best,
    Reads,
    Other,
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Field, E> {
                Ok(match v {
                    "id" => Field::Id,
                    "otu" => Field::Otu,
                    "align" => Field::Align,
                    "coverage" => Field::Coverage,
                    "final" => Field::Final,
                    "version" => Field::Version,
                    "pi" => Field::Pi,
                    "best" => Field::Best,
                    "reads" => Field::Reads,
                    _ => Field::Other,
                })
            }
        }
        d.deserialize_str(V)
    }
}

/// `hits[N].otu`: only `id` and `version` matter.
#[derive(Default)]
pub(super) struct RawOtu {
    pub id: Option<Scalar>,
    pub version: Option<Scalar>,
}

/// `hits[N].final`: only the three copied values matter (`high`, `low` are not emitted).
#[derive(Default)]
pub(super) struct RawFinal {
    pub pi: Option<Scalar>,
    pub best: Option<Scalar>,
    pub reads: Option<Scalar>,
}

impl<'de> Deserialize<'de> for Shape<RawOtu> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Shape<RawOtu>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an OTU reference")
            }
            wrong_scalars!();
            wrong_seq!();
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut otu = RawOtu::default();
                while let Some(key) = map.next_key::<Field>()? {
                    match key {
                        Field::Id => otu.id = Some(map.next_value()?),
                        Field::Version => otu.version = Some(map.next_value()?),
                        _ => drop(map.next_value::<IgnoredAny>()?),
                    }
                }
                Ok(Shape::Ok(otu))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Shape<RawFinal> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Shape<RawFinal>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("EM results")
            }
            wrong_scalars!();
            wrong_seq!();
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut fin = RawFinal::default();
                while let Some(key) = map.next_key::<Field>()? {
                    match key {
                        Field::Pi => fin.pi = Some(map.next_value()?),
                        Field::Best => fin.best = Some(map.next_value()?),
                        Field::Reads => fin.reads = Some(map.next_value()?),
                        _ => drop(map.next_value::<IgnoredAny>()?),
                    }
                }
                Ok(Shape::Ok(fin))
            }
        }
        d.deserialize_any(V)
    }
}

/// One depth value, or why it is not one. Depths must fit `u32` (a vira limit: real depths are in
/// the thousands, and `u32` halves the memory of the largest arrays).
enum Depth {
    Val(u32),
    Negative,
    NotInteger,
    TooLarge,
}

impl<'de> Deserialize<'de> for Depth {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Depth;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a depth")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Depth, E> {
                Ok(u32::try_from(v).map_or(Depth::TooLarge, Depth::Val))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Depth, E> {
                if v < 0 {
                    Ok(Depth::Negative)
                } else {
                    Ok(u32::try_from(v).map_or(Depth::TooLarge, Depth::Val))
                }
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Depth, E> {
                Ok(Depth::NotInteger)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Depth, E> {
                Ok(Depth::NotInteger)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Depth, E> {
                Ok(Depth::NotInteger)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Depth, E> {
                Ok(Depth::NotInteger)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Depth, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Depth::NotInteger)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Depth, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Depth::NotInteger)
            }
        }
        d.deserialize_any(V)
    }
}

/// Reads `align` into `buf` (cleared first, reused across hits to avoid regrowing it).
/// The value is the list's messages, once each, in order of first occurrence.
struct AlignSeed<'b>(&'b mut Vec<u32>);

impl<'de> DeserializeSeed<'de> for AlignSeed<'_> {
    type Value = Shape<Vec<&'static str>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AlignSeed<'_> {
    type Value = Shape<Vec<&'static str>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of depths")
    }
    wrong_scalars!();
    wrong_map!();
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let buf = self.0;
        buf.clear();
        let mut messages = Vec::new();
        while let Some(depth) = seq.next_element::<Depth>()? {
            let message = match depth {
                Depth::Val(v) => {
                    buf.push(v);
                    continue;
                }
                Depth::Negative => "min value is 0",
                Depth::NotInteger => "must be of integer type",
                Depth::TooLarge => "max value is 4294967295",
            };
            if !messages.contains(&message) {
                messages.push(message);
            }
        }
        Ok(Shape::Ok(messages))
    }
}

/// One hit as read; its depths are in the buffer handed to [`HitSeed`].
#[derive(Default)]
pub(super) struct RawHit {
    pub id: Option<Scalar>,
    pub otu: Option<Shape<RawOtu>>,
    pub align: Option<Shape<Vec<&'static str>>>,
    pub coverage: Option<Scalar>,
    pub fin: Option<Shape<RawFinal>>,
}

/// Reads one element of `hits`, putting its depths in the shared buffer.
pub(super) struct HitSeed<'b>(pub &'b mut Vec<u32>);

impl<'de> DeserializeSeed<'de> for HitSeed<'_> {
    type Value = Shape<RawHit>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for HitSeed<'_> {
    type Value = Shape<RawHit>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a hit")
    }
    wrong_scalars!();
    wrong_seq!();
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let buf = self.0;
        // A hit without `align` must not see the previous hit's depths.
        buf.clear();
        let mut hit = RawHit::default();
        // Duplicate keys: the last one wins, as in serde_json's own maps.
        while let Some(key) = map.next_key::<Field>()? {
            match key {
                Field::Id => hit.id = Some(map.next_value()?),
                Field::Otu => hit.otu = Some(map.next_value()?),
                Field::Align => hit.align = Some(map.next_value_seed(AlignSeed(&mut *buf))?),
                Field::Coverage => hit.coverage = Some(map.next_value()?),
                Field::Final => hit.fin = Some(map.next_value()?),
                _ => drop(map.next_value::<IgnoredAny>()?),
            }
        }
        Ok(Shape::Ok(hit))
    }
}

/// Receives the hits one by one as they are read, so only one depth array is alive at a time.
pub(super) trait HitSink {
    /// Whether later hits can still matter (false once the error list is full).
    fn wants_more(&self) -> bool;
    /// Hit `n` has been read; its depths are in `buf`.
    fn hit(&mut self, n: usize, hit: Shape<RawHit>, buf: &mut Vec<u32>);
}

/// Reads the `hits` list, handing each element to the sink.
pub(super) struct HitsSeed<'s, S>(pub &'s mut S);

impl<'de, S: HitSink> DeserializeSeed<'de> for HitsSeed<'_, S> {
    type Value = Shape<()>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S: HitSink> Visitor<'de> for HitsSeed<'_, S> {
    type Value = Shape<()>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of hits")
    }
    wrong_scalars!();
    wrong_map!();
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let sink = self.0;
        let mut buf = Vec::new();
        let mut n = 0;
        loop {
            if !sink.wants_more() {
                // Nothing more can be reported or emitted: just skip the rest.
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                break;
            }
            match seq.next_element_seed(HitSeed(&mut buf))? {
                Some(hit) => sink.hit(n, hit, &mut buf),
                None => break,
            }
            n += 1;
        }
        Ok(Shape::Ok(()))
    }
}

/// One top-level value of `results`, read according to its key.
pub(super) enum TopValue<S> {
    /// `hits`: its shape, and the sink that received its elements.
    Hits(Shape<()>, S),
    /// `read_count` and `subtracted_count`, which are checked.
    Count(Scalar),
    /// Any other key, copied through as compact JSON.
    Raw(Vec<u8>),
}

/// Reads the top-level `results` object into its entries, in document order. `new_sink` makes a
/// sink for each `hits` key. A repeated key keeps its first position and its last value, as
/// serde_json's order-preserving map does.
pub(super) struct TopSeed<F>(pub F);

impl<'de, S: HitSink, F: FnMut() -> S> DeserializeSeed<'de> for TopSeed<F> {
    type Value = Shape<Vec<(String, TopValue<S>)>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S: HitSink, F: FnMut() -> S> Visitor<'de> for TopSeed<F> {
    type Value = Shape<Vec<(String, TopValue<S>)>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a results object")
    }
    wrong_scalars!();
    wrong_seq!();
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries: Vec<(String, TopValue<S>)> = Vec::new();
        let mut positions: std::collections::HashMap<String, usize> =
            std::collections::HashMap::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = match key.as_str() {
                "hits" => {
                    let mut sink = (self.0)();
                    let shape = map.next_value_seed(HitsSeed(&mut sink))?;
                    TopValue::Hits(shape, sink)
                }
                "read_count" | "subtracted_count" => TopValue::Count(map.next_value()?),
                _ => {
                    let mut raw = Vec::new();
                    map.next_value_seed(Transcode(&mut raw))?;
                    TopValue::Raw(raw)
                }
            };
            match positions.get(&key) {
                Some(&i) => entries[i].1 = value,
                None => {
                    positions.insert(key.clone(), entries.len());
                    entries.push((key, value));
                }
            }
        }
        Ok(Shape::Ok(entries))
    }
}
