//! The one rule for strings that reach storage (both databases alike): PostgreSQL's `text` cannot
//! hold NUL, and a name with control characters is unreadable wherever it is shown. Every input
//! boundary (JSON bodies, query values, path ids, credentials, imported files, results) asks here.

/// Names and ids: no C0 control character (U+0000–U+001F) and no DEL.
pub const NAME_RULE: &str = "must not contain control characters";
/// Free text (status steps): no NUL; tabs and line breaks are fine.
pub const TEXT_RULE: &str = "must not contain NUL characters";

pub fn is_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}')
}

/// `Err(message)` when `value` may not be stored as a name or id.
pub fn check_name(value: &str) -> Result<(), &'static str> {
    if value.chars().any(is_control) {
        Err(NAME_RULE)
    } else {
        Ok(())
    }
}

/// `Err(message)` when `value` may not be stored as free text.
pub fn check_text(value: &str) -> Result<(), &'static str> {
    if value.contains('\0') {
        Err(TEXT_RULE)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_text() {
        assert!(check_name("Grapevine 1 (é, 🍇)").is_ok());
        for bad in ["a\0b", "\t", "line\n", "\u{1b}[31m", "del\u{7f}"] {
            assert_eq!(check_name(bad), Err(NAME_RULE), "{bad:?}");
        }
        assert!(check_text("step 1\tof 2\r\n").is_ok());
        assert_eq!(check_text("a\0"), Err(TEXT_RULE));
    }

    proptest::proptest! {
        #[test]
        fn a_name_that_passes_has_no_control_character(s in ".*") {
            proptest::prop_assert_eq!(check_name(&s).is_ok(), !s.chars().any(is_control));
            if check_name(&s).is_ok() {
                proptest::prop_assert!(check_text(&s).is_ok());
            }
        }
    }
}
