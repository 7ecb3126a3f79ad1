//! Usernames: any text is checked, compared and cut without panicking; what is accepted is one
//! script, and two names that are the same name have one key.
#![no_main]

use auto_logout::username::{check_username, could_be_username, truncate_typed, username_key, MAX_USERNAME_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let key = username_key(text);
    // The key is a fixed point: comparing a key again finds the same name.
    assert_eq!(username_key(&key), key);
    assert_eq!(username_key(&text.to_uppercase()), username_key(&username_key(&text.to_uppercase())));
    let cut = truncate_typed(text);
    assert!(cut.chars().count() <= MAX_USERNAME_LEN);
    assert!(text.starts_with(cut));
    if check_username(text).is_ok() {
        assert!(could_be_username(text), "{text:?}");
        assert!(text.len() <= MAX_USERNAME_LEN);
        assert!(!key.is_empty());
    }
});
