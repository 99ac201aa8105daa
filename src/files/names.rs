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

/// The longest file name (in bytes) that common file systems (ext4, XFS, btrfs, ZFS, APFS) and
/// object stores take as one path segment.
pub const MAX_NAME_BYTES: usize = 255;

/// Extensions longer than this are not kept when a name is shortened.
const MAX_EXTENSION_BYTES: usize = 16;

/// `name_on_disk` = `<file id>-<safe name>` (contract §13), shortened when needed so it is always
/// one valid file name: the stem is cut at a character boundary and the extension (`.tsv`,
/// `.fastq.gz`) is kept.
pub fn name_on_disk(file_id: i64, name: &str) -> String {
    let safe = safe_name(name);
    let prefix = format!("{file_id}-");
    let room = MAX_NAME_BYTES.saturating_sub(prefix.len());
    if safe.len() <= room {
        return prefix + &safe;
    }
    let extension_at = safe
        .char_indices()
        .filter(|&(i, c)| c == '.' && i > 0 && safe.len() - i <= MAX_EXTENSION_BYTES)
        .map(|(i, _)| i)
        .next()
        .unwrap_or(safe.len());
    let (stem, extension) = safe.split_at(extension_at);
    let mut cut = room.saturating_sub(extension.len()).min(stem.len());
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{prefix}{}{extension}", &stem[..cut])
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
    fn long_names_fit_one_file_name() {
        assert_eq!(name_on_disk(1, "results.fa"), "1-results.fa");
        let long = format!("{}.tsv", "a".repeat(251));
        let stored = name_on_disk(12, &long);
        assert_eq!(stored.len(), 255);
        assert!(stored.starts_with("12-aaa") && stored.ends_with("a.tsv"));
        let gz = format!("{}.fastq.gz", "é".repeat(250));
        let stored = name_on_disk(7, &gz);
        assert_eq!(stored.len(), 255);
        assert!(stored.ends_with("_.fastq.gz"));
        // No usable extension: the name is simply cut.
        assert_eq!(name_on_disk(3, &"b".repeat(300)).len(), 255);
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
        fn names_on_disk_always_fit(id in 1i64..i64::MAX, name in "\\PC{1,255}") {
            let stored = name_on_disk(id, &name);
            proptest::prop_assert!(stored.len() <= MAX_NAME_BYTES);
            let prefix = format!("{id}-");
            proptest::prop_assert!(stored.starts_with(&prefix));
            proptest::prop_assert!(stored.len() > prefix.len());
            proptest::prop_assert!(stored.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)));
        }

        #[test]
        fn dispositions_are_valid_header_values(name in ".{1,40}") {
            let value = content_disposition(&sanitize(&name));
            proptest::prop_assert!(axum::http::HeaderValue::from_str(&value).is_ok());
        }
    }
}
