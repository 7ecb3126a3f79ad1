//! Configuration values: durations and allowed hosts never panic, and a parsed duration
//! agrees with itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use server::config::{host_name_of, parse_duration, Config};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_duration(text);
    if let Some(name) = host_name_of(text) {
        assert_eq!(name, name.to_ascii_lowercase());
    }
    let value = text.to_owned();
    for key in [
        "AUTO_LOGOUT_IDLE_TIME",
        "AUTO_LOGOUT_ALLOWED_HOSTS",
        "AUTO_LOGOUT_TRUSTED_PROXIES",
        "AUTO_LOGOUT_LOGIN_MAX_FAILURES",
    ] {
        let _ = Config::from_sources(None, |name| (name == key).then(|| value.clone()));
    }
});
