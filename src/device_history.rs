//! Which sign-ins come from a new device (SPEC §4 "Was this you?").
//!
//! A device is what the engine reads from a user agent: browser, operating system and device
//! type (`Firefox; Windows 10; desktop`), not the user agent itself, so that a browser's
//! update is not a new device and nothing that identifies one browser is kept. An account's
//! first device ever is not marked: there is nothing to compare it with, and every new account
//! would otherwise start with a warning.
//!
//! ```
//! use auto_logout::device_history::{is_new_device, DeviceHistory};
//! assert!(!is_new_device(DeviceHistory { account_had_devices: false, seen_before: false }));
//! assert!(is_new_device(DeviceHistory { account_had_devices: true, seen_before: false }));
//! assert!(!is_new_device(DeviceHistory { account_had_devices: true, seen_before: true }));
//! ```

/// What an account's past says about the device of a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceHistory {
    /// The account had signed in from some device before.
    pub account_had_devices: bool,
    /// It had signed in from this one.
    pub seen_before: bool,
}

/// Whether a sign-in with this history is marked new (see the module documentation).
pub fn is_new_device(history: DeviceHistory) -> bool {
    history.account_had_devices && !history.seen_before
}
