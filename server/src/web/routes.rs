//! The one route table: every path this server answers, declared once with its attributes.
//! The classifiers read it instead of matching paths themselves: the page access check (who
//! may see a page), the error shapes (HTML, the API's JSON, a server function's), who needs
//! the signed-in person and where axum-login runs, which requests are passive, and which
//! paths ignore an `Authorization` header.
//!
//! A path takes the first entry that matches it, so specific entries come before the
//! prefixes that contain them; a path no entry matches is an open, active page
//! ([`DEFAULT_ROUTE`]). The CSRF rule is one for every route (see `web::csrf`): a state
//! change must come from this site, whatever its path.

use app::api::PublicSettings;
use auto_logout::{
    forms::{ACCOUNT, ACCOUNT_ACTIVITY, ACCOUNT_PASSWORD, HOME, SESSIONS, SESSION_TABS, SIGN_IN},
    server::{
        engine::JWKS_PATH,
        layer::{element::ELEMENT_FILES, PassiveRule, SessionLayer},
    },
};
use leptos::server_fn::ServerFn;

/// `GET` here reads the caller's session status (SPEC §7).
pub const STATUS_PATH: &str = "/api/v1/session";
/// The one JSON API path whose handler needs axum-login (to end a cookie session).
pub const API_COOKIE_SIGN_OUT: &str = "/api/v1/auth/logout";

/// Which paths an entry covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matching {
    /// Exactly this path.
    Exact(&'static str),
    /// Every path starting with this text.
    Under(&'static str),
}

/// What an answer is, and so the shape of its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// An HTML page or form endpoint (also plain text such as the health check).
    Page,
    /// The JSON API of SPEC §7.
    Json,
    /// A Leptos server function.
    ServerFn,
}

/// Who may read a page (`GET`/`HEAD`); the page access check acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anybody.
    Anyone,
    /// Signed-in people; others are sent to sign in.
    SignedIn,
    /// Administrators; others signed in get 403, the rest are sent to sign in.
    Admin,
    /// People not signed in (the sign-in page); the signed-in are sent home.
    SignedOut,
}

/// Whether a request counts as the person's activity (SPEC §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// Every request is activity.
    Active,
    /// `GET` and `HEAD` are passive (a status read).
    PassiveRead,
    /// Every request is passive (status-reading calls, assets, probes).
    Passive,
}

/// One entry of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The paths it covers.
    pub matching: Matching,
    /// What it answers.
    pub shape: Shape,
    /// Who may read it.
    pub access: Access,
    /// Whether it is activity.
    pub activity: Activity,
    /// Whether its handler needs the signed-in person: a page read gets the engine's
    /// `SignedInUser`, anything else (forms, server functions) also passes axum-login and
    /// tower-sessions (see `web::login_scope`); the others read only what the session layer
    /// decided.
    pub login: bool,
    /// Whether an `Authorization` header is read for it; `false` for paths that must work
    /// with a stale token (signing in again, refreshing, the API description, `/metrics`,
    /// which reads its own token).
    pub credentials: bool,
}

impl Route {
    /// Whether this entry covers `path`.
    pub fn covers(&self, path: &str) -> bool {
        match self.matching {
            Matching::Exact(exact) => path == exact,
            Matching::Under(prefix) => path.starts_with(prefix),
        }
    }
}

/// What a path no entry covers is: an open page, active, with the login session.
pub const DEFAULT_ROUTE: Route = page(Matching::Under("/"), Access::Anyone);

const fn page(matching: Matching, access: Access) -> Route {
    Route {
        matching,
        shape: Shape::Page,
        access,
        activity: Activity::Active,
        login: true,
        credentials: true,
    }
}

const fn json(matching: Matching) -> Route {
    Route {
        matching,
        shape: Shape::Json,
        access: Access::Anyone,
        activity: Activity::Active,
        login: false,
        credentials: true,
    }
}

/// A JSON path that works with a stale credential (see [`Route::credentials`]).
const fn open_json(path: &'static str) -> Route {
    Route {
        credentials: false,
        ..json(Matching::Exact(path))
    }
}

/// A passive path (assets, probes).
const fn passive(matching: Matching, login: bool) -> Route {
    Route {
        activity: Activity::Passive,
        login,
        ..page(matching, Access::Anyone)
    }
}

/// A server function that only reads.
const fn passive_server_fn(path: &'static str) -> Route {
    Route {
        matching: Matching::Exact(path),
        shape: Shape::ServerFn,
        activity: Activity::Passive,
        ..page(Matching::Exact(path), Access::Anyone)
    }
}

/// The table (see the module documentation).
pub const ROUTES: &[Route] = &[
    // The JSON API.
    Route {
        activity: Activity::PassiveRead,
        ..json(Matching::Exact(STATUS_PATH))
    },
    // What the pages' tabs say (end_with_last_tab): never the person's activity.
    Route {
        activity: Activity::Passive,
        ..json(Matching::Exact(SESSION_TABS))
    },
    Route {
        login: true,
        ..json(Matching::Exact(API_COOKIE_SIGN_OUT))
    },
    open_json("/api/v1/auth/token"),
    open_json("/api/v1/auth/jwt"),
    open_json("/api/v1/auth/jwt/refresh"),
    open_json("/api/v1/openapi.json"),
    // The keys that verify our JWTs: public, read by other services without a credential,
    // never anybody's activity.
    Route {
        activity: Activity::Passive,
        ..open_json(JWKS_PATH)
    },
    json(Matching::Exact("/api/v1")),
    json(Matching::Under("/api/v1/")),
    // Server functions act for the person, but for reading the settings (the countdown reads
    // the JSON API's status).
    passive_server_fn(<PublicSettings as ServerFn>::PATH),
    Route {
        shape: Shape::ServerFn,
        ..page(Matching::Under("/api/"), Access::Anyone)
    },
    // Assets and probes.
    passive(Matching::Under("/pkg/"), true),
    passive(Matching::Under(ELEMENT_FILES), false),
    passive(Matching::Exact("/favicon.ico"), true),
    passive(Matching::Exact("/robots.txt"), true),
    passive(Matching::Exact("/healthz"), false),
    Route {
        credentials: false,
        ..passive(Matching::Exact("/metrics"), false)
    },
    // Pages.
    page(Matching::Exact(SIGN_IN), Access::SignedOut),
    page(Matching::Exact(HOME), Access::SignedIn),
    page(Matching::Exact(SESSIONS), Access::SignedIn),
    page(Matching::Exact(ACCOUNT), Access::SignedIn),
    page(Matching::Exact(ACCOUNT_PASSWORD), Access::SignedIn),
    page(Matching::Exact(ACCOUNT_ACTIVITY), Access::SignedIn),
    page(Matching::Exact("/admin"), Access::Admin),
    page(Matching::Under("/admin/"), Access::Admin),
];

/// The entry that covers `path`: the first in [`ROUTES`], else [`DEFAULT_ROUTE`].
pub fn route_of(path: &str) -> &'static Route {
    ROUTES
        .iter()
        .find(|route| route.covers(path))
        .unwrap_or(&DEFAULT_ROUTE)
}

/// The passive requests of the table, as the session layer reads them.
pub fn passive_rule() -> PassiveRule {
    ROUTES.iter().fold(PassiveRule::new(), |rule, route| {
        match (route.activity, route.matching) {
            (Activity::Active, _) => rule,
            (Activity::PassiveRead, Matching::Exact(path)) => rule.read(path),
            (Activity::Passive, Matching::Exact(path)) => rule.path(path),
            (Activity::Passive | Activity::PassiveRead, Matching::Under(prefix)) => {
                rule.prefix(prefix)
            }
        }
    })
}

/// The session layer told the table's passive requests, JSON API and server-function
/// prefixes, and the paths that ignore credentials.
pub fn configure_session_layer(layer: SessionLayer) -> SessionLayer {
    ROUTES
        .iter()
        .fold(layer.passive(passive_rule()), |layer, route| {
            let layer = match (route.shape, route.matching) {
                (Shape::Json, Matching::Under(prefix)) => layer.json_api(prefix),
                (Shape::ServerFn, Matching::Under(prefix)) => layer.actions(prefix),
                _ => layer,
            };
            match (route.credentials, route.matching) {
                (false, Matching::Exact(path)) => layer.open_path(path),
                _ => layer,
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_entry_that_covers_a_path_decides() {
        assert_eq!(route_of(STATUS_PATH).activity, Activity::PassiveRead);
        assert_eq!(route_of(SESSION_TABS).activity, Activity::Passive);
        assert_eq!(route_of("/api/v1/sessions").shape, Shape::Json);
        assert!(!route_of("/api/v1/sessions").login);
        assert!(route_of(API_COOKIE_SIGN_OUT).login);
        assert!(!route_of("/api/v1/auth/jwt").credentials);
        assert_eq!(route_of("/api/anything").shape, Shape::ServerFn);
        assert_eq!(
            route_of("/auto-logout/countdown.js").activity,
            Activity::Passive
        );
        assert_eq!(route_of("/admin/users").access, Access::Admin);
        assert_eq!(route_of("/administrator").access, Access::Anyone);
        assert_eq!(route_of("/nowhere"), &DEFAULT_ROUTE);
        assert!(!route_of("/healthz").login && !route_of("/metrics").credentials);
        let jwks = route_of(JWKS_PATH);
        assert_eq!(
            (jwks.shape, jwks.activity, jwks.credentials, jwks.login),
            (Shape::Json, Activity::Passive, false, false)
        );
    }

    #[test]
    fn no_entry_is_hidden_behind_an_earlier_one() {
        for (i, route) in ROUTES.iter().enumerate() {
            let probe = match route.matching {
                Matching::Exact(path) => path.to_owned(),
                Matching::Under(prefix) => format!("{prefix}x"),
            };
            assert_eq!(
                route_of(&probe),
                route,
                "entry {i} ({:?}) is covered by an earlier one",
                route.matching
            );
        }
    }
}
