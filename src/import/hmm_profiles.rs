//! Reader of HMMER3 profile files (workflows U36): profiles delimited by `HMMER3/…` and `//`, each
//! named `vFam_<cluster>` with clusters unique in the file.

use std::collections::HashSet;

/// The clusters of the profiles, in file order; `Err` holds the reason that follows
/// `Invalid profiles file: `.
pub fn profile_clusters(text: &[u8]) -> Result<Vec<i64>, String> {
    let mut clusters = Vec::new();
    let mut seen = HashSet::new();
    // The current profile: its number and the cluster of its NAME line, once seen.
    let mut open: Option<(usize, Option<i64>)> = None;
    for line in text.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match open {
            None => {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let n = clusters.len() + 1;
                if !line.starts_with(b"HMMER3/") {
                    return Err(format!("profile {n} does not start with HMMER3/"));
                }
                open = Some((n, None));
            }
            Some((n, name)) if line == b"//" => {
                let cluster = name.ok_or_else(|| format!("profile {n} has no NAME"))?;
                if !seen.insert(cluster) {
                    return Err(format!("duplicate cluster {cluster}"));
                }
                clusters.push(cluster);
                open = None;
            }
            Some((n, None)) if line.starts_with(b"NAME") => {
                let value = String::from_utf8_lossy(&line[4..]);
                let value = value.trim();
                let cluster = (value.strip_prefix("vFam_"))
                    .filter(|digits| {
                        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
                    })
                    .and_then(|digits| digits.parse::<i64>().ok())
                    .ok_or_else(|| format!("profile {n}: NAME {value} is not vFam_<number>"))?;
                open = Some((n, Some(cluster)));
            }
            Some(_) => {}
        }
    }
    if let Some((n, _)) = open {
        return Err(format!("profile {n} does not end with //"));
    }
    if clusters.is_empty() {
        return Err("no profiles".to_owned());
    }
    Ok(clusters)
}

/// `no annotation for clusters <c,…>` (ascending) unless every cluster is in `annotated`.
pub fn check_annotated(clusters: &[i64], annotated: &HashSet<i64>) -> Result<(), String> {
    let mut missing: Vec<i64> = (clusters.iter())
        .filter(|c| !annotated.contains(c))
        .copied()
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    missing.sort_unstable();
    let list: Vec<String> = missing.iter().map(i64::to_string).collect();
    Err(format!("no annotation for clusters {}", list.join(",")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = "HMMER3/f [3.1b1]\nNAME  vFam_10\nLENG 3\n//\n";

    #[test]
    fn reasons() {
        assert_eq!(profile_clusters(ONE.as_bytes()), Ok(vec![10]));
        let two = format!("{ONE}\n{}", ONE.replace("_10", "_2"));
        assert_eq!(profile_clusters(two.as_bytes()), Ok(vec![10, 2]));
        assert_eq!(profile_clusters(b"\n \n"), Err("no profiles".into()));
        assert_eq!(
            profile_clusters(format!("{ONE}HMMER2\n//\n").as_bytes()),
            Err("profile 2 does not start with HMMER3/".into())
        );
        assert_eq!(
            profile_clusters(b"HMMER3/f\nLENG 3\n//\n"),
            Err("profile 1 has no NAME".into())
        );
        assert_eq!(
            profile_clusters(b"HMMER3/f\nNAME  Pfam_1\n//\n"),
            Err("profile 1: NAME Pfam_1 is not vFam_<number>".into())
        );
        assert_eq!(
            profile_clusters(format!("{ONE}{ONE}").as_bytes()),
            Err("duplicate cluster 10".into())
        );
        let annotated: HashSet<i64> = [10].into();
        assert_eq!(check_annotated(&[10], &annotated), Ok(()));
        assert_eq!(
            check_annotated(&[30, 10, 4], &annotated),
            Err("no annotation for clusters 4,30".into())
        );
    }
}
