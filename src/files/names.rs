//! File names: sanitizing (contract §13), storage-safe names, and download headers (U7).

/// The text after the last `/` or `\`, without control characters.
pub fn sanitize(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    base.chars()
        .filter(|c| !matches!(*c as u32, 0x00..=0x1f | 0x7f))
        .collect()
}

/// Every character outside `[A-Za-z0-9._-]` becomes `_`, then a leading `.` becomes `_`.
pub fn safe_name(name: &str) -> String {
    let mut safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.starts_with('.') {
        safe.replace_range(0..1, "_");
    }
    safe
}

pub const FORMATS: &[&str] = &["sam", "bam", "fasta", "fastq", "csv", "tsv", "json"];

/// `Content-Type` of a download (U7).
pub fn content_type(name: &str, format: Option<&str>) -> &'static str {
    if name.ends_with(".gz") {
        return "application/gzip";
    }
    match format {
        Some("fasta") => "text/x-fasta",
        Some("fastq") => "text/x-fastq",
        Some("sam") => "text/x-sam",
        Some("csv") => "text/csv",
        Some("tsv") => "text/tab-separated-values",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$&+-.^_`|~".contains(c)
}

/// `attachment; filename=<name>` with quoting and RFC 5987 encoding as U7 requires.
pub fn content_disposition(name: &str) -> String {
    if !name.is_empty() && name.chars().all(is_token_char) {
        return format!("attachment; filename={name}");
    }
    let mut quoted = String::with_capacity(name.len() + 2);
    for c in name.chars() {
        if c == '\\' || c == '"' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    let mut value = format!("attachment; filename=\"{quoted}\"");
    if !name.is_ascii() {
        value.push_str("; filename*=UTF-8''");
        for byte in name.bytes() {
            if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
                value.push(byte as char);
            } else {
                value.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_examples() {
        assert_eq!(sanitize("results.fa"), "results.fa");
        assert_eq!(sanitize("../../etc/passwd"), "passwd");
        assert_eq!(sanitize("C:\\runs\\hmm.tsv"), "hmm.tsv");
        assert_eq!(sanitize("a\u{0}b\u{7f}c\n"), "abc");
        assert_eq!(safe_name("my file (1).fa"), "my_file__1_.fa");
        assert_eq!(safe_name(".hidden"), "_hidden");
        assert_eq!(safe_name("café.tsv"), "caf_.tsv");
    }

    #[test]
    fn dispositions() {
        assert_eq!(
            content_disposition("report.tsv"),
            "attachment; filename=report.tsv"
        );
        assert_eq!(
            content_disposition("my \"file\".fa"),
            "attachment; filename=\"my \\\"file\\\".fa\""
        );
        assert_eq!(
            content_disposition("café.tsv"),
            "attachment; filename=\"café.tsv\"; filename*=UTF-8''caf%C3%A9.tsv"
        );
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("a.fa.gz", Some("fasta")), "application/gzip");
        assert_eq!(content_type("a.fa", Some("fasta")), "text/x-fasta");
        assert_eq!(content_type("a", None), "application/octet-stream");
        assert_eq!(
            content_type("a.bam", Some("bam")),
            "application/octet-stream"
        );
    }

    proptest::proptest! {
        #[test]
        fn sanitized_names_have_no_path_or_control_characters(name in "\\PC*|.*") {
            let clean = sanitize(&name);
            proptest::prop_assert!(!clean.contains('/') && !clean.contains('\\'));
            proptest::prop_assert!(!clean.chars().any(|c| (c as u32) < 0x20 || c as u32 == 0x7f));
            // Sanitizing is idempotent.
            proptest::prop_assert_eq!(sanitize(&clean), clean.clone());
            let safe = safe_name(&clean);
            proptest::prop_assert!(safe.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)));
            proptest::prop_assert!(!safe.starts_with('.'));
            proptest::prop_assert_eq!(safe.chars().count(), clean.chars().count());
        }

        #[test]
        fn dispositions_are_valid_header_values(name in ".{1,40}") {
            let value = content_disposition(&sanitize(&name));
            proptest::prop_assert!(axum::http::HeaderValue::from_str(&value).is_ok());
        }
    }
}
