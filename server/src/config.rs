//! Configuration (SPEC §3): an optional TOML file named by `AUTO_LOGOUT_CONFIG`, then the
//! environment, which wins. Every bad value stops start-up with a message naming the key,
//! the variable and the value.
//!
//! Each key is declared once, as a field of [`Config`] in the `keys!` invocation below:
//! its documentation, default, environment variable and parser are written together there.
//! A test keeps the README's configuration table equal to these declarations.

pub use auto_logout::session_limit::OnMaxSessions;
use auto_logout::{
    policy::default_warn_before,
    schedule::{CutOff, SignOutSchedule, MAX_CUT_OFFS},
    server::{telemetry::MetricsToken, JwtAlgorithm, Limits, SecretKey},
    session_limit::SessionLimit,
    throttle::ThrottlePolicy,
    TimeoutPolicy,
};
use ipnet::IpNet;
use std::{
    fmt,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

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

/// Declares the configuration keys: [`Config`] with one field per key, and [`KEYS`]. Each
/// field is written
///
/// ```text
/// /// What the key does.
/// #[key(default = "10m", env = "AUTO_LOGOUT_IDLE_TIME", parse = duration)]
/// idle_time: Duration,
/// ```
///
/// The field's name is the file key. The default is written as it would be in the
/// environment; a key that has no value by default says instead what being unset means,
/// `unset = "…"`, as the README does. `parse` names the function of [`values`] that turns
/// the text given into the field's type, or refuses it.
macro_rules! keys {
    (
        $(#[doc = $struct_doc:literal])+
        pub struct Config {
            $(
                $(#[doc = $doc:literal])+
                #[key(
                    $(default = $default:literal)? $(unset = $unset:literal)?,
                    env = $var:literal,
                    parse = $parse:ident $(,)?
                )]
                $key:ident: $ty:ty,
            )+
        }
    ) => {
        $(#[doc = $struct_doc])+
        #[derive(Clone)]
        pub struct Config {
            $(
                $(#[doc = $doc])+
                #[doc = ""]
                #[doc = concat!(
                    "File key `", stringify!($key), "`, environment variable `", $var,
                    "`, default ", $("`", $default, "`",)? $($unset,)? "."
                )]
                pub $key: $ty,
            )+
        }

        /// Every key, in the order of [`Config`]'s fields.
        const KEYS: &[Key] = &[$(
            Key {
                name: stringify!($key),
                variable: $var,
                default: concat!("" $(, $default)?),
                #[cfg(test)]
                unset: concat!("" $(, $unset)?),
            },
        )+];

        impl Config {
            /// Every key's value taken from `sources` and parsed, before [`Config::resolve`].
            fn parse(sources: &Sources<'_>) -> Result<Self, ConfigError> {
                Ok(Config {
                    $($key: values::$parse(&sources.given(stringify!($key))?)?,)+
                })
            }
        }
    };
}

keys! {
    /// The server's settings, parsed and checked.
    pub struct Config {
        /// Sign out after this long without activity (zero: no idle limit).
        #[key(default = "10m", env = "AUTO_LOGOUT_IDLE_TIME", parse = duration)]
        idle_time: Duration,
        /// Sign out this long after sign-in (zero: no absolute limit).
        #[key(default = "1h", env = "AUTO_LOGOUT_SESSION_TIME", parse = duration)]
        session_time: Duration,
        /// Show the expiry warning this long before the first limit. When the operator sets
        /// none: 60 s, or half of the shortest enabled browser-session limit (idle, absolute,
        /// "Remember me" and administrators') when that is shorter ([`default_warn_before`]),
        /// so that a default never stops start-up.
        #[key(
            unset = "60s, or half the shortest browser-session limit",
            env = "AUTO_LOGOUT_WARN_BEFORE",
            parse = duration,
        )]
        warn_before: Duration,
        /// Shown on the sign-in page after an automatic sign-out.
        #[key(
            default = "The session has expired. Please login again to continue.",
            env = "AUTO_LOGOUT_MESSAGE",
            parse = message,
        )]
        message: String,
        /// The browser leaves the page at zero without waiting for a click.
        #[key(default = "true", env = "AUTO_LOGOUT_REDIRECT_TO_LOGIN_IMMEDIATELY", parse = flag)]
        redirect_to_login_immediately: bool,
        /// Idle limit for "Remember me" sessions.
        #[key(default = "7d", env = "AUTO_LOGOUT_REMEMBER_IDLE_TIME", parse = duration)]
        remember_idle_time: Duration,
        /// Absolute limit for "Remember me" sessions.
        #[key(default = "30d", env = "AUTO_LOGOUT_REMEMBER_SESSION_TIME", parse = duration)]
        remember_session_time: Duration,
        /// Input in the page counts as activity.
        #[key(default = "true", env = "AUTO_LOGOUT_CLIENT_ACTIVITY", parse = flag)]
        client_activity: bool,
        /// A session presented by another user agent is suspended.
        #[key(default = "true", env = "AUTO_LOGOUT_BIND_USER_AGENT", parse = flag)]
        bind_user_agent: bool,
        /// Set the cookie's `Secure` attribute.
        #[key(default = "false", env = "AUTO_LOGOUT_COOKIE_SECURE", parse = flag)]
        cookie_secure: bool,
        /// At most this many active sessions per user (0: no limit).
        #[key(default = "0", env = "AUTO_LOGOUT_MAX_SESSIONS", parse = count)]
        max_sessions_per_user: u32,
        /// What happens at that limit.
        #[key(default = "end_oldest", env = "AUTO_LOGOUT_ON_MAX_SESSIONS", parse = on_max)]
        on_max_sessions: OnMaxSessions,
        /// Proxies whose `X-Forwarded-For` is believed.
        #[key(unset = "(none)", env = "AUTO_LOGOUT_TRUSTED_PROXIES", parse = proxies)]
        trusted_proxies: Vec<IpNet>,
        /// Host header values served; others get 400.
        #[key(
            default = "localhost, 127.0.0.1, [::1]",
            env = "AUTO_LOGOUT_ALLOWED_HOSTS",
            parse = hosts,
        )]
        allowed_hosts: AllowedHosts,
        /// Idle limit for administrators' browser sessions (default: `idle_time`).
        #[key(unset = "= idle_time", env = "AUTO_LOGOUT_ADMIN_IDLE_TIME", parse = duration)]
        admin_idle_time: Duration,
        /// Absolute limit for administrators' browser sessions (default: `session_time`).
        #[key(unset = "= session_time", env = "AUTO_LOGOUT_ADMIN_SESSION_TIME", parse = duration)]
        admin_session_time: Duration,
        /// Idle limit for API sessions (bearer token or JWT).
        #[key(default = "1d", env = "AUTO_LOGOUT_API_IDLE_TIME", parse = duration)]
        api_idle_time: Duration,
        /// Absolute limit for API sessions.
        #[key(default = "30d", env = "AUTO_LOGOUT_API_SESSION_TIME", parse = duration)]
        api_session_time: Duration,
        /// Lifetime of one JWT access token (its session's limits still apply).
        #[key(default = "5m", env = "AUTO_LOGOUT_JWT_TTL", parse = positive_duration)]
        jwt_ttl: Duration,
        /// One fixed HMAC key (HS256, `kid` `jwt_secret`) for every JWT, which `keys rotate`
        /// cannot rotate; `None`: the server keeps its own keys (in the database, or derived
        /// from `secret_key`) and rotates them.
        #[key(
            unset = "(generated once, kept in the database; at least 32 characters if set)",
            env = "AUTO_LOGOUT_JWT_SECRET",
            parse = jwt_secret,
        )]
        jwt_secret: Option<String>,
        /// The algorithm of the JWT signing keys the server adds: HS256, or an asymmetric one
        /// (EdDSA or ES256) whose public keys are published at `/.well-known/jwks.json`.
        #[key(default = "HS256", env = "AUTO_LOGOUT_JWT_ALGORITHM", parse = jwt_algorithm)]
        jwt_algorithm: JwtAlgorithm,
        /// Failed sign-ins for one username within `login_lockout` before it is throttled.
        #[key(default = "5", env = "AUTO_LOGOUT_LOGIN_MAX_FAILURES", parse = count)]
        login_max_failures: u32,
        /// Failed sign-ins from one client IP within `login_lockout` before it is throttled.
        #[key(default = "50", env = "AUTO_LOGOUT_LOGIN_MAX_FAILURES_PER_IP", parse = count)]
        login_max_failures_per_ip: u32,
        /// The window in which failed sign-ins count.
        #[key(default = "15m", env = "AUTO_LOGOUT_LOGIN_LOCKOUT", parse = duration)]
        login_lockout: Duration,
        /// Create the demo account on an empty user table.
        #[key(default = "false", env = "AUTO_LOGOUT_DEMO_ACCOUNT", parse = flag)]
        demo_account: bool,
        /// The bearer token `/metrics` requires; `None`: `/metrics` answers loopback clients
        /// only.
        #[key(
            unset = "(unset: `/metrics` answers loopback clients only)",
            env = "AUTO_LOGOUT_METRICS_TOKEN",
            parse = metrics_token,
        )]
        metrics_token: Option<MetricsToken>,
        /// The root secret from which the server's signing and derivation keys are derived
        /// (kept out of the database); `None`: those keys are generated once and kept in the
        /// database.
        #[key(
            unset = "(unset: keys generated once and kept in the database)",
            env = "AUTO_LOGOUT_SECRET_KEY",
            parse = secret_key,
        )]
        secret_key: Option<SecretKey>,
        /// Audit rows older than this are deleted, in batches (zero: kept forever).
        #[key(default = "400d", env = "AUTO_LOGOUT_AUDIT_RETENTION", parse = duration)]
        audit_retention: Duration,
        /// Ended sessions and audit rows older than this keep only the network of their IP
        /// addresses (/24, /48) and the parsed device of their user agent (zero: kept whole).
        #[key(default = "30d", env = "AUTO_LOGOUT_IP_RETENTION", parse = duration)]
        ip_retention: Duration,
        /// Sensitive actions need the password proved within this long (zero: never asked
        /// again after sign-in).
        #[key(default = "10m", env = "AUTO_LOGOUT_REAUTH_WINDOW", parse = duration)]
        reauth_window: Duration,
        /// A refresh token presented again within this long of its first use gets the same
        /// successor instead of ending the session (zero: any repeat ends it).
        #[key(default = "10s", env = "AUTO_LOGOUT_REFRESH_REUSE_GRACE", parse = duration)]
        refresh_reuse_grace: Duration,
        /// Daily cut-offs (`18:00`, `18:00,02:00`, in `timezone`) at which every browser
        /// session ends; empty: none.
        #[key(unset = "(none)", env = "AUTO_LOGOUT_SIGN_OUT_AT", parse = cut_offs)]
        sign_out_at: Vec<CutOff>,
        /// The cut-offs of administrators' browser sessions (default: `sign_out_at`; `none`:
        /// administrators are not signed out on a schedule).
        #[key(unset = "= sign_out_at", env = "AUTO_LOGOUT_ADMIN_SIGN_OUT_AT", parse = cut_offs)]
        admin_sign_out_at: Vec<CutOff>,
        /// A browser session ends when no tab of the site has been open for `last_tab_grace`
        /// ("Remember me" sessions excepted: they outlive the browser by design).
        #[key(default = "false", env = "AUTO_LOGOUT_END_WITH_LAST_TAB", parse = flag)]
        end_with_last_tab: bool,
        /// `end_with_last_tab` for administrators' browser sessions (default:
        /// `end_with_last_tab`).
        #[key(
            unset = "= end_with_last_tab",
            env = "AUTO_LOGOUT_ADMIN_END_WITH_LAST_TAB",
            parse = flag_or_unset,
        )]
        admin_end_with_last_tab: bool,
        /// How long no open tab must last before `end_with_last_tab` ends the session, so that
        /// reloads and changes of page never do.
        #[key(default = "15s", env = "AUTO_LOGOUT_LAST_TAB_GRACE", parse = positive_duration)]
        last_tab_grace: Duration,
        /// The IANA time zone of `sign_out_at` (`Europe/Paris`, `America/New_York`, `UTC`).
        #[key(default = "UTC", env = "AUTO_LOGOUT_TIMEZONE", parse = time_zone)]
        timezone: String,
        /// `sqlite://…` or `postgres://…`.
        #[key(
            default = "sqlite://data/auto-logout.db?mode=rwc",
            env = "DATABASE_URL",
            parse = database_url,
        )]
        database_url: String,
        /// Listen address.
        #[key(default = "127.0.0.1:3000", env = "LEPTOS_SITE_ADDR", parse = socket_address)]
        site_addr: SocketAddr,
        /// The folder the built site is served from (the client bundle is in its `pkg/`).
        #[key(default = "target/site", env = "LEPTOS_SITE_ROOT", parse = path)]
        site_root: PathBuf,
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("idle_time", &self.idle_time)
            .field("session_time", &self.session_time)
            .field("warn_before", &self.warn_before)
            .field("cookie_secure", &self.cookie_secure)
            .field("jwt_algorithm", &self.jwt_algorithm)
            .field("metrics_token", &self.metrics_token)
            .field("secret_key", &self.secret_key)
            .field("audit_retention", &self.audit_retention)
            .field("ip_retention", &self.ip_retention)
            .field("reauth_window", &self.reauth_window)
            .field("refresh_reuse_grace", &self.refresh_reuse_grace)
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
        /// Where it came from: the environment variable, `KEY in FILE`, or `default`.
        source_name: String,
        /// The value as given.
        value: String,
        /// What would have been accepted.
        expected: String,
    },
}

/// One key, as declared in [`Config`].
struct Key {
    /// The file key, and the field's name.
    name: &'static str,
    /// The environment variable, which wins over the file.
    variable: &'static str,
    /// The default, written as in the environment; empty when the key is unset by default.
    default: &'static str,
    /// What an unset key means, as the README says it; empty when the key has a default.
    #[cfg(test)]
    unset: &'static str,
}

/// The file (its path and table) and the environment, to look keys up in.
struct Sources<'a> {
    file: Option<(&'a Path, toml::Table)>,
    env: &'a dyn Fn(&str) -> Option<String>,
}

/// One key's value as given, and where it was given, for the key's parser.
struct Given {
    key: &'static str,
    /// The value as text for the parser, without surrounding white space (`600` as `"600"`,
    /// an array as its items separated by commas).
    text: String,
    /// The value as written, for messages.
    value: String,
    /// The environment variable, `KEY in FILE`, or `default`.
    source: String,
}

impl Sources<'_> {
    /// The value of the key `name`: its environment variable wins over the file, the file
    /// over the default. A file value that is neither a scalar nor a list is refused.
    fn given(&self, name: &str) -> Result<Given, ConfigError> {
        let key = KEYS
            .iter()
            .find(|key| key.name == name)
            .expect("a declared key");
        let given = |value: String, source| Given {
            key: key.name,
            text: value.trim().to_owned(),
            value,
            source,
        };
        if let Some(value) = (self.env)(key.variable) {
            return Ok(given(value, key.variable.to_owned()));
        }
        if let Some((path, table)) = &self.file {
            if let Some(value) = table.get(key.name) {
                let written = match value {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let given = given(written, format!("{name} in {}", path.display()));
                return match text_of(value) {
                    Some(text) => Ok(Given {
                        text: text.trim().to_owned(),
                        ..given
                    }),
                    None => Err(given.invalid("expected a single value or a list")),
                };
            }
        }
        Ok(given(key.default.to_owned(), "default".to_owned()))
    }

    /// Whether the operator left the key `name` unset (or set it empty).
    fn unset(&self, name: &str) -> bool {
        self.given(name).is_ok_and(|given| given.text.is_empty())
    }
}

impl Given {
    /// The refusal of this value, naming the key, where it was given and the value.
    fn invalid(&self, expected: &str) -> ConfigError {
        ConfigError::Invalid {
            key: self.key.to_owned(),
            source_name: self.source.clone(),
            value: self.value.clone(),
            expected: expected.to_owned(),
        }
    }
}

/// A file value as text: a scalar as written, an array as its items separated by commas;
/// `None` for a table or a date.
fn text_of(value: &toml::Value) -> Option<String> {
    Some(match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(n) => n.to_string(),
        toml::Value::Float(x) => x.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Array(items) => items
            .iter()
            .map(text_of)
            .collect::<Option<Vec<_>>>()?
            .join(", "),
        toml::Value::Datetime(_) | toml::Value::Table(_) => return None,
    })
}

/// The value grammar of SPEC §3, one parser per kind of key: durations `600` (seconds),
/// `600s`, `10m`, `1h30m`; booleans `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`);
/// whole numbers; lists as a TOML array or one comma-separated string. Each refusal says
/// what is accepted.
mod values {
    use super::{
        host_name_of, parse_duration, AllowedHosts, ConfigError, CutOff, Given, IpNet,
        JwtAlgorithm, MetricsToken, OnMaxSessions, PathBuf, SecretKey, SignOutSchedule, SocketAddr,
        MAX_CUT_OFFS,
    };
    use std::time::Duration;

    type Parsed<T> = Result<T, ConfigError>;

    const DURATION: &str = "expected a duration such as 600, 600s, 10m or 1h30m";

    /// The non-empty items of a comma-separated list.
    fn list(text: &str) -> impl Iterator<Item = &str> {
        text.split(',').map(str::trim).filter(|s| !s.is_empty())
    }

    /// Comma-separated `HH:MM` or `HH:MM:SS` cut-offs; empty or `none`: none.
    pub(super) fn cut_offs(given: &Given) -> Parsed<Vec<CutOff>> {
        if given.text.eq_ignore_ascii_case("none") {
            return Ok(Vec::new());
        }
        let cut_offs = list(&given.text)
            .map(str::parse::<CutOff>)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| {
                given.invalid(
                    "expected comma-separated times of day such as 18:00 or 18:00,02:00:30 \
                     (24-hour clock), or none",
                )
            })?;
        if cut_offs.len() > MAX_CUT_OFFS {
            return Err(given.invalid(&format!("expected at most {MAX_CUT_OFFS} cut-offs")));
        }
        Ok(cut_offs)
    }

    /// An IANA time zone name.
    pub(super) fn time_zone(given: &Given) -> Parsed<String> {
        SignOutSchedule::check_zone(&given.text)
            .map(|()| given.text.clone())
            .map_err(|_| {
                given.invalid(
                    "expected an IANA time zone such as UTC, Europe/Paris or America/New_York",
                )
            })
    }

    pub(super) fn duration(given: &Given) -> Parsed<Duration> {
        parse_duration(&given.text).ok_or_else(|| given.invalid(DURATION))
    }

    pub(super) fn positive_duration(given: &Given) -> Parsed<Duration> {
        match duration(given)? {
            zero if zero.is_zero() => {
                Err(given.invalid("expected a duration above zero, such as 5m"))
            }
            positive => Ok(positive),
        }
    }

    pub(super) fn flag(given: &Given) -> Parsed<bool> {
        match given.text.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(given.invalid("expected true or false")),
        }
    }

    /// A flag that may be left unset (empty), for a key whose unset value follows another's.
    pub(super) fn flag_or_unset(given: &Given) -> Parsed<bool> {
        if given.text.is_empty() {
            Ok(false)
        } else {
            flag(given)
        }
    }

    pub(super) fn count(given: &Given) -> Parsed<u32> {
        given
            .text
            .parse()
            .map_err(|_| given.invalid("expected a whole number, 0 for no limit"))
    }

    pub(super) fn message(given: &Given) -> Parsed<String> {
        match given.text.len() {
            1..=500 => Ok(given.text.clone()),
            _ => Err(given.invalid("expected between 1 and 500 characters")),
        }
    }

    pub(super) fn on_max(given: &Given) -> Parsed<OnMaxSessions> {
        match given.text.as_str() {
            "end_oldest" => Ok(OnMaxSessions::EndOldest),
            "deny_new" => Ok(OnMaxSessions::DenyNew),
            _ => Err(given.invalid("expected end_oldest or deny_new")),
        }
    }

    pub(super) fn proxies(given: &Given) -> Parsed<Vec<IpNet>> {
        list(&given.text)
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
            })
            .collect::<Result<_, _>>()
            .map_err(|_| {
                given.invalid("expected comma-separated CIDRs such as 10.0.0.0/8,127.0.0.1")
            })
    }

    /// `*`, or a non-empty list of host names (`host:port` is refused).
    pub(super) fn hosts(given: &Given) -> Parsed<AllowedHosts> {
        let entries: Vec<&str> = list(&given.text).collect();
        if entries.contains(&"*") {
            return Ok(AllowedHosts::Any);
        }
        entries
            .into_iter()
            .map(|entry| {
                host_name_of(entry)
                    .filter(|name| !entry.contains(':') || name.starts_with('['))
                    .map(str::to_ascii_lowercase)
            })
            .collect::<Option<Vec<_>>>()
            .filter(|names| !names.is_empty())
            .map(AllowedHosts::Only)
            .ok_or_else(|| {
                given.invalid(
                    "expected `*` or comma-separated host names such as localhost, \
                     example.com, [::1]",
                )
            })
    }

    /// A secret of at least 32 bytes, or `None` when empty. A refusal never echoes it.
    fn secret<'a>(given: &'a Given, advice: &str) -> Parsed<Option<&'a str>> {
        match given.text.as_str() {
            "" => Ok(None),
            short if short.len() < 32 => Err(ConfigError::Contradiction {
                message: format!("{} ({}) is too short: {advice}", given.key, given.source),
            }),
            secret => Ok(Some(secret)),
        }
    }

    pub(super) fn jwt_secret(given: &Given) -> Parsed<Option<String>> {
        let advice = "use at least 32 characters, or leave it unset to have one generated and \
                      kept in the database";
        Ok(secret(given, advice)?.map(str::to_owned))
    }

    pub(super) fn jwt_algorithm(given: &Given) -> Parsed<JwtAlgorithm> {
        given
            .text
            .parse()
            .map_err(|_| given.invalid("expected HS256, EdDSA or ES256"))
    }

    pub(super) fn secret_key(given: &Given) -> Parsed<Option<SecretKey>> {
        let advice = "use at least 32 random characters (for example the output of `openssl \
                      rand -hex 32`), or leave it unset to have keys generated and kept in the \
                      database";
        Ok(secret(given, advice)?.map(|s| SecretKey::from_bytes(s.as_bytes().to_vec())))
    }

    pub(super) fn metrics_token(given: &Given) -> Parsed<Option<MetricsToken>> {
        Ok(MetricsToken::new(&given.text))
    }

    pub(super) fn database_url(given: &Given) -> Parsed<String> {
        let url = &given.text;
        if !(url.starts_with("sqlite:") || url.starts_with("postgres")) {
            return Err(given.invalid("expected sqlite://PATH or postgres://…"));
        }
        Ok(url.clone())
    }

    pub(super) fn socket_address(given: &Given) -> Parsed<SocketAddr> {
        given
            .text
            .parse()
            .map_err(|_| given.invalid("expected IP:PORT such as 127.0.0.1:3000"))
    }

    pub(super) fn path(given: &Given) -> Parsed<PathBuf> {
        Ok(PathBuf::from(&given.text))
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
        file: Option<(&Path, &str)>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let file = match file {
            Some((path, text)) => {
                let table: toml::Table =
                    text.parse()
                        .map_err(|e: toml::de::Error| ConfigError::Toml {
                            path: path.to_owned(),
                            message: e.message().to_owned(),
                        })?;
                // A typo would otherwise be ignored silently.
                if let Some(key) = table.keys().find(|k| KEYS.iter().all(|key| key.name != *k)) {
                    return Err(ConfigError::UnknownKey {
                        path: path.to_owned(),
                        key: key.clone(),
                    });
                }
                Some((path, table))
            }
            None => None,
        };
        let sources = Sources { file, env: &env };
        Config::parse(&sources)?.resolve(&sources)
    }

    /// What depends on other keys: administrators' limits left unset are the ordinary ones,
    /// an unset warning adapts to the limits, a warning the operator set must be shorter
    /// than each of them, and a `jwt_secret` (HMAC) signs only with HS256.
    fn resolve(mut self, sources: &Sources<'_>) -> Result<Self, ConfigError> {
        if self.jwt_secret.is_some() && self.jwt_algorithm != JwtAlgorithm::Hs256 {
            return Err(ConfigError::Contradiction {
                message: format!(
                    "jwt_secret is an HMAC secret and signs HS256 only, but jwt_algorithm is \
                     {}: unset jwt_secret to have the server keep {0} keys (set secret_key to \
                     keep them out of the database), or set jwt_algorithm = HS256",
                    self.jwt_algorithm
                ),
            });
        }
        if sources.unset("admin_idle_time") {
            self.admin_idle_time = self.idle_time;
        }
        if sources.unset("admin_session_time") {
            self.admin_session_time = self.session_time;
        }
        if sources.unset("admin_sign_out_at") {
            self.admin_sign_out_at = self.sign_out_at.clone();
        }
        if sources.unset("admin_end_with_last_tab") {
            self.admin_end_with_last_tab = self.end_with_last_tab;
        }
        if sources.unset("warn_before") {
            self.warn_before = default_warn_before([
                self.idle_time,
                self.session_time,
                self.admin_idle_time,
                self.admin_session_time,
                self.remember_idle_time,
                self.remember_session_time,
            ]);
            return Ok(self);
        }
        for (key, limit) in [
            ("idle_time", self.idle_time),
            ("session_time", self.session_time),
            ("admin_idle_time", self.admin_idle_time),
            ("admin_session_time", self.admin_session_time),
        ] {
            if !limit.is_zero() && self.warn_before >= limit {
                return Err(ConfigError::Contradiction {
                    message: format!(
                        "warn_before ({}) must be shorter than {key} ({}): the warning would \
                         show before the session starts",
                        humantime::format_duration(self.warn_before),
                        humantime::format_duration(limit)
                    ),
                });
            }
        }
        Ok(self)
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

    /// The limits of ordinary, "Remember me", administrators' and API sessions, with the
    /// scheduled sign-out of browser sessions (`sign_out_at`, `admin_sign_out_at`) and the end
    /// with the last tab of ordinary and administrators' ones (`end_with_last_tab`,
    /// `admin_end_with_last_tab`).
    pub fn limits(&self) -> Limits {
        let last_tab = |policy: TimeoutPolicy, on: bool| {
            if on {
                policy.with_last_tab(self.last_tab_grace)
            } else {
                policy
            }
        };
        let scheduled = |policy: TimeoutPolicy, cut_offs: &[CutOff]| {
            // Both parts were checked when they were read; an empty list is no schedule.
            match SignOutSchedule::new(cut_offs.iter().copied(), &self.timezone) {
                Ok(schedule) => policy.with_sign_out_at(schedule),
                Err(_) => policy,
            }
        };
        let browser = |idle, absolute, cut_offs: &[CutOff]| {
            scheduled(
                TimeoutPolicy::new(idle, absolute, self.warn_before),
                cut_offs,
            )
        };
        Limits {
            normal: last_tab(
                browser(self.idle_time, self.session_time, &self.sign_out_at),
                self.end_with_last_tab,
            ),
            remember: browser(
                self.remember_idle_time,
                self.remember_session_time,
                &self.sign_out_at,
            ),
            admin: last_tab(
                browser(
                    self.admin_idle_time,
                    self.admin_session_time,
                    &self.admin_sign_out_at,
                ),
                self.admin_end_with_last_tab,
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

    /// The rows of README.md's configuration table: key, environment variable, default.
    fn readme_rows() -> Vec<(&'static str, &'static str, &'static str)> {
        let readme = include_str!("../../README.md");
        let section = readme
            .split_once("\n## Configuration\n")
            .expect("README.md has a \"## Configuration\" section")
            .1;
        let section = section.split("\n## ").next().unwrap_or(section);
        section
            .lines()
            .filter(|line| line.starts_with('|'))
            .skip(2) // the header and the |---| line
            .map(|line| {
                let mut cells = line.trim().trim_matches('|').splitn(3, '|').map(str::trim);
                let mut cell = || {
                    cells
                        .next()
                        .unwrap_or_else(|| panic!("a short row: {line}"))
                };
                (cell(), cell(), cell())
            })
            .collect()
    }

    #[test]
    fn the_readme_table_matches_the_declarations() {
        let rows = readme_rows();
        for key in KEYS {
            assert!(
                key.default.is_empty() != key.unset.is_empty(),
                "{}: a default, or what unset means, not both",
                key.name
            );
            let row = rows
                .iter()
                .find(|(name, ..)| *name == key.name)
                .unwrap_or_else(|| panic!("README.md's configuration table lacks {}", key.name));
            assert_eq!(
                row.1, key.variable,
                "the environment variable of {}",
                key.name
            );
            // The README may explain a default after it: `5m (one access token; …)`.
            let default = if key.default.is_empty() {
                key.unset
            } else {
                key.default
            };
            assert!(
                row.2 == default || row.2.starts_with(&format!("{default} ")),
                "README.md gives {} the default `{}`; declared: `{default}`",
                key.name,
                row.2
            );
        }
        for (name, ..) in &rows {
            assert!(
                KEYS.iter().any(|key| key.name == *name),
                "README.md lists `{name}`, which is not a key"
            );
        }
        assert_eq!(rows.len(), KEYS.len(), "one row per key");
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

    /// The server's defaults and the engine's own (what an application gets from
    /// `Engine::builder()`) are the same product defaults, written in two forms.
    #[test]
    fn the_defaults_are_the_engines() {
        use auto_logout::server::engine;
        let c = Config::from_sources(None, env_of(&[])).unwrap();
        assert_eq!(c.limits(), engine::default_limits());
        assert_eq!(c.throttle(), engine::DEFAULT_THROTTLE);
        assert_eq!(c.session_limit(), engine::DEFAULT_SESSION_LIMIT);
        assert_eq!(c.jwt_ttl, engine::DEFAULT_JWT_TTL);
        assert_eq!(c.audit_retention, engine::DEFAULT_AUDIT_RETENTION);
        assert_eq!(c.ip_retention, engine::DEFAULT_IP_RETENTION);
        assert_eq!(c.reauth_window, engine::DEFAULT_REAUTH_WINDOW);
        assert_eq!(c.refresh_reuse_grace, engine::DEFAULT_REFRESH_REUSE_GRACE);
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
    fn a_file_value_the_environment_overrides_is_not_read() {
        let file = Some((std::path::Path::new("x.toml"), "site_root = { a = 1 }"));
        let c = Config::from_sources(file, env_of(&[("LEPTOS_SITE_ROOT", "site")])).unwrap();
        assert_eq!(c.site_root, PathBuf::from("site"));
        let err = Config::from_sources(file, env_of(&[]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "invalid value for site_root (site_root in x.toml): `{ a = 1 }`: expected a single \
             value or a list"
        );
    }

    #[test]
    fn administrators_limits_are_the_ordinary_ones_unless_set() {
        let c = Config::from_sources(
            Some((std::path::Path::new("x.toml"), "admin_session_time = \"\"")),
            env_of(&[("AUTO_LOGOUT_IDLE_TIME", "20m")]),
        )
        .unwrap();
        assert_eq!(c.admin_idle_time, Duration::from_secs(1200));
        assert_eq!(
            c.admin_session_time,
            Duration::from_secs(3600),
            "empty is unset"
        );
        let c = Config::from_sources(
            None,
            env_of(&[
                ("AUTO_LOGOUT_ADMIN_IDLE_TIME", "0"),
                ("AUTO_LOGOUT_ADMIN_SESSION_TIME", "2h"),
            ]),
        )
        .unwrap();
        assert_eq!(c.admin_idle_time, Duration::ZERO, "zero disables the limit");
        assert_eq!(c.admin_session_time, Duration::from_secs(7200));
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
    fn the_end_with_the_last_tab_applies_to_ordinary_and_administrators_sessions() {
        use auto_logout::last_tab::LastTabRule;
        let c = Config::from_sources(None, env_of(&[])).unwrap();
        assert_eq!(c.limits().normal.last_tab, None, "off by default");
        let c = Config::from_sources(
            None,
            env_of(&[
                ("AUTO_LOGOUT_END_WITH_LAST_TAB", "true"),
                ("AUTO_LOGOUT_LAST_TAB_GRACE", "4s"),
            ]),
        )
        .unwrap();
        let limits = c.limits();
        let rule = Some(LastTabRule::new(Duration::from_secs(4)));
        assert_eq!(limits.normal.last_tab, rule);
        assert_eq!(limits.admin.last_tab, rule, "administrators follow it");
        assert_eq!(
            limits.remember.last_tab, None,
            "Remember me outlives the browser"
        );
        assert_eq!(limits.api.last_tab, None, "API clients have no tabs");
        let c = Config::from_sources(
            None,
            env_of(&[
                ("AUTO_LOGOUT_END_WITH_LAST_TAB", "true"),
                ("AUTO_LOGOUT_ADMIN_END_WITH_LAST_TAB", "false"),
            ]),
        )
        .unwrap();
        assert_eq!(
            c.limits().normal.last_tab,
            Some(LastTabRule::new(Duration::from_secs(15)))
        );
        assert_eq!(c.limits().admin.last_tab, None);
        assert!(
            Config::from_sources(None, env_of(&[("AUTO_LOGOUT_LAST_TAB_GRACE", "0")])).is_err()
        );
    }

    #[test]
    fn scheduled_sign_out_reads_its_cut_offs_and_zone() {
        let c = Config::from_sources(
            None,
            env_of(&[
                ("AUTO_LOGOUT_SIGN_OUT_AT", "18:00, 02:00:30"),
                ("AUTO_LOGOUT_TIMEZONE", "Europe/Paris"),
            ]),
        )
        .unwrap();
        let limits = c.limits();
        let schedule = limits.normal.sign_out_at.as_ref().unwrap();
        assert_eq!(schedule.to_string(), "02:00:30,18:00 Europe/Paris");
        assert_eq!(limits.remember.sign_out_at, limits.normal.sign_out_at);
        assert_eq!(
            limits.admin.sign_out_at, limits.normal.sign_out_at,
            "administrators follow sign_out_at unless told otherwise"
        );
        assert_eq!(
            limits.api.sign_out_at, None,
            "API sessions are not scheduled"
        );

        let c = Config::from_sources(
            None,
            env_of(&[
                ("AUTO_LOGOUT_SIGN_OUT_AT", "18:00"),
                ("AUTO_LOGOUT_ADMIN_SIGN_OUT_AT", "none"),
            ]),
        )
        .unwrap();
        assert!(c.limits().normal.sign_out_at.is_some());
        assert_eq!(c.limits().admin.sign_out_at, None, "`none` spares them");
        let c = Config::from_sources(None, env_of(&[])).unwrap();
        assert_eq!(
            c.limits().normal.sign_out_at,
            None,
            "no schedule by default"
        );

        let refused = |pairs: &'static [(&'static str, &'static str)]| {
            Config::from_sources(None, env_of(pairs))
                .unwrap_err()
                .to_string()
        };
        let err = refused(&[("AUTO_LOGOUT_SIGN_OUT_AT", "6pm")]);
        assert!(
            err.contains("AUTO_LOGOUT_SIGN_OUT_AT") && err.contains("6pm") && err.contains("18:00"),
            "{err}"
        );
        let err = refused(&[("AUTO_LOGOUT_SIGN_OUT_AT", "24:00")]);
        assert!(err.contains("24:00"), "{err}");
        let err = refused(&[("AUTO_LOGOUT_TIMEZONE", "Mars/Olympus")]);
        assert!(
            err.contains("AUTO_LOGOUT_TIMEZONE") && err.contains("Europe/Paris"),
            "{err}"
        );
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
    fn the_jwt_algorithm_is_hs256_unless_set_and_unknown_names_are_refused() {
        let c = Config::from_sources(None, env_of(&[])).unwrap();
        assert_eq!(c.jwt_algorithm, JwtAlgorithm::Hs256);
        let algorithm_of = |vars: &'static [(&'static str, &'static str)]| {
            Config::from_sources(None, env_of(vars))
                .unwrap()
                .jwt_algorithm
        };
        assert_eq!(
            algorithm_of(&[("AUTO_LOGOUT_JWT_ALGORITHM", "EdDSA")]),
            JwtAlgorithm::EdDsa
        );
        assert_eq!(
            algorithm_of(&[("AUTO_LOGOUT_JWT_ALGORITHM", "es256")]),
            JwtAlgorithm::Es256
        );
        let file = Path::new("/etc/auto-logout.toml");
        let c =
            Config::from_sources(Some((file, "jwt_algorithm = \"ES256\"")), env_of(&[])).unwrap();
        assert_eq!(c.jwt_algorithm, JwtAlgorithm::Es256);
        let err = Config::from_sources(None, env_of(&[("AUTO_LOGOUT_JWT_ALGORITHM", "RS256")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("jwt_algorithm")
                && err.contains("AUTO_LOGOUT_JWT_ALGORITHM")
                && err.contains("RS256")
                && err.contains("HS256, EdDSA or ES256"),
            "{err}"
        );
    }

    #[test]
    fn a_jwt_secret_with_an_asymmetric_algorithm_is_refused() {
        let err = Config::from_sources(
            None,
            env_of(&[
                (
                    "AUTO_LOGOUT_JWT_SECRET",
                    "a jwt secret of at least thirty-two characters",
                ),
                ("AUTO_LOGOUT_JWT_ALGORITHM", "EdDSA"),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("jwt_secret") && err.contains("EdDSA") && !err.contains("thirty-two"),
            "{err}"
        );
        // With HS256 (said or not) the secret is fine.
        assert!(Config::from_sources(
            None,
            env_of(&[
                (
                    "AUTO_LOGOUT_JWT_SECRET",
                    "a jwt secret of at least thirty-two characters",
                ),
                ("AUTO_LOGOUT_JWT_ALGORITHM", "HS256"),
            ]),
        )
        .is_ok());
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
