//! What kind of device a session is on, read from its user agent (woothee's parser).

use crate::dto::DeviceSession;
use crate::server::sessions::SessionRow;

/// Browser, operating system and device type of a user agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// e.g. `Chrome`, `Firefox`, `Safari`, `curl`.
    pub browser: String,
    /// e.g. `Linux`, `Windows 10`, `iPhone`.
    pub os: String,
    /// `desktop`, `mobile`, `tablet`, `bot` or `other`.
    pub device: String,
}

/// How a user agent reads once `ip_retention` has kept only its parsed device:
/// `device only: Chrome; Linux; desktop`.
pub const DEVICE_ONLY_PREFIX: &str = "device only: ";

/// What is kept of `user_agent` after `ip_retention`: its browser, operating system and
/// device type in a form [`describe`] reads back (a value already in that form is kept as it
/// is; no user agent stays none).
pub fn device_only(user_agent: Option<&str>) -> Option<String> {
    let ua = user_agent?;
    if ua.starts_with(DEVICE_ONLY_PREFIX) {
        return Some(ua.to_owned());
    }
    let info = describe(Some(ua));
    Some(format!(
        "{DEVICE_ONLY_PREFIX}{}; {}; {}",
        info.browser, info.os, info.device
    ))
}

/// The device of `user_agent` as an account's device history keeps it
/// ([`crate::device_history`]): `Chrome; Linux; desktop`.
pub fn device_key(user_agent: Option<&str>) -> String {
    let info = describe(user_agent);
    format!("{}; {}; {}", info.browser, info.os, info.device)
}

/// How many user agents [`describe`] remembers (each at most `MAX_USER_AGENT` characters:
/// about 1.3 MB in all).
pub const DESCRIBED_USER_AGENTS: u64 = 2048;

/// User agents read lately, with what they read as: a device list describes the same few user
/// agents on every request, and the parser tries dozens of patterns each time.
static DESCRIBED: std::sync::LazyLock<moka::sync::Cache<String, DeviceInfo>> =
    std::sync::LazyLock::new(|| {
        moka::sync::Cache::builder()
            .max_capacity(DESCRIBED_USER_AGENTS)
            .build()
    });

/// Parses `user_agent`; unknown or missing parts read `Unknown`. A user agent trimmed by
/// [`device_only`] reads as the device it kept.
pub fn describe(user_agent: Option<&str>) -> DeviceInfo {
    let Some(ua) = user_agent else {
        return parse(None);
    };
    if let Some(known) = DESCRIBED.get(ua) {
        return known;
    }
    let info = parse(Some(ua));
    DESCRIBED.insert(ua.to_owned(), info.clone());
    info
}

/// What [`describe`] answers, read from `user_agent` itself.
fn parse(user_agent: Option<&str>) -> DeviceInfo {
    let unknown = || DeviceInfo {
        browser: "Unknown".into(),
        os: "Unknown".into(),
        device: "other".into(),
    };
    let Some(ua) = user_agent.filter(|ua| !ua.trim().is_empty()) else {
        return unknown();
    };
    if let Some(kept) = ua.strip_prefix(DEVICE_ONLY_PREFIX) {
        let mut parts = kept.splitn(3, "; ");
        return match (parts.next(), parts.next(), parts.next()) {
            (Some(browser), Some(os), Some(device)) => DeviceInfo {
                browser: browser.to_owned(),
                os: os.to_owned(),
                device: device.to_owned(),
            },
            _ => unknown(),
        };
    }
    // Command-line clients are named by their product token, which woothee does not know.
    if let Some(tool) = ["curl", "Wget", "HTTPie", "python-requests"]
        .into_iter()
        .find(|tool| ua.starts_with(&format!("{tool}/")))
    {
        return DeviceInfo {
            browser: tool.to_owned(),
            os: "Unknown".into(),
            device: "other".into(),
        };
    }
    let Some(parsed) = woothee::parser::Parser::new().parse(ua) else {
        return unknown();
    };
    let known = |s: &str| {
        if s.is_empty() || s == "UNKNOWN" {
            "Unknown".to_owned()
        } else {
            s.to_owned()
        }
    };
    let device = match parsed.category {
        "pc" => "desktop",
        "smartphone" | "mobilephone" => {
            if parsed.os.contains("iPad") {
                "tablet"
            } else {
                "mobile"
            }
        }
        "crawler" => "bot",
        _ => "other",
    };
    DeviceInfo {
        browser: known(parsed.name),
        os: known(parsed.os),
        device: device.to_owned(),
    }
}

/// The owner's view of a session row; `current` marks the requesting session.
pub fn device_session(row: &SessionRow, current_hash: Option<&str>) -> DeviceSession {
    let info = describe(row.user_agent.as_deref());
    DeviceSession {
        id: row.id_hash.clone(),
        current: current_hash == Some(row.id_hash.as_str()),
        kind: row.kind,
        created_at: row.created_at,
        last_seen_at: row.last_seen_at,
        last_ip: row.last_ip.clone(),
        user_agent: row.user_agent.clone(),
        browser: info.browser,
        os: info.os,
        device: info.device,
        new_device: row.new_device,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_user_agent_reads_as_it_did_when_parsed() {
        for ua in [
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            "curl/8.5.0",
            "device only: Chrome; Linux; desktop",
            "",
            "  ",
            "wrk",
        ] {
            let first = describe(Some(ua));
            assert_eq!(first, parse(Some(ua)), "{ua:?}");
            assert_eq!(describe(Some(ua)), first, "{ua:?} again");
        }
        assert_eq!(describe(None), parse(None));
    }

    #[test]
    fn real_user_agents() {
        let chrome = describe(Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"));
        assert_eq!(
            (chrome.browser.as_str(), chrome.device.as_str()),
            ("Chrome", "desktop")
        );
        assert!(chrome.os.starts_with("Windows"), "{chrome:?}");
        let firefox = describe(Some(
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        ));
        assert_eq!(
            (firefox.browser.as_str(), firefox.os.as_str()),
            ("Firefox", "Linux")
        );
        let iphone = describe(Some("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"));
        assert_eq!(
            (
                iphone.browser.as_str(),
                iphone.os.as_str(),
                iphone.device.as_str()
            ),
            ("Safari", "iPhone", "mobile")
        );
        let curl = describe(Some("curl/8.5.0"));
        assert_eq!(
            (curl.browser.as_str(), curl.device.as_str()),
            ("curl", "other")
        );
        assert_eq!(describe(None).browser, "Unknown");
        assert_eq!(describe(Some(&"x".repeat(8192))).device, "other");
    }
}
