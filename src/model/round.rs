//! Rounding as Python's `round(x, digits)`: half to even on the exact binary value of the double
//! (quality numbers, genome gc, Pathoscope coverage).

/// `value` rounded to `digits` decimals, half to even on its exact binary value.
///
/// Rust's fixed-precision formatting is exact (it sees the double's full binary expansion, so
/// `2.675` — really 2.67499999… — goes down) and breaks exact ties to even, which is CPython's
/// algorithm (`_Py_dg_dtoa` mode 3, then back to the nearest double). `-0.0` and values that round
/// to zero from below stay negative zero, as in Python. Infinities and NaN are returned unchanged.
pub fn round_half_even(value: f64, digits: usize) -> f64 {
    if !value.is_finite() {
        return value;
    }
    format!("{value:.digits$}")
        .parse()
        .expect("a formatted finite double parses")
}

#[cfg(test)]
mod tests {
    use super::round_half_even;

    #[test]
    fn ties_and_near_ties() {
        assert_eq!(round_half_even(2.675, 2), 2.67);
        assert_eq!(round_half_even(0.125, 2), 0.12);
        assert_eq!(round_half_even(0.375, 2), 0.38);
        assert_eq!(round_half_even(2.5, 0), 2.0);
        assert_eq!(round_half_even(0.25, 1), 0.2);
        assert_eq!(round_half_even(0.35, 1), 0.3); // 0.34999999999999997…
        assert_eq!(round_half_even(12.3456, 3), 12.346);
        let negative_zero = round_half_even(-0.04, 1);
        assert_eq!(negative_zero, 0.0);
        assert!(negative_zero.is_sign_negative());
    }

    const ROUNDING: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/quality/rounding.jsonl"
    );

    /// 2,058 cases of CPython's `round(value, digits)`.
    #[test]
    fn rounds_as_python() {
        let corpus = std::fs::read_to_string(ROUNDING).unwrap();
        for line in corpus.lines() {
            let case: serde_json::Value = serde_json::from_str(line).unwrap();
            let value = case["value"].as_f64().unwrap();
            let digits = case["digits"].as_u64().unwrap() as usize;
            let expected = case["expected"].as_f64().unwrap();
            let got = round_half_even(value, digits);
            assert_eq!(
                got.to_bits(),
                expected.to_bits(),
                "round({value}, {digits})"
            );
        }
        assert_eq!(round_half_even(0.5625, 3), 0.562);
        // Not ties: the doubles lie just above and just below.
        assert_eq!(round_half_even(0.9995, 3), 1.0);
        assert_eq!(round_half_even(2.675, 2), 2.67);
        assert_eq!(round_half_even(1.0, 3), 1.0);
    }
}
