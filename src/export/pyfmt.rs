//! CSV text byte-identical to Python's `csv.writer(quoting=csv.QUOTE_NONNUMERIC)`, floats as
//! `repr(float)` (contract §10.1).

use std::fmt::Write as _;

/// Writes `f` as Python's `repr(f)`: the shortest digits that read back to the same double,
/// positional when the leading digit's decimal exponent `e` satisfies `−4 ≤ e < 16`, else
/// scientific with a signed exponent of at least two digits (`1e-05`, `1.5e+300`).
pub fn write_float(out: &mut String, f: f64) {
    if f.is_nan() {
        return out.push_str("nan");
    }
    if f.is_sign_negative() {
        out.push('-');
    }
    if f.is_infinite() {
        return out.push_str("inf");
    }
    let (digits, count, exp) = shortest(f.abs());
    let digits = std::str::from_utf8(&digits[..count]).expect("ASCII digits");
    if !(-4..16).contains(&exp) {
        out.push_str(&digits[..1]);
        if count > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push_str(if exp < 0 { "e-" } else { "e+" });
        write!(out, "{:02}", exp.unsigned_abs()).expect("writing to a String cannot fail");
    } else if exp < 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
        out.push_str(digits);
    } else {
        // The leading digit and `exp` more before the point, padded with zeros.
        let split = (exp as usize + 1).min(count);
        out.push_str(&digits[..split]);
        out.extend(std::iter::repeat_n('0', exp as usize + 1 - split));
        out.push('.');
        out.push_str(if split < count { &digits[split..] } else { "0" });
    }
}

/// The shortest round-trip significant digits of a finite `f ≥ 0` as ASCII, their count, and
/// the decimal exponent of the first. Taken from Rust's `{:e}` (`9.8e-1`, `1e16`, `0e0`),
/// written to the stack so that no allocation is made; the longest is 23 bytes.
fn shortest(f: f64) -> ([u8; 17], usize, i32) {
    let mut sci = [0u8; 32];
    let mut rest = &mut sci[..];
    std::io::Write::write_fmt(&mut rest, format_args!("{f:e}")).expect("32 bytes suffice");
    let len = 32 - rest.len();
    let sci = std::str::from_utf8(&sci[..len]).expect("`{:e}` output is ASCII");
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` output has an exponent");
    let exp: i32 = exp.parse().expect("`{:e}` exponent is an integer");
    let (mut digits, mut count, mut value) = ([0u8; 17], 0, 0u64);
    for b in mantissa.bytes().filter(u8::is_ascii_digit) {
        digits[count] = b;
        count += 1;
        value = value * 10 + u64::from(b - b'0');
    }
    let mut even = round_half_even(f, value, exp - count as i32 + 1);
    for d in digits[..count].iter_mut().rev() {
        *d = b'0' + (even % 10) as u8;
        even /= 10;
    }
    (digits, count, exp)
}

/// Rust and Python agree on the number of shortest digits, but when `f` lies exactly halfway
/// between two candidates Rust takes the upper and Python the even one (`1014220594116628.25`
/// → `…628.3` against `…628.2`). `digits · 10^pow` is Rust's choice; this returns Python's,
/// with as many digits.
fn round_half_even(f: f64, digits: u64, pow: i32) -> u64 {
    if digits.is_multiple_of(2) {
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

/// Writes `s` enclosed in `"`, with each inner `"` doubled.
fn write_quoted(out: &mut String, s: &str) {
    out.push('"');
    for (j, part) in s.split('"').enumerate() {
        if j > 0 {
            out.push_str("\"\"");
        }
        out.push_str(part);
    }
    out.push('"');
}

/// Writes `s` as one field of Python's `csv.writer` in its default `QUOTE_MINIMAL` mode with
/// `delimiter`: quoted only when it holds the delimiter, `"`, `\r` or `\n`. (Python also quotes
/// an empty field that is alone on its row; callers with such rows must do that themselves.)
pub fn write_minimal_field(out: &mut String, s: &str, delimiter: char) {
    if s.contains([delimiter, '"', '\r', '\n']) {
        write_quoted(out, s);
    } else {
        out.push_str(s);
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
            Cell::Str(s) => write_quoted(out, s),
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

    /// Outputs of CPython's `repr`. Each reads back as the double it was written for.
    const REPRS: &str = concat!(
        "3.0 0.91 0.0001 0.00012345 1e-05 1.2345e-05 8.8e-22 5.926654755596898e-09 1e+16 1e+22 ",
        "1.5e+300 6.054707353153265e-05 5.6039729675898496e-05 8.64543396608676e-07 11.0 2.5 ",
        "0.9817922033874211 100.0 123456789012345.0 1234567890123456.0 1.2345678901234568e+16 ",
        "9999999999999998.0 0.0 -0.0 -1.5 -2.5e-07 5e-324 2.2250738585072014e-308 ",
        "1.7976931348623157e+308 0.30000000000000004 nan inf -inf ",
        // Exactly halfway between two shortest candidates, where Rust's `{:e}` ends in 3.
        "1014220594116628.2 -1006567402717677.2 233115890514796.12 -80268389491067.12",
    );

    #[test]
    fn floats_as_python_repr() {
        for text in REPRS.split(' ') {
            assert_eq!(float(text.parse().unwrap()), text);
        }
        assert_eq!(float(1e16), "1e+16");
        assert_eq!(float(1014220594116628.0 + 0.25), "1014220594116628.2");
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

    /// The example rows of contract §10.2 and §10.3.
    const EXAMPLES: &str = r#""OTU","Isolate","Sequence","Length","Weight","Median Depth","Coverage"
"Grapevine leafroll-associated virus 1","Isolate 1050","NC_016509",18659,0.9817922033874211,10,0.999
"Grapevine rupestris stem pitting-associated virus","Unknown unknown","NC_001948",8744,0.016829359686626827,11.0,0.996
"Grapevine leafroll-associated virus 3","Strain NY1","NC_004667",17919,6.054707353153265e-05,0,0.034
"Grapevine fleck virus","Isolate MT48","NC_003347",7564,5.6039729675898496e-05,6.0,0.844
"Grapevine fanleaf virus","Strain F13","NC_003623",3774,8.64543396608676e-07,26.0,0.898
"Grapevine fanleaf virus","Strain F13","NC_003615",7342,2.5868710213805918e-05,22.0,0.894
"Hop stunt viroid","Unnamed Isolate","JQ080272",305,5.801601112325778e-08,3,0.777
"Index","Length","E-value","Families","ORF Count","BLAST Top Hit","BLAST Accession"
0,19226,0.69,"Herpesviridae",19,"",""
1,14199,8.8e-22,"Ascoviridae; Iridoviridae; Marseillevirus family; Mimiviridae",8,"Actinidia virus A","JN427014"
2,13808,"","",9,"",""
3,13525,"","",11,"",""
4,10841,0.0099,"Marseillevirus family",11,"","""#;

    /// Each example row is rebuilt from cells typed as the exporters type them (quoted text a
    /// string or empty, other fields a JSON integer or float) and must come out byte for byte,
    /// both with the numbers as `Int`/`Float` and as JSON `Number`s.
    #[test]
    fn contract_example_rows() {
        for line in EXAMPLES.lines() {
            // No example string holds a comma. Numbers are read with std, not serde_json, whose
            // parser is off by one ulp on three of these without its `float_roundtrip` feature.
            let fields: Vec<&str> = line.split(',').collect();
            let numbers: Vec<serde_json::Number> = fields
                .iter()
                .filter(|f| !f.starts_with('"'))
                .map(|f| match f.parse::<i64>() {
                    Ok(i) => i.into(),
                    Err(_) => serde_json::Number::from_f64(f.parse().unwrap()).unwrap(),
                })
                .collect();
            for as_json in [false, true] {
                let mut numbers = numbers.iter();
                let cells: Vec<Cell> = fields
                    .iter()
                    .map(|f| match f.strip_prefix('"') {
                        Some("\"") => Cell::Empty,
                        Some(s) => Cell::Str(s.strip_suffix('"').unwrap()),
                        None => {
                            let n = numbers.next().unwrap();
                            match n.as_i64() {
                                _ if as_json => Cell::Number(n),
                                Some(i) => Cell::Int(i),
                                None => Cell::Float(n.as_f64().unwrap()),
                            }
                        }
                    })
                    .collect();
                let mut out = String::new();
                write_row(&mut out, &cells);
                assert_eq!(out, format!("{line}\r\n"));
            }
        }
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

    #[test]
    fn minimal_fields_are_quoted_only_when_needed() {
        let mut out = String::new();
        for s in ["NC_1", "a b,c", "a\tb", "say \"x\"", "a\r\nb", ""] {
            write_minimal_field(&mut out, s, '\t');
            out.push('|');
        }
        assert_eq!(out, "NC_1|a b,c|\"a\tb\"|\"say \"\"x\"\"\"|\"a\r\nb\"||");
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
    fn parse_rows(text: &str) -> Vec<Vec<Field>> {
        let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
        let (mut quoted, mut in_quotes) = (false, false);
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '"' if in_quotes && chars.next_if_eq(&'"').is_some() => field.push('"'),
                '"' if in_quotes => in_quotes = false,
                _ if in_quotes => field.push(c),
                '"' => (quoted, in_quotes) = (true, true),
                ',' | '\r' => {
                    // A bare empty field is never written, so `\r\n` alone is an empty row.
                    if quoted || !field.is_empty() || c == ',' || !row.is_empty() {
                        let value = std::mem::take(&mut field);
                        row.push(if quoted {
                            Field::Quoted(value)
                        } else {
                            Field::Bare(value)
                        });
                    }
                    quoted = false;
                    if c == '\r' {
                        assert_eq!(chars.next(), Some('\n'));
                        rows.push(std::mem::take(&mut row));
                    }
                }
                _ => field.push(c),
            }
        }
        assert!(
            field.is_empty() && row.is_empty() && !in_quotes,
            "unterminated row"
        );
        rows
    }

    /// Any finite double, or a short binary fraction, where halfway ties happen.
    fn finite() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>().prop_filter("finite", |f| f.is_finite()),
            (any::<i64>(), 0..12).prop_map(|(m, j)| m as f64 / f64::from(1 << j)),
        ]
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
            (1u32..10_000_000, -30..30).prop_map(|(m, e)| f64::from(m) * 10f64.powi(e)),
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
            // As many significant digits as Rust's shortest round trip (ties may differ).
            let shortest = format!("{:e}", f.abs());
            let shortest = shortest.split('e').next().unwrap().replace('.', "");
            let significant = |d: &str| d.trim_matches('0').len();
            prop_assert_eq!(significant(&digits), significant(&shortest), "{}", text);
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
