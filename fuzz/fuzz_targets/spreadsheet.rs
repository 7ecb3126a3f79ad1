//! CSV export cells: whatever a visitor typed, no cell written starts like a formula, and
//! nothing but the leading `'` is added.
#![no_main]

use auto_logout::export::{spreadsheet_safe, starts_like_formula};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let safe = spreadsheet_safe(text);
    assert!(!starts_like_formula(&safe), "{safe:?}");
    assert!(safe == text || safe.strip_prefix('\'') == Some(text), "{safe:?}");
});
