//! [`CountdownOptions`]: where the countdown reads and sends, and how it behaves.

use serde::{Deserialize, Serialize};

/// Where the countdown reads and reports, where it sends the person, and how it behaves.
/// The defaults are the engine's paths and SPEC's behaviour; set what differs in your
/// application.
///
/// # Examples
/// ```
/// use auto_logout_leptos::CountdownOptions;
/// let options = CountdownOptions::default().sign_in_path("/login").sign_out_path("/bye");
/// assert_eq!(options.sign_in_path, "/login");
/// assert_eq!(options.status_path, "/api/v1/session");
/// ```
///
/// Serialised (the countdown island's props on every page), it writes only what differs
/// from the defaults, and a missing field reads as its default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CountdownOptions {
    /// The sign-in page, visited at zero with `next` and `reason` (a local path; anything
    /// else is replaced by `/sign-in`). Default `/sign-in`.
    #[serde(skip_serializing_if = "is_default_sign_in")]
    pub sign_in_path: String,
    /// Where the sign-out form posts. Default `/logout`.
    #[serde(skip_serializing_if = "is_default_sign_out")]
    pub sign_out_path: String,
    /// The engine's passive status read. Default `/api/v1/session`.
    #[serde(skip_serializing_if = "is_default_status")]
    pub status_path: String,
    /// The engine's "stay signed in". Default `/api/v1/session/extend`.
    #[serde(skip_serializing_if = "is_default_extend")]
    pub extend_path: String,
    /// The warning's lead in milliseconds; `None` (the default) takes the engine's
    /// `warn_before`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warn_before_ms: Option<i64>,
    /// Typing, pointing and scrolling in the page count as activity (reported at most once
    /// a minute, and at once near the warning). Default on.
    #[serde(skip_serializing_if = "is_on")]
    pub track_activity: bool,
    /// At zero, go to the sign-in page at once. When off, a dialog says the session ended
    /// and links to the sign-in page. Default on.
    #[serde(skip_serializing_if = "is_on")]
    pub redirect_immediately: bool,
}

fn is_default_sign_in(path: &str) -> bool {
    path == auto_logout::forms::SIGN_IN
}

fn is_default_sign_out(path: &str) -> bool {
    path == auto_logout::forms::SIGN_OUT
}

fn is_default_status(path: &str) -> bool {
    path == auto_logout::forms::SESSION_STATUS
}

fn is_default_extend(path: &str) -> bool {
    path == auto_logout::forms::SESSION_EXTEND
}

fn is_on(flag: &bool) -> bool {
    *flag
}

impl Default for CountdownOptions {
    fn default() -> Self {
        Self {
            sign_in_path: auto_logout::forms::SIGN_IN.to_owned(),
            sign_out_path: auto_logout::forms::SIGN_OUT.to_owned(),
            status_path: auto_logout::forms::SESSION_STATUS.to_owned(),
            extend_path: auto_logout::forms::SESSION_EXTEND.to_owned(),
            warn_before_ms: None,
            track_activity: true,
            redirect_immediately: true,
        }
    }
}

impl CountdownOptions {
    /// The sign-in page.
    #[must_use]
    pub fn sign_in_path(mut self, path: impl Into<String>) -> Self {
        self.sign_in_path = path.into();
        self
    }

    /// Where the sign-out form posts.
    #[must_use]
    pub fn sign_out_path(mut self, path: impl Into<String>) -> Self {
        self.sign_out_path = path.into();
        self
    }

    /// The engine's status path, when mounted elsewhere (`EngineBuilder::status_path`);
    /// "stay signed in" is `{path}/extend`.
    #[must_use]
    pub fn status_path(mut self, path: impl Into<String>) -> Self {
        self.status_path = path.into();
        self.extend_path = format!("{}/extend", self.status_path);
        self
    }

    /// The warning's lead.
    #[must_use]
    pub fn warn_before(mut self, lead: std::time::Duration) -> Self {
        self.warn_before_ms = Some(i64::try_from(lead.as_millis()).unwrap_or(i64::MAX));
        self
    }

    /// Whether input in the page counts as activity.
    #[must_use]
    pub fn track_activity(mut self, on: bool) -> Self {
        self.track_activity = on;
        self
    }

    /// Whether zero leads to the sign-in page at once.
    #[must_use]
    pub fn redirect_immediately(mut self, on: bool) -> Self {
        self.redirect_immediately = on;
        self
    }

    /// The options of the framework-free countdown that runs in the browser. The
    /// component leaves by itself (after keeping drafts), so the countdown does not.
    #[cfg(feature = "hydrate")]
    pub(crate) fn browser(&self) -> auto_logout_countdown::browser::Options {
        auto_logout_countdown::browser::Options {
            status_path: self.status_path.clone(),
            extend_path: self.extend_path.clone(),
            sign_in_path: self.sign_in_path.clone(),
            warn_before_ms: self.warn_before_ms,
            report_input: self.track_activity,
            redirect: false,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_left_out_of_the_props_and_read_back() {
        let defaults = CountdownOptions::default();
        assert_eq!(serde_json::to_string(&defaults).unwrap(), "{}");
        assert_eq!(
            serde_json::from_str::<CountdownOptions>("{}").unwrap(),
            defaults
        );
    }

    #[test]
    fn what_differs_is_written_and_read_back() {
        let options = CountdownOptions::default()
            .sign_in_path("/login")
            .status_path("/auth/session")
            .warn_before(std::time::Duration::from_secs(30))
            .track_activity(false)
            .redirect_immediately(false);
        let json = serde_json::to_string(&options).unwrap();
        assert!(!json.contains("sign_out_path"), "{json}");
        assert_eq!(
            serde_json::from_str::<CountdownOptions>(&json).unwrap(),
            options
        );
    }
}
