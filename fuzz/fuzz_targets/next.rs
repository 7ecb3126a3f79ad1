//! `next` after sign-in: whatever comes in, what comes out is a same-site path.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(path) = auto_logout::safe_next(text) {
        assert!(path.starts_with('/'), "{path:?}");
        assert!(!path.starts_with("//") && !path.contains('\\'), "{path:?}");
        assert!(path.bytes().all(|b| b.is_ascii_graphic()), "{path:?}");
        // What is safe stays safe when checked again (the redirect is built from it).
        assert_eq!(auto_logout::safe_next(&path).as_deref(), Some(path.as_str()));
    }
    let url = auto_logout::redirect::sign_in_url(text, Some(auto_logout::SignInReason::Idle));
    assert!(url.starts_with("/sign-in"), "{url:?}");
});
