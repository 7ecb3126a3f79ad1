//! Configuration (SPEC §3): an optional TOML file named by `AUTO_LOGOUT_CONFIG`, then the
//! environment, which wins. Every bad value stops start-up with a message naming the key,
//! the variable and the value.

pub use auto_logout::session_limit::OnMaxSessions;
use auto_logout::{
    server::Limits, session_limit::SessionLimit, throttle::ThrottlePolicy, TimeoutPolicy,
};
use ipnet::IpNet;
use std::{collections::BTreeMap, fmt, net::SocketAddr, path::PathBuf, time::Duration};

/// Which `Host` header values the server answers (SPEC §3 `allowed_hosts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedHosts {
    /// `*`: any host (behind a proxy that checks it).
    Any,
    /// Only these host names or IP literals (lower-case, IPv6 in brackets), on any port.
    Only(Vec<String>),
}

impl AllowedHosts {
    /// Whether a request whose `Host` header (or URI authority) is `host` may be served.
    pub fn allows(&self, host: &str) -> bool {
        match self {
            AllowedHosts::Any => true,
            AllowedHosts::Only(names) => {
                host_name_of(host).is_some_and(|name| names.contains(&name))
            }
        }
    }
}

/// The host part of a `Host` header value (`name`, `name:port`, `[v6]`, `[v6]:port`),
/// lower-cased; `None` when it is malformed.
pub fn host_name_of(host: &str) -> Option<String> {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        let end = rest.find(']')?;
        let after = &rest[end + 1..];
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        &host[..end + 2]
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if is_port(port) => name,
            Some(_) => return None,
            None => host,
        }
    };
    let valid = !name.is_empty()
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':'));
    valid.then(|| name.to_ascii_lowercase())
}

fn is_port(text: &str) -> bool {
    !text.is_empty() && text.len() <= 5 && text.bytes().all(|b| b.is_ascii_digit())
}

/// The server's settings, parsed and checked.
#[derive(Clone)]
pub struct Config {
    /// Sign out after this long without activity (zero: no idle limit).
    pub idle_time: Duration,
    /// Sign out this long after sign-in (zero: no absolute limit).
    pub session_time: Duration,
    /// Show the expiry warning this long before the first limit.
    pub warn_before: Duration,
    /// Shown on the sign-in page after an automatic sign-out.
    pub message: String,
    /// The browser leaves the page at zero without waiting for a click.
    pub redirect_to_login_immediately: bool,
    /// Idle limit for "Remember me" sessions.
    pub remember_idle_time: Duration,
    /// Absolute limit for "Remember me" sessions.
    pub remember_session_time: Duration,
    /// Input in the page counts as activity.
    pub client_activity: bool,
    /// A session presented by another user agent is suspended.
    pub bind_user_agent: bool,
    /// Set the cookie's `Secure` attribute.
    pub cookie_secure: bool,
    /// At most this many active sessions per user (0: no limit).
    pub max_sessions_per_user: u32,
    /// What happens at that limit.
    pub on_max_sessions: OnMaxSessions,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Host header values served; others get 400.
    pub allowed_hosts: AllowedHosts,
    /// Failed sign-ins for one username within `login_lockout` before it is throttled.
    pub login_max_failures: u32,
    /// Failed sign-ins from one client IP within `login_lockout` before it is throttled.
    pub login_max_failures_per_ip: u32,
    /// The window in which failed sign-ins count.
    pub login_lockout: Duration,
    /// Create the demo account on an empty user table.
    pub demo_account: bool,
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// Listen address.
    pub site_addr: SocketAddr,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("idle_time", &self.idle_time)
            .field("session_time", &self.session_time)
            .field("warn_before", &self.warn_before)
            .field("cookie_secure", &self.cookie_secure)
            .field(
                "database_url",
                &auto_logout::server::db::redact_url(&self.database_url),
            )
            .field("site_addr", &self.site_addr)
            .finish_non_exhaustive()
    }
}

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file named by `AUTO_LOGOUT_CONFIG` could not be read.
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("configuration file {path} is not valid TOML: {message}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// The file names a key we do not know (a typo would otherwise be ignored silently).
    #[error("unknown key `{key}` in configuration file {path}")]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
    },
    /// Two values contradict each other.
    #[error("{message}")]
    Contradiction {
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A value does not parse.
    #[error("invalid value for {key} ({source_name}): `{value}`: {expected}")]
    Invalid {
        /// The file key, e.g. `idle_time`.
        key: &'static str,
        /// Where it came from: the environment variable, or "configuration file".
        source_name: String,
        /// The value as given.
        value: String,
        /// What would have been accepted.
        expected: &'static str,
    },
}

/// One configuration key: its name in the file, its environment variable, and its default.
struct Key {
    file: &'static str,
    env: &'static str,
    default: &'static str,
}

const KEYS: &[Key] = &[
    Key {
        file: "idle_time",
        env: "AUTO_LOGOUT_IDLE_TIME",
        default: "10m",
    },
    Key {
        file: "session_time",
        env: "AUTO_LOGOUT_SESSION_TIME",
        default: "1h",
    },
    Key {
        file: "warn_before",
        env: "AUTO_LOGOUT_WARN_BEFORE",
        default: "60s",
    },
    Key {
        file: "message",
        env: "AUTO_LOGOUT_MESSAGE",
        default: "The session has expired. Please login again to continue.",
    },
    Key {
        file: "redirect_to_login_immediately",
        env: "AUTO_LOGOUT_REDIRECT_TO_LOGIN_IMMEDIATELY",
        default: "true",
    },
    Key {
        file: "remember_idle_time",
        env: "AUTO_LOGOUT_REMEMBER_IDLE_TIME",
        default: "7d",
    },
    Key {
        file: "remember_session_time",
        env: "AUTO_LOGOUT_REMEMBER_SESSION_TIME",
        default: "30d",
    },
    Key {
        file: "client_activity",
        env: "AUTO_LOGOUT_CLIENT_ACTIVITY",
        default: "true",
    },
    Key {
        file: "bind_user_agent",
        env: "AUTO_LOGOUT_BIND_USER_AGENT",
        default: "true",
    },
    Key {
        file: "cookie_secure",
        env: "AUTO_LOGOUT_COOKIE_SECURE",
        default: "false",
    },
    Key {
        file: "max_sessions_per_user",
        env: "AUTO_LOGOUT_MAX_SESSIONS",
        default: "0",
    },
    Key {
        file: "on_max_sessions",
        env: "AUTO_LOGOUT_ON_MAX_SESSIONS",
        default: "end_oldest",
    },
    Key {
        file: "trusted_proxies",
        env: "AUTO_LOGOUT_TRUSTED_PROXIES",
        default: "",
    },
    Key {
        file: "allowed_hosts",
        env: "AUTO_LOGOUT_ALLOWED_HOSTS",
        default: "localhost, 127.0.0.1, [::1]",
    },
    Key {
        file: "login_max_failures",
        env: "AUTO_LOGOUT_LOGIN_MAX_FAILURES",
        default: "5",
    },
    Key {
        file: "login_max_failures_per_ip",
        env: "AUTO_LOGOUT_LOGIN_MAX_FAILURES_PER_IP",
        default: "50",
    },
    Key {
        file: "login_lockout",
        env: "AUTO_LOGOUT_LOGIN_LOCKOUT",
        default: "15m",
    },
    Key {
        file: "demo_account",
        env: "AUTO_LOGOUT_DEMO_ACCOUNT",
        default: "false",
    },
    Key {
        file: "database_url",
        env: "DATABASE_URL",
        default: "sqlite://data/auto-logout.db?mode=rwc",
    },
    Key {
        file: "site_addr",
        env: "LEPTOS_SITE_ADDR",
        default: "127.0.0.1:3000",
    },
];

/// Raw values by file key, each with where it came from.
struct Raw(BTreeMap<&'static str, (String, String)>);

impl Raw {
    fn get(&self, key: &'static str) -> (&str, &str) {
        let (value, source) = &self.0[key];
        (value.as_str(), source.as_str())
    }

    fn invalid(&self, key: &'static str, expected: &'static str) -> ConfigError {
        let (value, source) = self.get(key);
        ConfigError::Invalid {
            key,
            source_name: source.to_owned(),
            value: value.to_owned(),
            expected,
        }
    }

    fn duration(&self, key: &'static str) -> Result<Duration, ConfigError> {
        parse_duration(self.get(key).0)
            .ok_or_else(|| self.invalid(key, "expected a duration such as 600, 600s, 10m or 1h30m"))
    }

    fn count(&self, key: &'static str, expected: &'static str) -> Result<u32, ConfigError> {
        self.get(key)
            .0
            .trim()
            .parse()
            .map_err(|_| self.invalid(key, expected))
    }

    fn boolean(&self, key: &'static str) -> Result<bool, ConfigError> {
        match self.get(key).0.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(self.invalid(key, "expected true or false")),
        }
    }
}

/// Parses `600` (seconds), `600s`, `10m`, `1h30m`, `7d`; empty means zero (limit disabled).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return Some(Duration::ZERO);
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok().map(Duration::from_secs);
    }
    humantime::parse_duration(text).ok()
}

/// `*` or a comma-separated list of host names; `None` when an entry is malformed.
fn parse_allowed_hosts(text: &str) -> Option<AllowedHosts> {
    let entries: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if entries.contains(&"*") {
        return Some(AllowedHosts::Any);
    }
    if entries.is_empty() {
        return None;
    }
    entries
        .into_iter()
        .map(|entry| {
            host_name_of(entry).filter(|name| !entry.contains(':') || name.starts_with('['))
        })
        .collect::<Option<Vec<_>>>()
        .map(AllowedHosts::Only)
}

fn toml_to_string(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Array(items) => items
            .iter()
            .map(toml_to_string)
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    }
}

impl Config {
    /// Reads the file named by `AUTO_LOGOUT_CONFIG` (if set) and the process environment.
    ///
    /// # Errors
    /// See [`ConfigError`]; every message names the key and the offending value.
    pub fn load() -> Result<Self, ConfigError> {
        let file = match std::env::var_os("AUTO_LOGOUT_CONFIG") {
            Some(path) if !path.is_empty() => {
                let path = PathBuf::from(path);
                let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                Some((path, text))
            }
            _ => None,
        };
        Self::from_sources(
            file.as_ref().map(|(p, t)| (p.as_path(), t.as_str())),
            |name| std::env::var(name).ok(),
        )
    }

    /// Builds the configuration from file text (with its path, for messages) and an
    /// environment lookup; the environment wins over the file, the file over the defaults.
    ///
    /// # Errors
    /// See [`ConfigError`].
    pub fn from_sources(
        file: Option<(&std::path::Path, &str)>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut raw = BTreeMap::new();
        for key in KEYS {
            raw.insert(key.file, (key.default.to_owned(), "default".to_owned()));
        }
        if let Some((path, text)) = file {
            let table: toml::Table =
                text.parse()
                    .map_err(|e: toml::de::Error| ConfigError::Toml {
                        path: path.to_owned(),
                        message: e.message().to_owned(),
                    })?;
            for (name, value) in table {
                let key = KEYS.iter().find(|k| k.file == name).ok_or_else(|| {
                    ConfigError::UnknownKey {
                        path: path.to_owned(),
                        key: name.clone(),
                    }
                })?;
                raw.insert(
                    key.file,
                    (
                        toml_to_string(&value),
                        format!("{} in {}", key.file, path.display()),
                    ),
                );
            }
        }
        for key in KEYS {
            if let Some(value) = env(key.env) {
                raw.insert(key.file, (value, key.env.to_owned()));
            }
        }
        let raw = Raw(raw);

        let on_max_sessions = match raw.get("on_max_sessions").0.trim() {
            "end_oldest" => OnMaxSessions::EndOldest,
            "deny_new" => OnMaxSessions::DenyNew,
            _ => return Err(raw.invalid("on_max_sessions", "expected end_oldest or deny_new")),
        };
        let trusted_proxies = raw
            .get("trusted_proxies")
            .0
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| {
                raw.invalid(
                    "trusted_proxies",
                    "expected comma-separated CIDRs such as 10.0.0.0/8,127.0.0.1",
                )
            })?;
        let database_url = raw.get("database_url").0.trim().to_owned();
        if !(database_url.starts_with("sqlite:") || database_url.starts_with("postgres")) {
            return Err(raw.invalid("database_url", "expected sqlite://PATH or postgres://…"));
        }
        let allowed_hosts = parse_allowed_hosts(raw.get("allowed_hosts").0).ok_or_else(|| {
            raw.invalid(
                "allowed_hosts",
                "expected `*` or comma-separated host names such as localhost, example.com, [::1]",
            )
        })?;
        let message = raw.get("message").0.trim().to_owned();
        if message.is_empty() || message.len() > 500 {
            return Err(raw.invalid("message", "expected between 1 and 500 characters"));
        }

        let idle_time = raw.duration("idle_time")?;
        let session_time = raw.duration("session_time")?;
        let warn_before = raw.duration("warn_before")?;
        for (key, limit) in [("idle_time", idle_time), ("session_time", session_time)] {
            if !limit.is_zero() && warn_before >= limit {
                return Err(ConfigError::Contradiction {
                    message: format!(
                        "warn_before ({}) must be shorter than {key} ({}): the warning would \
                         show before the session starts",
                        humantime::format_duration(warn_before),
                        humantime::format_duration(limit)
                    ),
                });
            }
        }
        Ok(Config {
            idle_time,
            session_time,
            warn_before,
            message,
            redirect_to_login_immediately: raw.boolean("redirect_to_login_immediately")?,
            remember_idle_time: raw.duration("remember_idle_time")?,
            remember_session_time: raw.duration("remember_session_time")?,
            client_activity: raw.boolean("client_activity")?,
            bind_user_agent: raw.boolean("bind_user_agent")?,
            cookie_secure: raw.boolean("cookie_secure")?,
            max_sessions_per_user: raw.get("max_sessions_per_user").0.trim().parse().map_err(
                |_| {
                    raw.invalid(
                        "max_sessions_per_user",
                        "expected a whole number, 0 for no limit",
                    )
                },
            )?,
            on_max_sessions,
            trusted_proxies,
            allowed_hosts,
            login_max_failures: raw.count(
                "login_max_failures",
                "expected a whole number, 0 for no limit",
            )?,
            login_max_failures_per_ip: raw.count(
                "login_max_failures_per_ip",
                "expected a whole number, 0 for no limit",
            )?,
            login_lockout: raw.duration("login_lockout")?,
            demo_account: raw.boolean("demo_account")?,
            database_url,
            site_addr: raw
                .get("site_addr")
                .0
                .trim()
                .parse()
                .map_err(|_| raw.invalid("site_addr", "expected IP:PORT such as 127.0.0.1:3000"))?,
        })
    }

    /// The sign-in throttle (SPEC §6).
    pub fn throttle(&self) -> ThrottlePolicy {
        ThrottlePolicy {
            max_per_user: self.login_max_failures,
            max_per_ip: self.login_max_failures_per_ip,
            window: self.login_lockout,
        }
    }

    /// The per-user session limit.
    pub fn session_limit(&self) -> SessionLimit {
        SessionLimit {
            max: self.max_sessions_per_user,
            on_max: self.on_max_sessions,
        }
    }

    /// How cookies are sent: `Secure` and the `__Host-` session cookie name with
    /// `cookie_secure`.
    pub fn cookies(&self) -> auto_logout::cookies::CookiePolicy {
        auto_logout::cookies::CookiePolicy {
            secure: self.cookie_secure,
        }
    }

    /// The limits of ordinary and "Remember me" sessions.
    pub fn limits(&self) -> Limits {
        Limits {
            normal: TimeoutPolicy::new(self.idle_time, self.session_time, self.warn_before),
            remember: TimeoutPolicy::new(
                self.remember_idle_time,
                self.remember_session_time,
                self.warn_before,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn defaults_follow_the_spec() {
        let c = Config::from_sources(None, env_of(&[])).unwrap();
        assert_eq!(c.idle_time, Duration::from_secs(600));
        assert_eq!(c.session_time, Duration::from_secs(3600));
        assert_eq!(c.warn_before, Duration::from_secs(60));
        assert_eq!(c.remember_idle_time, Duration::from_secs(7 * 86400));
        assert_eq!(c.remember_session_time, Duration::from_secs(30 * 86400));
        assert!(c.redirect_to_login_immediately && c.client_activity && c.bind_user_agent);
        assert!(!c.cookie_secure);
        assert_eq!(c.on_max_sessions, OnMaxSessions::EndOldest);
        assert_eq!(c.database_url, "sqlite://data/auto-logout.db?mode=rwc");
        assert_eq!(c.site_addr, "127.0.0.1:3000".parse().unwrap());
    }

    #[test]
    fn durations_take_every_documented_form() {
        for (text, secs) in [
            ("600", 600),
            ("600s", 600),
            ("10m", 600),
            ("1h30m", 5400),
            ("0", 0),
            ("", 0),
        ] {
            assert_eq!(
                parse_duration(text),
                Some(Duration::from_secs(secs)),
                "{text}"
            );
        }
        assert_eq!(parse_duration("ten minutes"), None);
    }

    #[test]
    fn environment_wins_over_the_file() {
        let file = "idle_time = \"5m\"\nsession_time = 120\n";
        let c = Config::from_sources(
            Some((std::path::Path::new("x.toml"), file)),
            env_of(&[
                ("AUTO_LOGOUT_IDLE_TIME", "2s"),
                ("AUTO_LOGOUT_WARN_BEFORE", "1s"),
            ]),
        )
        .unwrap();
        assert_eq!(c.idle_time, Duration::from_secs(2));
        assert_eq!(c.session_time, Duration::from_secs(120));
    }

    #[test]
    fn a_bad_value_names_its_key_variable_and_value() {
        let err = Config::from_sources(None, env_of(&[("AUTO_LOGOUT_IDLE_TIME", "soon")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("idle_time"), "{err}");
        assert!(err.contains("AUTO_LOGOUT_IDLE_TIME"), "{err}");
        assert!(err.contains("soon"), "{err}");
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let err = Config::from_sources(
            Some((std::path::Path::new("x.toml"), "idle_tme = 5")),
            env_of(&[]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("idle_tme"));
    }

    #[test]
    fn allowed_hosts_match_the_host_on_any_port() {
        let c = Config::from_sources(None, env_of(&[])).unwrap();
        for ok in [
            "localhost",
            "127.0.0.1:3000",
            "LOCALHOST:80",
            "[::1]:3000",
            "[::1]",
        ] {
            assert!(c.allowed_hosts.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "127.0.0.1.evil.example",
            "localhost:x",
            "",
            "[::1",
            "::1",
        ] {
            assert!(!c.allowed_hosts.allows(bad), "{bad}");
        }
        let any =
            Config::from_sources(None, env_of(&[("AUTO_LOGOUT_ALLOWED_HOSTS", "*")])).unwrap();
        assert!(any.allowed_hosts.allows("anything.example:8080"));
        let some = Config::from_sources(
            None,
            env_of(&[(
                "AUTO_LOGOUT_ALLOWED_HOSTS",
                "app.example.com, [2001:db8::1]",
            )]),
        )
        .unwrap();
        assert!(some.allowed_hosts.allows("app.example.com:443"));
        assert!(some.allowed_hosts.allows("[2001:db8::1]:80"));
        assert!(!some.allowed_hosts.allows("localhost"));
        let err = Config::from_sources(None, env_of(&[("AUTO_LOGOUT_ALLOWED_HOSTS", "a b")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("allowed_hosts") && err.contains("a b"),
            "{err}"
        );
    }

    #[test]
    fn throttle_and_demo_keys_have_the_spec_defaults() {
        let c = Config::from_sources(None, env_of(&[])).unwrap();
        assert_eq!(c.login_max_failures, 5);
        assert_eq!(c.login_max_failures_per_ip, 50);
        assert_eq!(c.login_lockout, Duration::from_secs(15 * 60));
        assert!(!c.demo_account);
        let err = Config::from_sources(None, env_of(&[("AUTO_LOGOUT_LOGIN_MAX_FAILURES", "-1")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("AUTO_LOGOUT_LOGIN_MAX_FAILURES") && err.contains("-1"),
            "{err}"
        );
    }

    #[test]
    fn a_warning_longer_than_a_limit_is_refused() {
        let err = Config::from_sources(
            None,
            env_of(&[
                ("AUTO_LOGOUT_IDLE_TIME", "30s"),
                ("AUTO_LOGOUT_WARN_BEFORE", "60s"),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("warn_before") && err.contains("idle_time"),
            "{err}"
        );
        assert!(Config::from_sources(
            None,
            env_of(&[
                ("AUTO_LOGOUT_IDLE_TIME", "0"),
                ("AUTO_LOGOUT_WARN_BEFORE", "60s")
            ]),
        )
        .is_ok());
    }

    #[test]
    fn trusted_proxies_parse_cidrs_and_addresses() {
        let c = Config::from_sources(
            None,
            env_of(&[("AUTO_LOGOUT_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1")]),
        )
        .unwrap();
        assert_eq!(c.trusted_proxies.len(), 2);
        assert!(
            Config::from_sources(None, env_of(&[("AUTO_LOGOUT_TRUSTED_PROXIES", "nope")])).is_err()
        );
    }
}
