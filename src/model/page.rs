//! Pagination (contract §1.4): the page asked for, and the body that answers it.

use serde::Serialize;

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: i64,
    pub per_page: i64,
}

impl PageRequest {
    pub fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(self.per_page)
    }

    /// `ceil(found / per_page)`, 0 when nothing was found.
    pub fn page_count(&self, found: i64) -> i64 {
        if found <= 0 {
            0
        } else {
            (found + self.per_page - 1) / self.per_page
        }
    }
}

/// A pagination body (contract §1.4).
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub documents: Vec<T>,
    pub found_count: i64,
    pub page: i64,
    pub page_count: i64,
    pub per_page: i64,
    pub total_count: i64,
}

impl<T> Page<T> {
    /// The page `request` of `found` readable items; `found_count = total_count = found`.
    pub fn new(documents: Vec<T>, found: i64, request: PageRequest) -> Page<T> {
        Page {
            documents,
            found_count: found,
            page: request.page,
            page_count: request.page_count(found),
            per_page: request.per_page,
            total_count: found,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_count() {
        let p = PageRequest {
            page: 1,
            per_page: 25,
        };
        assert_eq!(p.page_count(0), 0);
        assert_eq!(p.page_count(1), 1);
        assert_eq!(p.page_count(25), 1);
        assert_eq!(p.page_count(26), 2);
    }

    proptest::proptest! {
        #[test]
        fn pagination_arithmetic(page in 1i64..10_000, per_page in 1i64..=100, found in 0i64..1_000_000) {
            let p = PageRequest { page, per_page };
            let count = p.page_count(found);
            // ceil(found / per_page): the last page holds the remainder, and no page is empty
            // except when nothing was found.
            proptest::prop_assert!(count * per_page >= found);
            proptest::prop_assert!(found == 0 || (count - 1) * per_page < found);
            proptest::prop_assert_eq!(count == 0, found == 0);
            proptest::prop_assert_eq!(p.offset(), (page - 1) * per_page);
        }
    }
}
