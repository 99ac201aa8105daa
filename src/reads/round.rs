//! Rounding as Python's `round(x, digits)`: half to even on the exact binary value of the double.

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
}
