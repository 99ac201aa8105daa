//! Inputs found by the fuzz targets in `fuzz/` (run with `fuzz/run.sh SECONDS`), replayed in the
//! normal suite so the bugs they exposed stay fixed.

use std::collections::HashMap;

use vira::workflows::nuvs::format as nuvs;

/// finalize_nuvs: a contig with a duplicate `sequence` key passed `nuvs::check` (the last value
/// counts there) but made `contig_sequence` (U4) fail on the whole document, so no contig of the
/// analysis could be BLASTed although the formatted results showed them.
#[test]
fn nuvs_duplicate_contig_keys_keep_the_last_value() {
    let raw: &[u8] =
        br#"{"hits":[{"index":3,"sequence":"ACGT","orfs":[],"sequence":""},{"index":4,"sequence":"GG"}],"hits":[{"index":3,"sequence":"ACGT","index":5,"sequence":"TT"}]}"#;
    let prepared = nuvs::check(raw).unwrap().prepare(&HashMap::new()).unwrap();
    let formatted: serde_json::Value = serde_json::from_slice(&prepared.results_json).unwrap();
    assert_eq!(formatted["hits"][0]["index"], 5);
    assert_eq!(formatted["hits"][0]["sequence"], "TT");
    assert_eq!(nuvs::contig_sequence(raw, 5).as_deref(), Some("TT"));
    assert_eq!(nuvs::contig_sequence(raw, 3), None);
    assert_eq!(nuvs::contig_sequence(raw, 4), None);

    // The fuzzer's input, as found.
    let raw: &[u8] = br#"{"index":0,"hits":[{"index":3,"sequence":"ACGT","osfs":-2,"sequence":"","blast":{"stale":true}}]}"#;
    assert!(nuvs::check(raw).is_ok());
    assert_eq!(nuvs::contig_sequence(raw, 3).as_deref(), Some(""));
}
