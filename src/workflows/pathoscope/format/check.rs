//! The §9.3 checks of each hit, run as soon as the hit is read, and what a valid hit leaves for
//! formatting: its coordinates and median are computed here so its depth array can be dropped.

use super::de::{self, HitSink, RawFinal, RawHit, RawOtu, Scalar, Shape};
use super::Median;
use crate::format::coverage::to_coordinates;
use crate::model::field_errors::FieldErrors;
use crate::model::otu::OtuSummary;
use serde_json::Number;
use std::collections::{HashMap, HashSet};

/// What formatting keeps of a valid hit once its depth array is gone.
pub(super) struct HitOut {
    pub id: String,
    pub otu_id: String,
    /// The `align` coordinates, already as compact JSON.
    pub align_json: Vec<u8>,
    pub median: Median,
    pub best: Number,
    pub coverage: Number,
    pub pi: Number,
    pub reads: Number,
}

/// Checks hits as they are read (the §9.3 table) and keeps what formatting needs.
pub(super) struct Checker<'a> {
    otus: &'a HashMap<String, OtuSummary>,
    index_id: &'a str,
    pub errors: FieldErrors,
    /// Hit ids seen so far, for `duplicate hit for sequence`.
    seen: HashSet<String>,
    /// Sequence ids per OTU, built on first use: most OTUs of an index are never hit.
    sequence_ids: HashMap<&'a str, HashSet<&'a str>>,
    pub hits: Vec<HitOut>,
}

impl<'a> Checker<'a> {
    pub(super) fn new(otus: &'a HashMap<String, OtuSummary>, index_id: &'a str) -> Self {
        Checker {
            otus,
            index_id,
            errors: FieldErrors::new(),
            seen: HashSet::new(),
            sequence_ids: HashMap::new(),
            hits: Vec::new(),
        }
    }

    fn otu_has_sequence(&mut self, otu: &'a OtuSummary, id: &str) -> bool {
        self.sequence_ids
            .entry(otu.id.as_str())
            .or_insert_with(|| {
                let sequences = otu.isolates.iter().flat_map(|i| &i.sequences);
                sequences.map(|s| s.id.as_str()).collect()
            })
            .contains(id)
    }
}

impl HitSink for Checker<'_> {
    fn wants_more(&self) -> bool {
        !self.errors.is_full()
    }

    fn hit(&mut self, n: usize, hit: Shape<RawHit>, depths: &mut Vec<u32>) {
        let base = format!("results.hits.{n}");
        let hit = match hit {
            Shape::Ok(hit) => hit,
            Shape::Wrong { null } => {
                self.errors.add(base, de::type_message(null, "dict"));
                return;
            }
        };
        // Messages per path suffix, in the order of the §9.3 table so that the output is stable
        // whatever the key order inside the hit.
        let mut problems: Vec<(&str, String)> = Vec::new();

        let id = match hit.id {
            Some(Scalar::Str(id)) => Some(id),
            None => {
                problems.push(("id", "required field".to_owned()));
                None
            }
            Some(other) => {
                problems.push(("id", type_of("string", &other)));
                None
            }
        };
        // `otu`, `otu.id` and `otu.version` come after `id`, whose own checks need the OTU.
        let mut otu_problems: Vec<(&str, String)> = Vec::new();
        let otus = self.otus;
        let otu = match hit.otu {
            None => {
                otu_problems.push(("otu", "required field".to_owned()));
                None
            }
            Some(Shape::Wrong { null }) => {
                otu_problems.push(("otu", de::type_message(null, "dict")));
                None
            }
            Some(Shape::Ok(RawOtu { id, version })) => {
                let otu = match id {
                    Some(Scalar::Str(otu_id)) => {
                        let found = otus.get(&otu_id);
                        if found.is_none() {
                            let message =
                                format!("unknown OTU {otu_id} in index {}", self.index_id);
                            otu_problems.push(("otu.id", message));
                        }
                        found
                    }
                    None => {
                        otu_problems.push(("otu.id", "required field".to_owned()));
                        None
                    }
                    Some(other) => {
                        otu_problems.push(("otu.id", type_of("string", &other)));
                        None
                    }
                };
                // Not used for lookup (§9.1 step 2), but still checked (§9.3).
                match version.map(|v| v.number(true)) {
                    None => otu_problems.push(("otu.version", "required field".to_owned())),
                    Some(Err(message)) => otu_problems.push(("otu.version", message)),
                    Some(Ok(_)) => {}
                }
                otu
            }
        };
        if let Some(id) = &id {
            // Every string id counts as used, so a repeat is reported whatever else is wrong.
            let first_use = self.seen.insert(id.clone());
            match otu {
                Some(otu) if !self.otu_has_sequence(otu, id) => {
                    problems.push(("id", format!("unknown sequence {id} in OTU {}", otu.id)));
                }
                _ if !first_use => {
                    problems.push(("id", format!("duplicate hit for sequence {id}")))
                }
                _ => {}
            }
        }
        problems.extend(otu_problems);

        match hit.align {
            None => problems.push(("align", "required field".to_owned())),
            Some(Shape::Wrong { null }) => problems.push(("align", de::type_message(null, "list"))),
            Some(Shape::Ok(messages)) => {
                problems.extend(messages.into_iter().map(|m| ("align", m.to_owned())));
            }
        }
        let (pi, best, reads) = match hit.fin {
            None => (zero(), zero(), zero()),
            Some(Shape::Wrong { null }) => {
                problems.push(("final", de::type_message(null, "dict")));
                (zero(), zero(), zero())
            }
            Some(Shape::Ok(RawFinal { pi, best, reads })) => (
                optional_number(&mut problems, "final.pi", pi, false),
                optional_number(&mut problems, "final.best", best, false),
                optional_number(&mut problems, "final.reads", reads, true),
            ),
        };
        let coverage = optional_number(&mut problems, "coverage", hit.coverage, false);

        for (suffix, message) in problems {
            self.errors.add(format!("{base}.{suffix}"), message);
        }
        // Once anything is wrong nothing will be emitted, so skip the costly part.
        if !self.errors.is_empty() {
            return;
        }
        let (Some(id), Some(otu)) = (id, otu) else {
            return;
        };
        // Coordinates need the original order; the median may then reorder in place.
        let align_json = coordinates_json(&to_coordinates(depths));
        let median = median(depths);
        depths.clear();
        self.hits.push(HitOut {
            id,
            otu_id: otu.id.clone(),
            align_json,
            median,
            best,
            coverage,
            pi,
            reads,
        });
    }
}

fn zero() -> Number {
    Number::from(0)
}

/// `best`, `pi`, `reads` and `coverage`: copied as stored, 0 when absent (§9.1 step 5).
fn optional_number(
    problems: &mut Vec<(&str, String)>,
    suffix: &'static str,
    value: Option<Scalar>,
    integer: bool,
) -> Number {
    match value.map(|v| v.number(integer)) {
        None => zero(),
        Some(Ok(n)) => n,
        Some(Err(message)) => {
            problems.push((suffix, message));
            zero()
        }
    }
}

fn type_of(kind: &str, value: &Scalar) -> String {
    de::type_message(matches!(value, Scalar::Null), kind)
}

/// Median of the raw depths (§10.2), in O(n) by selection; reorders `depths`.
pub(super) fn median(depths: &mut [u32]) -> Median {
    let len = depths.len();
    if len == 0 {
        return Median::Int(0);
    }
    let (lower, &mut upper, _) = depths.select_nth_unstable(len / 2);
    if len % 2 == 1 {
        return Median::Int(u64::from(upper));
    }
    // The other middle value is the largest of the lower half, which is non-empty here.
    let below = lower.iter().copied().max().unwrap_or(upper);
    Median::Float((f64::from(below) + f64::from(upper)) / 2.0)
}

fn coordinates_json(points: &[[u32; 2]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + points.len() * 12);
    let mut num = itoa::Buffer::new();
    out.push(b'[');
    for (i, [x, y]) in points.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'[');
        out.extend_from_slice(num.format(*x).as_bytes());
        out.push(b',');
        out.extend_from_slice(num.format(*y).as_bytes());
        out.push(b']');
    }
    out.push(b']');
    out
}
