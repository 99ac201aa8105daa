//! Query strings: raw key/value pairs and the pagination query of contract §1.4.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::{ApiError, ApiResult};
use crate::model::field_errors::FieldErrors;
use crate::model::page::PageRequest;

/// The decoded query pairs, in order. Never rejects.
#[derive(Debug, Clone, Default)]
pub struct QueryPairs(pub Vec<(String, String)>);

impl QueryPairs {
    pub fn parse(query: Option<&str>) -> Self {
        QueryPairs(
            form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(QueryPairs::parse(parts.uri.query()))
    }
}

/// `page` (≥ 1, default 1) and `per_page` (1..=max, default 25); 422 `invalid_query` otherwise.
pub fn page_request(query: &QueryPairs, max_per_page: u32) -> ApiResult<PageRequest> {
    let mut errors = FieldErrors::new();
    let page = int_param(query, "page", 1, None, &mut errors);
    let per_page = int_param(
        query,
        "per_page",
        25,
        Some(max_per_page as i64),
        &mut errors,
    );
    errors.into_result().map_err(ApiError::invalid_query)?;
    Ok(PageRequest { page, per_page })
}

fn int_param(
    query: &QueryPairs,
    key: &str,
    default: i64,
    max: Option<i64>,
    errors: &mut FieldErrors,
) -> i64 {
    let Some(raw) = query.get(key) else {
        return default;
    };
    let Ok(value) = raw.trim().parse::<i64>() else {
        errors.add(key, "must be of integer type");
        return default;
    };
    if value < 1 {
        errors.add(key, "min value is 1");
    } else if let Some(max) = max.filter(|max| value > *max) {
        errors.add(key, format!("max value is {max}"));
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(q: &str) -> ApiResult<PageRequest> {
        page_request(&QueryPairs::parse(Some(q)), 100)
    }

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(
            req("").unwrap(),
            PageRequest {
                page: 1,
                per_page: 25
            }
        );
        assert_eq!(req("page=3&per_page=100&x=y").unwrap().offset(), 200);
        for bad in [
            "page=0",
            "per_page=0",
            "per_page=101",
            "page=a",
            "per_page=1.5",
        ] {
            assert_eq!(req(bad).unwrap_err().status.as_u16(), 422, "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_query_string_is_accepted_or_a_422(query in ".{0,60}") {
            match page_request(&QueryPairs::parse(Some(&query)), 100) {
                Ok(p) => proptest::prop_assert!(p.page >= 1 && (1..=100).contains(&p.per_page)),
                Err(e) => proptest::prop_assert_eq!(e.status.as_u16(), 422),
            }
        }
    }
}
