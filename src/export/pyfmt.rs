//! CSV text byte-identical to Python's `csv.writer(quoting=csv.QUOTE_NONNUMERIC)`, floats as
//! `repr(float)` (contract §10.1).

use std::fmt::Write as _;

/// Writes `f` as Python's `repr(f)`: the shortest digits that read back to the same double,
/// positional when the leading digit's decimal exponent `e` satisfies `−4 ≤ e < 16`, else
/// scientific with a signed exponent of at least two digits (`1e-05`, `1.5e+300`).
pub fn write_float(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("nan");
        return;
    }
    if f.is_infinite() {
        out.push_str(if f > 0.0 { "inf" } else { "-inf" });
        return;
    }
    // Rust's `{:e}` gives shortest round-trip digits (`9.8e-1`, `1e16`, `-0e0`), written to
    // `out`, then moved to the stack and re-laid, so no allocation is made. The longest is
    // 24 bytes: `-2.2250738585072014e-308`.
    let start = out.len();
    write!(out, "{f:e}").expect("writing to a String cannot fail");
    let mut sci = [0u8; 32];
    let len = out.len() - start;
    sci[..len].copy_from_slice(&out.as_bytes()[start..]);
    out.truncate(start);
    if f.is_sign_negative() {
        out.push('-');
    }
    let sci = std::str::from_utf8(&sci[..len]).expect("`{:e}` output is ASCII");
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` output has an exponent");
    let exp: i32 = exp.parse().expect("`{:e}` exponent is an integer");
    let mut digits = 0u64;
    for b in mantissa.bytes().filter(u8::is_ascii_digit) {
        digits = digits * 10 + u64::from(b - b'0');
    }
    let count = mantissa.bytes().filter(u8::is_ascii_digit).count();
    let digits = round_half_even(f.abs(), digits, exp - count as i32 + 1);
    let mut text = [0u8; 20];
    let mut n = digits;
    for slot in text[..count].iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let digits = std::str::from_utf8(&text[..count]).expect("ASCII digits");
    let (lead, rest) = digits.split_at(1);

    if !(-4..16).contains(&exp) {
        out.push_str(lead);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push_str(if exp < 0 { "e-" } else { "e+" });
        write!(out, "{:02}", exp.unsigned_abs()).expect("writing to a String cannot fail");
    } else if exp < 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
        out.push_str(lead);
        out.push_str(rest);
    } else {
        // `exp` digits follow the leading one before the point, padded with zeros.
        let int_digits = exp as usize;
        out.push_str(lead);
        out.push_str(&rest[..int_digits.min(rest.len())]);
        out.extend(std::iter::repeat_n(
            '0',
            int_digits.saturating_sub(rest.len()),
        ));
        out.push('.');
        out.push_str(
            rest.get(int_digits..)
                .filter(|f| !f.is_empty())
                .unwrap_or("0"),
        );
    }
}

/// Rust and Python agree on the shortest digit count, but when `f` lies exactly halfway between
/// two shortest candidates Rust takes the upper and Python the even one
/// (1014220594116628.25 → `…628.3` vs `…628.2`). `digits · 10^pow` is Rust's choice; this
/// returns Python's, with as many digits.
fn round_half_even(f: f64, digits: u64, pow: i32) -> u64 {
    if digits % 2 == 0 {
        return digits;
    }
    for (midpoint, neighbour) in [(digits * 10 - 5, digits - 1), (digits * 10 + 5, digits + 1)] {
        // A neighbour of another length (…9 + 1) would have been a shorter round trip.
        let same_len = neighbour.checked_ilog10() == digits.checked_ilog10();
        if same_len
            && equals_decimal(f, midpoint, pow - 1)
            && format!("{neighbour}e{pow}").parse::<f64>() == Ok(f)
        {
            return neighbour;
        }
    }
    digits
}

/// Whether `f` (finite, non-negative) is exactly `m · 10^q`, both written as `odd · 2^k · 5^j`.
fn equals_decimal(f: f64, m: u64, q: i32) -> bool {
    let bits = f.to_bits();
    let (field, fraction) = ((bits >> 52) as i32, bits & ((1 << 52) - 1));
    let (mant, exp2) = match field {
        0 => (fraction, -1074),
        _ => (fraction | 1 << 52, field - 1075),
    };
    if mant == 0 || m == 0 {
        return mant == m;
    }
    let (tz_f, tz_m) = (mant.trailing_zeros() as i32, m.trailing_zeros() as i32);
    // f = odd_f · 2^(exp2 + tz_f), and m · 10^q = odd_m · 5^q · 2^(tz_m + q).
    if exp2 + tz_f != tz_m + q {
        return false;
    }
    let (odd_f, odd_m) = (u128::from(mant >> tz_f), u128::from(m >> tz_m));
    match 5u128.checked_pow(q.unsigned_abs()) {
        Some(p) if q >= 0 => odd_m.checked_mul(p) == Some(odd_f),
        Some(p) => odd_f.checked_mul(p) == Some(odd_m),
        None => false,
    }
}

/// Writes a JSON number as Python would after `json.loads`: integers in decimal, floats through
/// [`write_float`], so `1` stays `1` and `1.0` stays `1.0`.
pub fn write_json_number(out: &mut String, n: &serde_json::Number) {
    match n.as_f64() {
        Some(f) if n.is_f64() => write_float(out, f),
        _ => write!(out, "{n}").expect("writing to a String cannot fail"),
    }
}

/// One CSV field.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell<'a> {
    Str(&'a str),
    Int(i64),
    Float(f64),
    Number(&'a serde_json::Number),
    /// An absent value, written as the empty string `""` (Python's `None`).
    Empty,
}

/// Writes one CSV row: strings always quoted with `"` doubled, numbers bare, fields separated by
/// `,`, and the row ended by `\r\n` (the `csv` module's default dialect).
pub fn write_row(out: &mut String, cells: &[Cell]) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match *cell {
            Cell::Str(s) => {
                out.push('"');
                for (j, part) in s.split('"').enumerate() {
                    if j > 0 {
                        out.push_str("\"\"");
                    }
                    out.push_str(part);
                }
                out.push('"');
            }
            Cell::Int(n) => write!(out, "{n}").expect("writing to a String cannot fail"),
            Cell::Float(f) => write_float(out, f),
            Cell::Number(n) => write_json_number(out, n),
            Cell::Empty => out.push_str("\"\""),
        }
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn float(f: f64) -> String {
        let mut out = String::new();
        write_float(&mut out, f);
        out
    }

    fn json_number(text: &str) -> String {
        let mut out = String::new();
        write_json_number(&mut out, &serde_json::from_str(text).unwrap());
        out
    }

    fn rows(rows: &[&[Cell]]) -> String {
        let mut out = String::new();
        for row in rows {
            write_row(&mut out, row);
        }
        out
    }

    #[test]
    fn floats_as_python_repr() {
        // Pairs checked against CPython's repr().
        let cases: &[(f64, &str)] = &[
            (3.0, "3.0"),
            (0.91, "0.91"),
            (0.0001, "0.0001"),
            (0.00012345, "0.00012345"),
            (1e-5, "1e-05"),
            (1.2345e-5, "1.2345e-05"),
            (8.8e-22, "8.8e-22"),
            (5.926654755596898e-09, "5.926654755596898e-09"),
            (1e16, "1e+16"),
            (1e22, "1e+22"),
            (1.5e300, "1.5e+300"),
            (6.054707353153265e-05, "6.054707353153265e-05"),
            (5.6039729675898496e-05, "5.6039729675898496e-05"),
            (8.64543396608676e-07, "8.64543396608676e-07"),
            (0.9817922033874211, "0.9817922033874211"),
            (11.0, "11.0"),
            (2.5, "2.5"),
            (100.0, "100.0"),
            (123456789012345.0, "123456789012345.0"),
            (1234567890123456.0, "1234567890123456.0"),
            (12345678901234567.0, "1.2345678901234568e+16"),
            (9999999999999998.0, "9999999999999998.0"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (-1.5, "-1.5"),
            (-2.5e-7, "-2.5e-07"),
            (5e-324, "5e-324"),
            (2.2250738585072014e-308, "2.2250738585072014e-308"),
            (f64::MAX, "1.7976931348623157e+308"),
            (0.1 + 0.2, "0.30000000000000004"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for &(f, text) in cases {
            assert_eq!(float(f), text, "{f:e}");
        }
    }

    #[test]
    fn json_numbers_keep_their_kind() {
        assert_eq!(json_number("1"), "1");
        assert_eq!(json_number("1.0"), "1.0");
        assert_eq!(json_number("-7"), "-7");
        assert_eq!(json_number("18446744073709551615"), "18446744073709551615");
        assert_eq!(json_number("-9223372036854775808"), "-9223372036854775808");
        assert_eq!(json_number("1e5"), "100000.0");
        assert_eq!(json_number("8.8e-22"), "8.8e-22");
        assert_eq!(json_number("0.0099"), "0.0099");
    }

    #[test]
    fn pathoscope_rows() {
        use Cell::{Float, Int, Str};
        let header = [
            "OTU",
            "Isolate",
            "Sequence",
            "Length",
            "Weight",
            "Median Depth",
            "Coverage",
        ]
        .map(Str);
        let otu = "Grapevine leafroll-associated virus 1";
        let fanleaf = "Grapevine fanleaf virus";
        let text = rows(&[
            &header,
            &[Str(otu), Str("Isolate 1050"), Str("NC_016509"), Int(18659)],
            &[Float(0.9817922033874211), Int(10), Float(0.999)],
            &[Str(fanleaf), Str("Strain F13"), Str("NC_003623"), Int(3774)],
            &[Float(8.64543396608676e-07), Float(26.0), Float(0.898)],
            &[
                Str("Grapevine fleck virus"),
                Str("Isolate MT48"),
                Str("NC_003347"),
            ],
            &[
                Int(7564),
                Float(5.6039729675898496e-05),
                Float(6.0),
                Float(0.844),
            ],
            &[
                Str("Hop stunt viroid"),
                Str("Unnamed Isolate"),
                Str("JQ080272"),
                Int(305),
            ],
            &[Float(5.801601112325778e-08), Int(3), Float(0.777)],
        ]);
        assert_eq!(
            text,
            concat!(
                "\"OTU\",\"Isolate\",\"Sequence\",\"Length\",\"Weight\",\"Median Depth\",",
                "\"Coverage\"\r\n",
                "\"Grapevine leafroll-associated virus 1\",\"Isolate 1050\",\"NC_016509\",18659\r\n",
                "0.9817922033874211,10,0.999\r\n",
                "\"Grapevine fanleaf virus\",\"Strain F13\",\"NC_003623\",3774\r\n",
                "8.64543396608676e-07,26.0,0.898\r\n",
                "\"Grapevine fleck virus\",\"Isolate MT48\",\"NC_003347\"\r\n",
                "7564,5.6039729675898496e-05,6.0,0.844\r\n",
                "\"Hop stunt viroid\",\"Unnamed Isolate\",\"JQ080272\",305\r\n",
                "5.801601112325778e-08,3,0.777\r\n",
            )
        );
        let mut row = String::new();
        write_row(
            &mut row,
            &[
                Str("Grapevine leafroll-associated virus 3"),
                Str("Strain NY1"),
                Str("NC_004667"),
                Int(17919),
                Float(6.054707353153265e-05),
                Int(0),
                Float(0.034),
            ],
        );
        assert_eq!(
            row,
            "\"Grapevine leafroll-associated virus 3\",\"Strain NY1\",\"NC_004667\",17919,\
             6.054707353153265e-05,0,0.034\r\n"
        );
    }

    #[test]
    fn nuvs_rows() {
        use Cell::{Empty, Int, Number, Str};
        let e1: serde_json::Number = serde_json::from_str("8.8e-22").unwrap();
        let e4: serde_json::Number = serde_json::from_str("0.0099").unwrap();
        let families = "Ascoviridae; Iridoviridae; Marseillevirus family; Mimiviridae";
        let header = ["Index", "Length", "E-value", "Families", "ORF Count"].map(Str);
        let text = rows(&[
            &header,
            &[Str("BLAST Top Hit"), Str("BLAST Accession")],
            &[
                Int(0),
                Int(19226),
                Cell::Float(0.69),
                Str("Herpesviridae"),
                Int(19),
            ],
            &[Empty, Empty],
            &[Int(1), Int(14199), Number(&e1), Str(families), Int(8)],
            &[Str("Actinidia virus A"), Str("JN427014")],
            &[Int(2), Int(13808), Empty, Str(""), Int(9), Empty, Empty],
            &[
                Int(4),
                Int(10841),
                Number(&e4),
                Str("Marseillevirus family"),
                Int(11),
            ],
        ]);
        assert_eq!(
            text,
            concat!(
                "\"Index\",\"Length\",\"E-value\",\"Families\",\"ORF Count\"\r\n",
                "\"BLAST Top Hit\",\"BLAST Accession\"\r\n",
                "0,19226,0.69,\"Herpesviridae\",19\r\n",
                "\"\",\"\"\r\n",
                "1,14199,8.8e-22,\"Ascoviridae; Iridoviridae; Marseillevirus family; ",
                "Mimiviridae\",8\r\n",
                "\"Actinidia virus A\",\"JN427014\"\r\n",
                "2,13808,\"\",\"\",9,\"\",\"\"\r\n",
                "4,10841,0.0099,\"Marseillevirus family\",11\r\n",
            )
        );
    }

    #[test]
    fn quotes_are_doubled_and_specials_kept() {
        let mut out = String::new();
        write_row(&mut out, &[Cell::Str("a \"b\", c\r\nd"), Cell::Str("\"")]);
        assert_eq!(out, "\"a \"\"b\"\", c\r\nd\",\"\"\"\"\r\n");
        out.clear();
        write_row(&mut out, &[]);
        assert_eq!(out, "\r\n");
    }

    #[derive(Debug, Clone)]
    enum Owned {
        Str(String),
        Int(i64),
        Float(f64),
        Empty,
    }

    #[derive(Debug, PartialEq)]
    enum Field {
        Quoted(String),
        Bare(String),
    }

    /// A minimal reader of the dialect: quoted fields with `""` escapes, bare fields, CRLF rows.
    fn parse_rows(mut text: &str) -> Vec<Vec<Field>> {
        let mut rows = Vec::new();
        while !text.is_empty() {
            let mut row = Vec::new();
            if let Some(rest) = text.strip_prefix("\r\n") {
                rows.push(row);
                text = rest;
                continue;
            }
            loop {
                if let Some(rest) = text.strip_prefix('"') {
                    let mut value = String::new();
                    let mut chars = rest.char_indices();
                    let end = loop {
                        let (i, c) = chars.next().expect("unterminated quoted field");
                        if c != '"' {
                            value.push(c);
                        } else if rest[i + 1..].starts_with('"') {
                            value.push('"');
                            chars.next();
                        } else {
                            break i + 1;
                        }
                    };
                    row.push(Field::Quoted(value));
                    text = &rest[end..];
                } else {
                    let end = text.find([',', '\r']).expect("unterminated row");
                    row.push(Field::Bare(text[..end].to_string()));
                    text = &text[end..];
                }
                if let Some(rest) = text.strip_prefix(',') {
                    text = rest;
                } else {
                    text = text.strip_prefix("\r\n").expect("row ends with CRLF");
                    break;
                }
            }
            rows.push(row);
        }
        rows
    }

    fn finite() -> impl Strategy<Value = f64> {
        any::<f64>().prop_filter("finite", |f| f.is_finite())
    }

    fn owned_cell() -> impl Strategy<Value = Owned> {
        prop_oneof![
            any::<String>().prop_map(Owned::Str),
            "[a\",\r\n ]{0,8}".prop_map(Owned::Str),
            any::<i64>().prop_map(Owned::Int),
            finite().prop_map(Owned::Float),
            Just(Owned::Empty),
        ]
    }

    proptest! {
        #[test]
        fn floats_read_back_exactly(f in finite()) {
            prop_assert_eq!(float(f).parse::<f64>().unwrap().to_bits(), f.to_bits());
        }

        #[test]
        fn floats_follow_python_layout(f in prop_oneof![
            finite(),
            (1u32..10_000_000, -30i32..30).prop_map(|(m, e)| f64::from(m) * 10f64.powi(e)),
        ]) {
            let text = float(f);
            let body = text.strip_prefix('-').unwrap_or(&text);
            prop_assert_eq!(text.starts_with('-'), f.is_sign_negative());
            let digits: String;
            if let Some((mantissa, exp)) = body.split_once('e') {
                let e: i32 = exp.parse().unwrap();
                prop_assert!(!(-4..16).contains(&e), "{}", text);
                prop_assert!(exp.starts_with(['+', '-']) && exp.len() >= 3, "{}", text);
                prop_assert!(mantissa.len() == 1 || mantissa.as_bytes()[1] == b'.', "{}", text);
                prop_assert!(mantissa.len() != 2 && !mantissa.starts_with('0'), "{}", text);
                digits = mantissa.replace('.', "");
            } else {
                let (int, frac) = body.split_once('.').unwrap();
                prop_assert!(!frac.is_empty() && !int.is_empty(), "{}", text);
                let e = if int != "0" {
                    prop_assert!(!int.starts_with('0'), "{}", text);
                    int.len() as i32 - 1
                } else if f == 0.0 {
                    0
                } else {
                    -(frac.bytes().take_while(|&b| b == b'0').count() as i32) - 1
                };
                prop_assert!((-4..16).contains(&e), "{}", text);
                digits = format!("{int}{frac}");
            }
            // Same significant digits as Rust's shortest round-trip form.
            let shortest = format!("{:e}", f.abs());
            let shortest = shortest.split('e').next().unwrap().replace('.', "");
            prop_assert_eq!(digits.trim_matches('0'), shortest.trim_matches('0'));
        }

        #[test]
        fn rows_read_back(table in prop::collection::vec(
            prop::collection::vec(owned_cell(), 0..6), 0..5,
        )) {
            let mut text = String::new();
            for row in &table {
                let cells: Vec<Cell> = row.iter().map(|c| match c {
                    Owned::Str(s) => Cell::Str(s),
                    Owned::Int(n) => Cell::Int(*n),
                    Owned::Float(f) => Cell::Float(*f),
                    Owned::Empty => Cell::Empty,
                }).collect();
                write_row(&mut text, &cells);
            }
            let parsed = parse_rows(&text);
            prop_assert_eq!(parsed.len(), table.len());
            for (row, fields) in table.iter().zip(&parsed) {
                prop_assert_eq!(row.len(), fields.len());
                for (cell, field) in row.iter().zip(fields) {
                    match (cell, field) {
                        (Owned::Str(s), Field::Quoted(v)) => prop_assert_eq!(s, v),
                        (Owned::Empty, Field::Quoted(v)) => prop_assert_eq!(v, ""),
                        (Owned::Int(n), Field::Bare(v)) => prop_assert_eq!(n.to_string(), v.clone()),
                        (Owned::Float(f), Field::Bare(v)) => {
                            prop_assert_eq!(v.parse::<f64>().unwrap().to_bits(), f.to_bits());
                        }
                        _ => prop_assert!(false, "{:?} written as {:?}", cell, field),
                    }
                }
            }
        }
    }
}
