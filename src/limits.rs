//! Which limits apply to a session: one table of limit classes, read by the request-time
//! check, by the background sweep (whose database query is derived from the table) and by the
//! "Remember me" cookie's lifetime.
//!
//! A session's class follows from three facts: its kind (browser or API), whether "Remember
//! me" was ticked, and whether its account is an administrator. [`CLASS_TABLE`] lists, per
//! class, which values of those facts it takes; the rows never overlap and together cover
//! every combination (the tests enumerate them). To change which sessions get the
//! administrators' limits, change the administrators' row here, and nothing else.
//!
//! ```
//! use auto_logout::limits::{LimitClass, Limits, SessionClass};
//! use auto_logout::{SessionKind, TimeoutPolicy};
//! use std::time::Duration;
//!
//! let policy = |idle| TimeoutPolicy::new(Duration::from_secs(idle), Duration::ZERO, Duration::ZERO);
//! let limits = Limits { normal: policy(600), remember: policy(86_400), admin: policy(300), api: policy(3_600) };
//! let admin = SessionClass { kind: SessionKind::Browser, remember: true, admin: true };
//! assert_eq!(LimitClass::of(admin), LimitClass::Admin);
//! assert_eq!(limits.for_session(admin).idle, Some(Duration::from_secs(300)));
//! ```

use crate::{policy::TimeoutPolicy, SessionKind};

/// The classes of sessions that have limits of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitClass {
    /// Ordinary browser sessions.
    Normal,
    /// Browser sessions signed in with "Remember me".
    Remember,
    /// Administrators' browser sessions ("Remember me" or not).
    Admin,
    /// API sessions (bearer token or JWT), whether or not "remember" was asked for.
    Api,
}

/// Whose session it is, as far as its limits go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SessionClass {
    /// A browser's or an API client's.
    pub kind: SessionKind,
    /// "Remember me" was ticked.
    pub remember: bool,
    /// The account is an administrator.
    pub admin: bool,
}

/// The values of one fact a class takes: exactly one, or any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Takes<T> {
    /// Only this value.
    Only(T),
    /// Every value.
    Any,
}

impl<T: PartialEq> Takes<T> {
    /// Whether `value` is taken.
    pub fn takes(&self, value: &T) -> bool {
        match self {
            Takes::Only(only) => only == value,
            Takes::Any => true,
        }
    }
}

/// One row of [`CLASS_TABLE`]: a class and the sessions it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassRow {
    /// The class.
    pub class: LimitClass,
    /// Which kinds of session.
    pub kind: Takes<SessionKind>,
    /// With or without "Remember me".
    pub remember: Takes<bool>,
    /// Of administrators or not.
    pub admin: Takes<bool>,
}

impl ClassRow {
    /// Whether this row takes sessions of `class`.
    pub fn takes(&self, class: SessionClass) -> bool {
        self.kind.takes(&class.kind)
            && self.remember.takes(&class.remember)
            && self.admin.takes(&class.admin)
    }
}

/// The one table of limit classes (see the module documentation).
pub const CLASS_TABLE: [ClassRow; 4] = [
    ClassRow {
        class: LimitClass::Normal,
        kind: Takes::Only(SessionKind::Browser),
        remember: Takes::Only(false),
        admin: Takes::Only(false),
    },
    ClassRow {
        class: LimitClass::Remember,
        kind: Takes::Only(SessionKind::Browser),
        remember: Takes::Only(true),
        admin: Takes::Only(false),
    },
    ClassRow {
        class: LimitClass::Admin,
        kind: Takes::Only(SessionKind::Browser),
        remember: Takes::Any,
        admin: Takes::Only(true),
    },
    ClassRow {
        class: LimitClass::Api,
        kind: Takes::Only(SessionKind::Api),
        remember: Takes::Any,
        admin: Takes::Any,
    },
];

impl LimitClass {
    /// The class of a session: the row of [`CLASS_TABLE`] that takes it.
    pub fn of(session: SessionClass) -> LimitClass {
        CLASS_TABLE
            .iter()
            .find(|row| row.takes(session))
            .map_or(LimitClass::Normal, |row| row.class)
    }
}

/// The limits of every class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Ordinary browser sessions.
    pub normal: TimeoutPolicy,
    /// "Remember me" browser sessions.
    pub remember: TimeoutPolicy,
    /// Administrators' browser sessions, "Remember me" or not (SPEC §3 `admin_*`).
    pub admin: TimeoutPolicy,
    /// API sessions (bearer token or JWT), whether or not "remember" was asked for.
    pub api: TimeoutPolicy,
}

impl Limits {
    /// The same limits for every class (examples, tests).
    pub fn uniform(policy: TimeoutPolicy) -> Self {
        Self {
            normal: policy.clone(),
            remember: policy.clone(),
            admin: policy.clone(),
            api: policy,
        }
    }

    /// The limits of `class`.
    pub fn of(&self, class: LimitClass) -> &TimeoutPolicy {
        match class {
            LimitClass::Normal => &self.normal,
            LimitClass::Remember => &self.remember,
            LimitClass::Admin => &self.admin,
            LimitClass::Api => &self.api,
        }
    }

    /// The limits of a session of this class ([`LimitClass::of`]).
    pub fn for_session(&self, session: SessionClass) -> &TimeoutPolicy {
        self.of(LimitClass::of(session))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every combination of the three facts.
    fn every_session() -> Vec<SessionClass> {
        let mut all = Vec::new();
        for kind in [SessionKind::Browser, SessionKind::Api] {
            for remember in [false, true] {
                for admin in [false, true] {
                    all.push(SessionClass {
                        kind,
                        remember,
                        admin,
                    });
                }
            }
        }
        all
    }

    #[test]
    fn every_session_has_exactly_one_class() {
        for session in every_session() {
            let rows: Vec<_> = CLASS_TABLE.iter().filter(|r| r.takes(session)).collect();
            assert_eq!(rows.len(), 1, "{session:?} is taken by {rows:?}");
        }
    }

    #[test]
    fn the_classes_are_the_products_rules() {
        let class = |kind, remember, admin| {
            LimitClass::of(SessionClass {
                kind,
                remember,
                admin,
            })
        };
        use LimitClass::*;
        use SessionKind::{Api as ApiKind, Browser};
        assert_eq!(class(Browser, false, false), Normal);
        assert_eq!(class(Browser, true, false), Remember);
        assert_eq!(class(Browser, false, true), Admin, "SPEC §3 admin_*");
        assert_eq!(
            class(Browser, true, true),
            Admin,
            "whatever Remember me says"
        );
        for remember in [false, true] {
            for admin in [false, true] {
                assert_eq!(
                    class(ApiKind, remember, admin),
                    Api,
                    "API limits for every client"
                );
            }
        }
    }

    #[test]
    fn each_class_reads_its_own_limits() {
        use std::time::Duration;
        let policy =
            |secs| TimeoutPolicy::new(Duration::from_secs(secs), Duration::ZERO, Duration::ZERO);
        let limits = Limits {
            normal: policy(1),
            remember: policy(2),
            admin: policy(3),
            api: policy(4),
        };
        for (class, secs) in [
            (LimitClass::Normal, 1),
            (LimitClass::Remember, 2),
            (LimitClass::Admin, 3),
            (LimitClass::Api, 4),
        ] {
            assert_eq!(limits.of(class).idle, Some(Duration::from_secs(secs)));
        }
    }
}
