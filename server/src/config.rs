//! Configuration (SPEC §3): an optional TOML file named by `AUTO_LOGOUT_CONFIG`, then the
//! environment, which wins. Every bad value stops start-up with a message naming the key,
//! the variable and the value.

pub use auto_logout::session_limit::OnMaxSessions;
use auto_logout::{
    policy::default_warn_before,
    server::{telemetry::MetricsToken, Limits, SecretKey},
    session_limit::SessionLimit,
    throttle::ThrottlePolicy,
    TimeoutPolicy,
};
use figment::{
    providers::{Format, Serialized, Toml},
    Figment,
};
use ipnet::IpNet;
use serde::Deserialize;
use std::{fmt, net::SocketAddr, path::PathBuf, time::Duration};

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
            // The names are kept lower-cased; no copy of the request's host is made.
            AllowedHosts::Only(names) => host_name_of(host)
                .is_some_and(|name| names.iter().any(|n| n.eq_ignore_ascii_case(name))),
        }
    }
}

/// The host part of a `Host` header value (`name`, `name:port`, `[v6]`, `[v6]:port`), as
/// written (host names compare without regard to case); `None` when it is malformed.
pub fn host_name_of(host: &str) -> Option<&str> {
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
    valid.then_some(name)
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
    /// Show the expiry warning this long before the first limit. When the operator sets none:
    /// 60 s, or half of the shortest enabled browser-session limit (idle, absolute, "Remember
    /// me" and administrators') when that is shorter ([`default_warn_before`]), so that a
    /// default never stops start-up.
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
    /// Idle limit for administrators' browser sessions (default: `idle_time`).
    pub admin_idle_time: Duration,
    /// Absolute limit for administrators' browser sessions (default: `session_time`).
    pub admin_session_time: Duration,
    /// Idle limit for API sessions (bearer token or JWT).
    pub api_idle_time: Duration,
    /// Absolute limit for API sessions.
    pub api_session_time: Duration,
    /// Lifetime of one JWT access token (its session's limits still apply).
    pub jwt_ttl: Duration,
    /// The HMAC key for JWTs; `None`: generated once and kept in the database.
    pub jwt_secret: Option<String>,
    /// Failed sign-ins for one username within `login_lockout` before it is throttled.
    pub login_max_failures: u32,
    /// Failed sign-ins from one client IP within `login_lockout` before it is throttled.
    pub login_max_failures_per_ip: u32,
    /// The window in which failed sign-ins count.
    pub login_lockout: Duration,
    /// Create the demo account on an empty user table.
    pub demo_account: bool,
    /// The bearer token `/metrics` requires; `None`: `/metrics` answers loopback clients only.
    pub metrics_token: Option<MetricsToken>,
    /// The root secret from which the server's signing and derivation keys are derived (kept
    /// out of the database); `None`: those keys are generated once and kept in the database.
    pub secret_key: Option<SecretKey>,
    /// Audit rows older than this are deleted, in batches (zero: kept forever).
    pub audit_retention: Duration,
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// Listen address.
    pub site_addr: SocketAddr,
    /// The folder the built site is served from (the client bundle is in its `pkg/`).
    pub site_root: PathBuf,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("idle_time", &self.idle_time)
            .field("session_time", &self.session_time)
            .field("warn_before", &self.warn_before)
            .field("cookie_secure", &self.cookie_secure)
            .field("metrics_token", &self.metrics_token)
            .field("secret_key", &self.secret_key)
            .field("audit_retention", &self.audit_retention)
            .field(
                "database_url",
                &auto_logout::server::db::redact_url(&self.database_url),
            )
            .field("site_addr", &self.site_addr)
            .field("site_root", &self.site_root)
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
        key: String,
        /// Where it came from: the environment variable, or "configuration file".
        source_name: String,
        /// The value as given.
        value: String,
        /// What would have been accepted.
        expected: String,
    },
}

/// Every key with its default (SPEC §3), as the TOML a configuration file would hold. The
/// file and then the environment are layered over these by figment. An empty duration where a
/// limit is inherited or adapted (`warn_before`, `admin_*`) means "not set by the operator".
const DEFAULTS: &str = r#"
idle_time = "10m"
session_time = "1h"
warn_before = ""
message = "The session has expired. Please login again to continue."
redirect_to_login_immediately = true
remember_idle_time = "7d"
remember_session_time = "30d"
client_activity = true
bind_user_agent = true
cookie_secure = false
max_sessions_per_user = 0
on_max_sessions = "end_oldest"
trusted_proxies = ""
allowed_hosts = "localhost, 127.0.0.1, [::1]"
admin_idle_time = ""
admin_session_time = ""
api_idle_time = "1d"
api_session_time = "30d"
jwt_ttl = "5m"
jwt_secret = ""
login_max_failures = 5
login_max_failures_per_ip = 50
login_lockout = "15m"
demo_account = false
metrics_token = ""
secret_key = ""
audit_retention = "400d"
database_url = "sqlite://data/auto-logout.db?mode=rwc"
site_addr = "127.0.0.1:3000"
site_root = "target/site"
"#;

/// The environment variable of every key (SPEC §3).
const ENVIRONMENT: &[(&str, &str)] = &[
    ("idle_time", "AUTO_LOGOUT_IDLE_TIME"),
    ("session_time", "AUTO_LOGOUT_SESSION_TIME"),
    ("warn_before", "AUTO_LOGOUT_WARN_BEFORE"),
    ("message", "AUTO_LOGOUT_MESSAGE"),
    (
        "redirect_to_login_immediately",
        "AUTO_LOGOUT_REDIRECT_TO_LOGIN_IMMEDIATELY",
    ),
    ("remember_idle_time", "AUTO_LOGOUT_REMEMBER_IDLE_TIME"),
    ("remember_session_time", "AUTO_LOGOUT_REMEMBER_SESSION_TIME"),
    ("client_activity", "AUTO_LOGOUT_CLIENT_ACTIVITY"),
    ("bind_user_agent", "AUTO_LOGOUT_BIND_USER_AGENT"),
    ("cookie_secure", "AUTO_LOGOUT_COOKIE_SECURE"),
    ("max_sessions_per_user", "AUTO_LOGOUT_MAX_SESSIONS"),
    ("on_max_sessions", "AUTO_LOGOUT_ON_MAX_SESSIONS"),
    ("trusted_proxies", "AUTO_LOGOUT_TRUSTED_PROXIES"),
    ("allowed_hosts", "AUTO_LOGOUT_ALLOWED_HOSTS"),
    ("admin_idle_time", "AUTO_LOGOUT_ADMIN_IDLE_TIME"),
    ("admin_session_time", "AUTO_LOGOUT_ADMIN_SESSION_TIME"),
    ("api_idle_time", "AUTO_LOGOUT_API_IDLE_TIME"),
    ("api_session_time", "AUTO_LOGOUT_API_SESSION_TIME"),
    ("jwt_ttl", "AUTO_LOGOUT_JWT_TTL"),
    ("jwt_secret", "AUTO_LOGOUT_JWT_SECRET"),
    ("login_max_failures", "AUTO_LOGOUT_LOGIN_MAX_FAILURES"),
    (
        "login_max_failures_per_ip",
        "AUTO_LOGOUT_LOGIN_MAX_FAILURES_PER_IP",
    ),
    ("login_lockout", "AUTO_LOGOUT_LOGIN_LOCKOUT"),
    ("demo_account", "AUTO_LOGOUT_DEMO_ACCOUNT"),
    ("metrics_token", "AUTO_LOGOUT_METRICS_TOKEN"),
    ("secret_key", "AUTO_LOGOUT_SECRET_KEY"),
    ("audit_retention", "AUTO_LOGOUT_AUDIT_RETENTION"),
    ("database_url", "DATABASE_URL"),
    ("site_addr", "LEPTOS_SITE_ADDR"),
    ("site_root", "LEPTOS_SITE_ROOT"),
];

/// The values as layered, each typed by what it accepts (see [`values`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Values {
    #[serde(deserialize_with = "values::duration")]
    idle_time: Duration,
    #[serde(deserialize_with = "values::duration")]
    session_time: Duration,
    #[serde(deserialize_with = "values::inherited_duration")]
    warn_before: Option<Duration>,
    #[serde(deserialize_with = "values::text")]
    message: String,
    #[serde(deserialize_with = "values::flag")]
    redirect_to_login_immediately: bool,
    #[serde(deserialize_with = "values::duration")]
    remember_idle_time: Duration,
    #[serde(deserialize_with = "values::duration")]
    remember_session_time: Duration,
    #[serde(deserialize_with = "values::flag")]
    client_activity: bool,
    #[serde(deserialize_with = "values::flag")]
    bind_user_agent: bool,
    #[serde(deserialize_with = "values::flag")]
    cookie_secure: bool,
    #[serde(deserialize_with = "values::count")]
    max_sessions_per_user: u32,
    #[serde(deserialize_with = "values::text")]
    on_max_sessions: String,
    #[serde(deserialize_with = "values::list")]
    trusted_proxies: Vec<String>,
    #[serde(deserialize_with = "values::list")]
    allowed_hosts: Vec<String>,
    #[serde(deserialize_with = "values::inherited_duration")]
    admin_idle_time: Option<Duration>,
    #[serde(deserialize_with = "values::inherited_duration")]
    admin_session_time: Option<Duration>,
    #[serde(deserialize_with = "values::duration")]
    api_idle_time: Duration,
    #[serde(deserialize_with = "values::duration")]
    api_session_time: Duration,
    #[serde(deserialize_with = "values::duration")]
    jwt_ttl: Duration,
    #[serde(deserialize_with = "values::text")]
    jwt_secret: String,
    #[serde(deserialize_with = "values::count")]
    login_max_failures: u32,
    #[serde(deserialize_with = "values::count")]
    login_max_failures_per_ip: u32,
    #[serde(deserialize_with = "values::duration")]
    login_lockout: Duration,
    #[serde(deserialize_with = "values::flag")]
    demo_account: bool,
    #[serde(deserialize_with = "values::text")]
    metrics_token: String,
    #[serde(deserialize_with = "values::text")]
    secret_key: String,
    #[serde(deserialize_with = "values::duration")]
    audit_retention: Duration,
    #[serde(deserialize_with = "values::text")]
    database_url: String,
    #[serde(deserialize_with = "values::text")]
    site_addr: String,
    #[serde(deserialize_with = "values::text")]
    site_root: String,
}

/// The value grammar of SPEC §3, for serde: durations `600` (seconds), `600s`, `10m`,
/// `1h30m`; booleans `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`); whole numbers;
/// lists as a TOML array or one comma-separated string. Each error says what is accepted.
mod values {
    use serde::{de, Deserialize, Deserializer};
    use std::time::Duration;

    /// A scalar or a list as written (file or environment).
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Given {
        Text(String),
        Whole(i64),
        Real(f64),
        Flag(bool),
        List(Vec<Given>),
    }

    impl Given {
        fn into_text(self) -> String {
            match self {
                Given::Text(s) => s,
                Given::Whole(n) => n.to_string(),
                Given::Real(x) => x.to_string(),
                Given::Flag(b) => b.to_string(),
                Given::List(items) => items
                    .into_iter()
                    .map(Given::into_text)
                    .collect::<Vec<_>>()
                    .join(", "),
            }
        }
    }

    fn given<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Given::deserialize(d).map(Given::into_text)
    }

    pub(super) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        given(d).map(|s| s.trim().to_owned())
    }

    pub(super) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = given(d)?;
        super::parse_duration(&text)
            .ok_or_else(|| de::Error::custom("expected a duration such as 600, 600s, 10m or 1h30m"))
    }

    /// A duration, or empty for "the same as the ordinary limit".
    pub(super) fn inherited_duration<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        let text = given(d)?;
        if text.trim().is_empty() {
            return Ok(None);
        }
        super::parse_duration(&text)
            .map(Some)
            .ok_or_else(|| de::Error::custom("expected a duration such as 600, 600s, 10m or 1h30m"))
    }

    pub(super) fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        match given(d)?.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(de::Error::custom("expected true or false")),
        }
    }

    pub(super) fn count<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        given(d)?
            .trim()
            .parse()
            .map_err(|_| de::Error::custom("expected a whole number, 0 for no limit"))
    }

    pub(super) fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        Ok(given(d)?
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect())
    }
}

/// Where each key's value came from, to name it in messages.
struct Sources<'a> {
    file: Option<(&'a std::path::Path, toml::Table)>,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Sources<'_> {
    /// The key's environment variable.
    fn variable(key: &str) -> Option<&'static str> {
        ENVIRONMENT.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    /// The value as given, and where it was given.
    fn origin(&self, key: &str) -> (String, String) {
        if let Some(var) = Self::variable(key) {
            if let Some(value) = (self.env)(var) {
                return (value, var.to_owned());
            }
        }
        if let Some((path, table)) = &self.file {
            if let Some(value) = table.get(key) {
                let value = match value {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                return (value, format!("{key} in {}", path.display()));
            }
        }
        let default = DEFAULTS
            .parse::<toml::Table>()
            .ok()
            .and_then(|t| t.get(key).map(|v| v.to_string()))
            .unwrap_or_default();
        (default, "default".to_owned())
    }

    fn invalid(&self, key: &str, expected: impl Into<String>) -> ConfigError {
        let (value, source_name) = self.origin(key);
        ConfigError::Invalid {
            key: key.to_owned(),
            source_name,
            value,
            expected: expected.into(),
        }
    }

    /// The first of figment's errors, as a message naming the key, its source and value.
    fn refusal(&self, errors: figment::Error) -> ConfigError {
        let Some(err) = errors.into_iter().next() else {
            return ConfigError::Contradiction {
                message: "the configuration could not be read".to_owned(),
            };
        };
        if let figment::error::Kind::UnknownField(key, _) = &err.kind {
            return ConfigError::UnknownKey {
                path: self
                    .file
                    .as_ref()
                    .map_or_else(PathBuf::new, |(p, _)| p.to_path_buf()),
                key: key.clone(),
            };
        }
        let key = err.path.last().cloned().unwrap_or_default();
        self.invalid(&key, err.kind.to_string())
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

/// `*` or a list of host names; `None` when an entry is malformed.
fn parse_allowed_hosts(entries: &[String]) -> Option<AllowedHosts> {
    let entries: Vec<&str> = entries.iter().map(String::as_str).collect();
    if entries.contains(&"*") {
        return Some(AllowedHosts::Any);
    }
    if entries.is_empty() {
        return None;
    }
    entries
        .into_iter()
        .map(|entry| {
            host_name_of(entry)
                .filter(|name| !entry.contains(':') || name.starts_with('['))
                .map(str::to_ascii_lowercase)
        })
        .collect::<Option<Vec<_>>>()
        .map(AllowedHosts::Only)
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
        let mut layers = Figment::from(Toml::string(DEFAULTS));
        let file = match file {
            Some((path, text)) => {
                let table: toml::Table =
                    text.parse()
                        .map_err(|e: toml::de::Error| ConfigError::Toml {
                            path: path.to_owned(),
                            message: e.message().to_owned(),
                        })?;
                layers = layers.merge(Toml::string(text));
                Some((path, table))
            }
            None => None,
        };
        for (key, var) in ENVIRONMENT {
            if let Some(value) = env(var) {
                layers = layers.merge(Serialized::default(key, value));
            }
        }
        let raw = Sources { file, env: &env };
        let values: Values = layers.extract().map_err(|e| raw.refusal(e))?;
        values.check(&raw)
    }
}

impl Values {
    /// The checks and conversions that are ours: hosts, proxies, the database URL, the
    /// message's length, and limits that contradict each other.
    fn check(self, raw: &Sources<'_>) -> Result<Config, ConfigError> {
        let on_max_sessions = match self.on_max_sessions.as_str() {
            "end_oldest" => OnMaxSessions::EndOldest,
            "deny_new" => OnMaxSessions::DenyNew,
            _ => return Err(raw.invalid("on_max_sessions", "expected end_oldest or deny_new")),
        };
        let trusted_proxies = self
            .trusted_proxies
            .iter()
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
        let database_url = self.database_url;
        if !(database_url.starts_with("sqlite:") || database_url.starts_with("postgres")) {
            return Err(raw.invalid("database_url", "expected sqlite://PATH or postgres://…"));
        }
        let allowed_hosts = parse_allowed_hosts(&self.allowed_hosts).ok_or_else(|| {
            raw.invalid(
                "allowed_hosts",
                "expected `*` or comma-separated host names such as localhost, example.com, [::1]",
            )
        })?;
        let message = self.message;
        if self.jwt_ttl.is_zero() {
            return Err(raw.invalid("jwt_ttl", "expected a duration above zero, such as 5m"));
        }
        let jwt_ttl = self.jwt_ttl;
        let jwt_secret = match self.jwt_secret.as_str() {
            "" => None,
            short if short.len() < 32 => {
                // Never echo a secret, even a bad one.
                return Err(ConfigError::Contradiction {
                    message: format!(
                        "jwt_secret ({}) is too short: use at least 32 characters, or leave it \
                         unset to have one generated and kept in the database",
                        raw.origin("jwt_secret").1
                    ),
                });
            }
            secret => Some(secret.to_owned()),
        };
        let secret_key = match self.secret_key.as_str() {
            "" => None,
            short if short.len() < 32 => {
                // Never echo a secret, even a bad one.
                return Err(ConfigError::Contradiction {
                    message: format!(
                        "secret_key ({}) is too short: use at least 32 random characters (for \
                         example the output of `openssl rand -hex 32`), or leave it unset to \
                         have keys generated and kept in the database",
                        raw.origin("secret_key").1
                    ),
                });
            }
            secret => Some(SecretKey::from_bytes(secret.as_bytes().to_vec())),
        };
        if message.is_empty() || message.len() > 500 {
            return Err(raw.invalid("message", "expected between 1 and 500 characters"));
        }

        let (idle_time, session_time) = (self.idle_time, self.session_time);
        let (admin_idle_time, admin_session_time) = (
            self.admin_idle_time.unwrap_or(idle_time),
            self.admin_session_time.unwrap_or(session_time),
        );
        // Only a warning the operator set can contradict a limit; an unset one adapts.
        let warn_before = match self.warn_before {
            Some(warn_before) => {
                for (key, limit) in [
                    ("idle_time", idle_time),
                    ("session_time", session_time),
                    ("admin_idle_time", admin_idle_time),
                    ("admin_session_time", admin_session_time),
                ] {
                    if !limit.is_zero() && warn_before >= limit {
                        return Err(ConfigError::Contradiction {
                            message: format!(
                                "warn_before ({}) must be shorter than {key} ({}): the warning \
                                 would show before the session starts",
                                humantime::format_duration(warn_before),
                                humantime::format_duration(limit)
                            ),
                        });
                    }
                }
                warn_before
            }
            None => default_warn_before([
                idle_time,
                session_time,
                admin_idle_time,
                admin_session_time,
                self.remember_idle_time,
                self.remember_session_time,
            ]),
        };
        Ok(Config {
            idle_time,
            session_time,
            warn_before,
            message,
            redirect_to_login_immediately: self.redirect_to_login_immediately,
            remember_idle_time: self.remember_idle_time,
            remember_session_time: self.remember_session_time,
            client_activity: self.client_activity,
            bind_user_agent: self.bind_user_agent,
            cookie_secure: self.cookie_secure,
            max_sessions_per_user: self.max_sessions_per_user,
            on_max_sessions,
            trusted_proxies,
            allowed_hosts,
            admin_idle_time,
            admin_session_time,
            api_idle_time: self.api_idle_time,
            api_session_time: self.api_session_time,
            jwt_ttl,
            jwt_secret,
            login_max_failures: self.login_max_failures,
            login_max_failures_per_ip: self.login_max_failures_per_ip,
            login_lockout: self.login_lockout,
            demo_account: self.demo_account,
            metrics_token: MetricsToken::new(&self.metrics_token),
            secret_key,
            audit_retention: self.audit_retention,
            database_url,
            site_addr: self
                .site_addr
                .parse()
                .map_err(|_| raw.invalid("site_addr", "expected IP:PORT such as 127.0.0.1:3000"))?,
            site_root: PathBuf::from(self.site_root),
        })
    }
}

impl Config {
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

    /// The limits of ordinary, "Remember me" and API sessions.
    pub fn limits(&self) -> Limits {
        Limits {
            normal: TimeoutPolicy::new(self.idle_time, self.session_time, self.warn_before),
            remember: TimeoutPolicy::new(
                self.remember_idle_time,
                self.remember_session_time,
                self.warn_before,
            ),
            admin: TimeoutPolicy::new(
                self.admin_idle_time,
                self.admin_session_time,
                self.warn_before,
            ),
            api: TimeoutPolicy::new(self.api_idle_time, self.api_session_time, self.warn_before),
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
    fn a_bad_file_value_names_the_file() {
        let err = Config::from_sources(
            Some((
                std::path::Path::new("x.toml"),
                "bind_user_agent = \"maybe\"",
            )),
            env_of(&[]),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "invalid value for bind_user_agent (bind_user_agent in x.toml): `maybe`: expected \
             true or false"
        );
        let list = Config::from_sources(
            Some((
                std::path::Path::new("x.toml"),
                "trusted_proxies = [\"10.0.0.0/8\", \"127.0.0.1\"]\nlogin_max_failures = 3",
            )),
            env_of(&[]),
        )
        .unwrap();
        assert_eq!(list.trusted_proxies.len(), 2, "a TOML array");
        assert_eq!(list.login_max_failures, 3, "a TOML integer");
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
    fn the_metrics_token_is_read_and_never_printed() {
        let c = Config::from_sources(None, env_of(&[])).unwrap();
        assert!(c.metrics_token.is_none(), "unset by default");
        let c = Config::from_sources(
            None,
            env_of(&[("AUTO_LOGOUT_METRICS_TOKEN", "scrape-me-please-123")]),
        )
        .unwrap();
        let token = c.metrics_token.as_ref().expect("set from the environment");
        assert!(token.matches("scrape-me-please-123"));
        let printed = format!("{c:?}");
        assert!(!printed.contains("scrape-me-please-123"), "{printed}");
        assert!(
            printed.contains("metrics_token: Some(MetricsToken([redacted]))"),
            "{printed}"
        );
        let c = Config::from_sources(
            Some((
                std::path::Path::new("x.toml"),
                "metrics_token = \"from-the-file\"",
            )),
            env_of(&[]),
        )
        .unwrap();
        assert!(c.metrics_token.unwrap().matches("from-the-file"));
    }

    #[test]
    fn an_unset_warning_adapts_to_short_limits() {
        let c = Config::from_sources(None, env_of(&[("AUTO_LOGOUT_IDLE_TIME", "30s")])).unwrap();
        assert_eq!(c.warn_before, Duration::from_secs(15));
        assert!(c.limits().normal.warn_before < c.idle_time);
        let c = Config::from_sources(None, env_of(&[("AUTO_LOGOUT_ADMIN_SESSION_TIME", "1m")]))
            .unwrap();
        assert_eq!(
            c.warn_before,
            Duration::from_secs(30),
            "administrators' limits too"
        );
        let c = Config::from_sources(
            Some((
                std::path::Path::new("x.toml"),
                "remember_idle_time = \"40s\"",
            )),
            env_of(&[]),
        )
        .unwrap();
        assert_eq!(
            c.warn_before,
            Duration::from_secs(20),
            "\"Remember me\" limits too"
        );
        // API clients show no warning: their limits leave it alone.
        let c =
            Config::from_sources(None, env_of(&[("AUTO_LOGOUT_API_IDLE_TIME", "10s")])).unwrap();
        assert_eq!(c.warn_before, Duration::from_secs(60));
        // Disabled limits do not count.
        let c = Config::from_sources(
            None,
            env_of(&[
                ("AUTO_LOGOUT_IDLE_TIME", "0"),
                ("AUTO_LOGOUT_SESSION_TIME", "90s"),
            ]),
        )
        .unwrap();
        assert_eq!(c.warn_before, Duration::from_secs(45));
    }

    #[test]
    fn a_warning_set_in_the_file_is_checked_like_one_from_the_environment() {
        let err = Config::from_sources(
            Some((std::path::Path::new("x.toml"), "warn_before = \"60s\"")),
            env_of(&[("AUTO_LOGOUT_IDLE_TIME", "30s")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("warn_before (1m)") && err.contains("idle_time (30s)"),
            "{err}"
        );
        let c = Config::from_sources(
            Some((std::path::Path::new("x.toml"), "warn_before = \"20s\"")),
            env_of(&[("AUTO_LOGOUT_IDLE_TIME", "30s")]),
        )
        .unwrap();
        assert_eq!(
            c.warn_before,
            Duration::from_secs(20),
            "an explicit value is kept"
        );
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
