//! What several pages share: the layout (who is signed in, the CSRF token, asset versions), the
//! rows of analysis lists, the analysis header, pagination links, and number formatting.

use crate::model::views::{AnalysisMinimal, JobSummary};
use crate::ops::sessions::SessionUser;

/// The frame of every page.
pub struct Layout {
    pub user: Option<String>,
    pub csrf: Option<String>,
    /// Appended to asset URLs, so browsers fetch a changed asset at once.
    pub assets: &'static str,
    pub version: &'static str,
}

impl Layout {
    pub fn anonymous() -> Layout {
        Layout {
            user: None,
            csrf: None,
            assets: super::assets::version(),
            version: env!("CARGO_PKG_VERSION"),
        }
    }

    pub fn signed_in(session: &SessionUser) -> Layout {
        Layout {
            user: Some(session.handle.clone()),
            csrf: Some(session.csrf_token.clone()),
            ..Layout::anonymous()
        }
    }

    pub fn csrf_value(&self) -> &str {
        self.csrf.as_deref().unwrap_or_default()
    }
}

/// `2026-12-03 07:40 UTC` from an RFC 3339 timestamp of the API.
/// An id as one path segment of a URL: every byte but the unreserved ones percent-encoded, so no
/// id (OTU ids come from imported reference files) can add a segment, a query or a fragment, or
/// climb with `..` out of the route it belongs to.
pub fn segment(id: &str) -> String {
    const RESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'~');
    let encoded = percent_encoding::utf8_percent_encode(id, RESERVED).to_string();
    // `.` stays encoded too (not unreserved here), but `%2E%2E` still reads as `..` to a
    // browser: a segment of dots alone names nothing of vira's and is kept from climbing.
    if encoded.split("%2E").all(str::is_empty) {
        return format!("{encoded}%00");
    }
    encoded
}

#[cfg(test)]
mod segment_tests {
    #[test]
    fn ids_stay_one_segment() {
        assert_eq!(super::segment("NC_001.1"), "NC_001%2E1");
        assert_eq!(
            super::segment("../../../api/samples/x#"),
            "%2E%2E%2F%2E%2E%2F%2E%2E%2Fapi%2Fsamples%2Fx%23"
        );
        assert_eq!(super::segment(".."), "%2E%2E%00");
        assert_eq!(super::segment("a b?c"), "a%20b%3Fc");
    }
}

pub fn display_time(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => rfc3339.to_owned(),
    }
}

/// The state badge of an analysis: its label and CSS class.
pub fn state_of(ready: bool, job: Option<&JobSummary>) -> (String, &'static str) {
    if ready {
        return ("Ready".into(), "ready");
    }
    match job {
        Some(job)
            if matches!(
                job.state.as_str(),
                "error" | "cancelled" | "terminated" | "timeout"
            ) =>
        {
            (format!("Job {}", job.state), "failed")
        }
        Some(job) => (format!("Running ({} %)", job.progress), "running"),
        None => ("Running".into(), "running"),
    }
}

/// One row of a list of analyses.
pub struct ListRow {
    pub id: String,
    pub sample_id: String,
    pub sample_name: String,
    pub workflow: &'static str,
    pub state: String,
    pub state_class: &'static str,
    pub reference: String,
    pub created: String,
    pub created_iso: String,
    pub user: String,
}

impl From<&AnalysisMinimal> for ListRow {
    fn from(a: &AnalysisMinimal) -> ListRow {
        let (state, state_class) = state_of(a.ready, a.job.as_ref());
        ListRow {
            id: a.id.clone(),
            sample_id: a.sample.id.clone(),
            sample_name: a.sample.name.clone(),
            workflow: a.workflow.label(),
            state,
            state_class,
            reference: format!("{} v{}", a.reference.name, a.index.version),
            created: display_time(&a.created_at),
            created_iso: a.created_at.clone(),
            user: a.user.handle.clone(),
        }
    }
}

/// The header of an analysis page.
pub struct Head {
    pub id: String,
    pub sample_id: String,
    pub sample_name: String,
    pub workflow: &'static str,
    pub state: String,
    pub state_class: &'static str,
    pub ready: bool,
    pub reference: String,
    pub index_version: i64,
    pub subtractions: String,
    pub created: String,
    pub created_iso: String,
    pub user: String,
    pub job: String,
}

impl From<&AnalysisMinimal> for Head {
    fn from(a: &AnalysisMinimal) -> Head {
        let (state, state_class) = state_of(a.ready, a.job.as_ref());
        let subtractions = match a.subtractions.is_empty() {
            true => "none".to_owned(),
            false => a
                .subtractions
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        };
        let job = match &a.job {
            Some(job) => {
                let stage = job.stage.as_deref().filter(|s| !s.is_empty());
                let stage = stage.map(|s| format!(", stage {s}")).unwrap_or_default();
                format!("{} ({} %{stage}) · {}", job.state, job.progress, job.id)
            }
            None => "no job record".to_owned(),
        };
        Head {
            id: a.id.clone(),
            sample_id: a.sample.id.clone(),
            sample_name: a.sample.name.clone(),
            workflow: a.workflow.label(),
            state,
            state_class,
            ready: a.ready,
            reference: a.reference.name.clone(),
            index_version: a.index.version,
            subtractions,
            created: display_time(&a.created_at),
            created_iso: a.created_at.clone(),
            user: a.user.handle.clone(),
            job,
        }
    }
}

/// A link of a page's pagination.
pub struct PageLink {
    pub number: i64,
    pub href: String,
    pub current: bool,
}

/// Links to the first and last page and to two pages each side of `page`; `href(n)` makes the
/// link of page `n`.
pub fn page_links(page: i64, page_count: i64, href: impl Fn(i64) -> String) -> Vec<PageLink> {
    let mut numbers: Vec<i64> = vec![1, page_count];
    numbers.extend((page - 2)..=(page + 2));
    numbers.retain(|n| (1..=page_count).contains(n));
    numbers.sort_unstable();
    numbers.dedup();
    numbers
        .into_iter()
        .map(|number| PageLink {
            number,
            href: href(number),
            current: number == page,
        })
        .collect()
}

/// `20,276`
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A weight (`pi`): three decimals, or scientific when smaller.
pub fn weight(w: f64) -> String {
    if w == 0.0 {
        "0".into()
    } else if w >= 0.001 {
        format!("{w:.3}")
    } else {
        format!("{w:.2e}")
    }
}

/// A depth: whole numbers plain, others with one decimal.
pub fn depth(d: f64) -> String {
    if d.fract() == 0.0 {
        format!("{d:.0}")
    } else {
        format!("{d:.1}")
    }
}

/// A fraction as a percentage: `0.898` → `89.8 %`.
pub fn percent(fraction: f64) -> String {
    format!("{:.1} %", fraction * 100.0)
}

/// A byte count: `4,462 B`, `2.0 MB`.
pub fn size(bytes: i64) -> String {
    match bytes {
        b if b < 10_000 => format!("{} B", thousands(b)),
        b if b < 10_000_000 => format!("{:.1} kB", b as f64 / 1e3),
        b if b < 10_000_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b => format!("{:.1} GB", b as f64 / 1e9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(20276), "20,276");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(-1_000_000), "-1,000,000");
        assert_eq!(weight(0.9817922033874211), "0.982");
        assert_eq!(weight(6.054707353153265e-05), "6.05e-5");
        assert_eq!(depth(10.0), "10");
        assert_eq!(depth(5.55), "5.5");
        assert_eq!(percent(0.898), "89.8 %");
        assert_eq!(size(4462), "4,462 B");
        assert_eq!(
            display_time("2017-10-03T21:35:54.813000Z"),
            "2017-10-03 21:35 UTC"
        );
    }

    #[test]
    fn pagination_shows_the_ends_and_the_neighbourhood() {
        let numbers = |page, count| -> Vec<i64> {
            page_links(page, count, |n| n.to_string())
                .iter()
                .map(|l| l.number)
                .collect()
        };
        assert_eq!(numbers(1, 1), vec![1]);
        assert_eq!(numbers(5, 20), vec![1, 3, 4, 5, 6, 7, 20]);
        assert_eq!(numbers(1, 0), Vec::<i64>::new());
        assert!(page_links(2, 3, |n| n.to_string())[1].current);
    }
}
