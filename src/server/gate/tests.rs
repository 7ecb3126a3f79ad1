//! The gate's rules with a hand-moved clock on a temporary SQLite database.

use super::*;
use crate::server::{db::Database, Clock, ManualClock};

const T0: i64 = 1_800_000_000_000;
const UA: &str = "Mozilla/5.0 (test)";

struct Fixture {
    gate: SessionGate,
    sessions: Sessions,
    clock: ManualClock,
    db: Database,
    _dir: tempfile::TempDir,
}

fn limits(idle_secs: u64, absolute_secs: u64) -> Limits {
    let policy = TimeoutPolicy::new(
        Duration::from_secs(idle_secs),
        Duration::from_secs(absolute_secs),
        Duration::from_secs(10),
    );
    Limits {
        // Administrators: half the idle limit.
        admin: TimeoutPolicy::new(
            Duration::from_secs(idle_secs / 2),
            Duration::from_secs(absolute_secs),
            Duration::from_secs(10),
        ),
        ..Limits::uniform(policy)
    }
}

/// A gate with a 60 s idle and 1 h absolute limit, and one live session `s1` of user 1,
/// signed in at `T0` from [`UA`].
async fn fixture(bind_user_agent: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::connect(&format!(
        "sqlite://{}/gate.db?mode=rwc",
        dir.path().display()
    ))
    .await
    .unwrap();
    db.migrate().await.unwrap();
    sqlx::query(
        "INSERT INTO users (id, username, password_hash, is_admin, created_at) \
         VALUES (1, 'ada', 'x', 0, $1)",
    )
    .bind(T0)
    .execute(db.pool())
    .await
    .unwrap();
    let fixture = {
        let clock = ManualClock::new(UnixMillis(T0));
        let sessions = Sessions::new(db.clone());
        let gate = SessionGate::new(
            sessions.clone(),
            limits(60, 3600),
            bind_user_agent,
            Arc::new(clock.clone()),
        );
        Fixture {
            gate,
            sessions,
            clock,
            db,
            _dir: dir,
        }
    };
    fixture.insert_session("s1").await;
    fixture
}

impl Fixture {
    async fn insert_session(&self, id: &str) {
        let now = self.clock.now().as_millis();
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, kind, data, remember, created_at, \
             last_seen_at, expires_at, ip, last_ip, user_agent) \
             VALUES ($1, 1, 'browser', '{}', 0, $2, $2, $3, '127.0.0.1', '127.0.0.1', $4)",
        )
        .bind(id)
        .bind(now)
        .bind(now + 86_400_000)
        .bind(UA)
        .execute(self.db.pool())
        .await
        .unwrap();
    }

    fn at(&self, secs: f64) {
        self.clock.set(UnixMillis(T0 + (secs * 1000.0) as i64));
    }

    async fn check(&self, activity: Activity) -> Verdict {
        self.check_as(activity, UA).await
    }

    async fn check_as(&self, activity: Activity, user_agent: &str) -> Verdict {
        let client = ClientInfo {
            ip: Some([127, 0, 0, 1].into()),
            user_agent: Some(user_agent.into()),
        };
        self.gate.check("s1", activity, &client).await.unwrap()
    }

    /// A change follower over this database, reaching the gate's cache.
    async fn follower(&self) -> crate::server::ChangeFollower {
        let clock: crate::server::SharedClock = Arc::new(self.clock.clone());
        let caches = crate::server::Caches::new(
            self.gate.clone(),
            crate::server::SqlSessionStore::new(self.db.clone(), clock.clone()),
            crate::server::Users::new(
                self.db.clone(),
                clock,
                crate::server::SecretKey::from_bytes(vec![7; 32]),
                crate::server::HashLimiter::new(1, 1, Duration::from_secs(1)),
            ),
        );
        crate::server::ChangeFollower::start(self.db.clone(), caches)
            .await
            .unwrap()
    }

    /// How many times the gate read a session from the database.
    async fn db_reads(&self) -> u64 {
        self.gate.loads()
    }

    async fn row(&self) -> SessionRow {
        self.sessions.find("s1").await.unwrap().unwrap()
    }
}

fn is_active(verdict: &Verdict) -> bool {
    matches!(verdict, Verdict::Active(_))
}

#[tokio::test]
async fn activity_moves_the_idle_deadline_and_idleness_ends_the_session_at_its_limit() {
    let f = fixture(false).await;
    f.at(30.0);
    let Verdict::Active(active) = f.check(Activity::Active).await else {
        panic!("live at 30 s");
    };
    assert_eq!(active.status.seconds_until_idle_end, Some(60));
    f.at(85.0);
    assert!(is_active(&f.check(Activity::Passive).await), "idle 55 s");
    f.at(95.0);
    assert_eq!(
        f.check(Activity::Active).await,
        Verdict::Ended(EndReason::IdleTimeout)
    );
    let row = f.row().await;
    assert_eq!(
        row.ended_at,
        Some(T0 + 90_000),
        "ended when the limit passed"
    );
    assert_eq!(row.end_reason.as_deref(), Some("idle_timeout"));
}

#[tokio::test]
async fn passive_checks_never_move_the_idle_deadline() {
    let f = fixture(false).await;
    for secs in [10.0, 30.0, 50.0, 59.9] {
        f.at(secs);
        assert!(is_active(&f.check(Activity::Passive).await));
    }
    f.at(60.0);
    assert_eq!(
        f.check(Activity::Passive).await,
        Verdict::Ended(EndReason::IdleTimeout)
    );
    assert_eq!(f.gate.activity_writes(), 0);
}

#[tokio::test]
async fn the_absolute_limit_ends_an_active_session() {
    let f = fixture(false).await;
    let mut secs = 0.0;
    while secs < 3600.0 {
        f.at(secs);
        assert!(is_active(&f.check(Activity::Active).await), "{secs} s");
        secs += 50.0;
    }
    f.at(3600.0);
    assert_eq!(
        f.check(Activity::Active).await,
        Verdict::Ended(EndReason::AbsoluteTimeout)
    );
    assert_eq!(f.row().await.ended_at, Some(T0 + 3_600_000));
}

#[tokio::test]
async fn activity_writes_are_coalesced_to_one_per_window() {
    let f = fixture(false).await;
    // 1,000 active requests over 10 s; the window is 1% of the idle limit (600 ms).
    for i in 0..1000 {
        f.at(f64::from(i) * 0.01);
        assert!(is_active(&f.check(Activity::Active).await));
    }
    let writes = f.gate.activity_writes();
    assert!((15..=18).contains(&writes), "{writes} writes");
    assert_eq!(write_window(&limits(60, 3600).normal), 600);
    assert_eq!(write_window(&limits(3600, 0).normal), 5_000, "at most 5 s");
}

#[tokio::test]
async fn an_end_elsewhere_is_served_from_the_cache_until_the_change_log_says_so() {
    let f = fixture(false).await;
    let follower = f.follower().await;
    assert!(is_active(&f.check(Activity::Passive).await));
    // Another instance (or the command line) ends it in the database.
    f.sessions
        .end(
            "s1",
            Ending {
                reason: EndReason::Revoked,
                at: f.clock.now(),
                actor_id: Some(1),
                detail: None,
                client: ClientInfo::default(),
            },
        )
        .await
        .unwrap();
    f.at(30.0);
    let reads = f.db_reads().await;
    assert!(
        is_active(&f.check(Activity::Passive).await),
        "served from the cache, however old the entry"
    );
    assert_eq!(f.db_reads().await, reads, "without reading the database");
    assert_eq!(follower.read_log_once().await.unwrap(), 1);
    assert_eq!(
        f.check(Activity::Passive).await,
        Verdict::Ended(EndReason::Revoked)
    );
    assert_eq!(follower.read_log_once().await.unwrap(), 0, "applied once");
}

#[tokio::test]
async fn an_account_changed_elsewhere_is_read_again() {
    let f = fixture(false).await;
    let follower = f.follower().await;
    assert!(is_active(&f.check(Activity::Passive).await));
    sqlx::query("UPDATE users SET is_admin = 1 WHERE id = 1")
        .execute(f.db.pool())
        .await
        .unwrap();
    // Administrators have half the idle limit: 30 s.
    f.at(40.0);
    assert!(
        is_active(&f.check(Activity::Passive).await),
        "the cache still says: not an administrator"
    );
    assert_eq!(follower.read_log_once().await.unwrap(), 1);
    assert_eq!(
        f.check(Activity::Passive).await,
        Verdict::Ended(EndReason::IdleTimeout)
    );
}

#[tokio::test]
async fn a_cached_session_is_read_again_before_it_is_ended() {
    let f = fixture(false).await;
    assert!(is_active(&f.check(Activity::Passive).await));
    // Another instance saw activity at 50 s; this cache never heard of it.
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = 's1'")
        .bind(T0 + 50_000)
        .execute(f.db.pool())
        .await
        .unwrap();
    f.at(70.0);
    assert!(
        is_active(&f.check(Activity::Passive).await),
        "idle 20 s, not 70 s"
    );
    assert_eq!(f.row().await.ended_at, None);
}

#[tokio::test]
async fn announced_activity_moves_the_cached_idle_deadline() {
    let f = fixture(false).await;
    let Verdict::Active(before) = f.check(Activity::Passive).await else {
        panic!("live")
    };
    f.gate.note_activity("s1", UnixMillis(T0 + 30_000));
    f.gate.note_activity("s1", UnixMillis(T0 + 10_000));
    f.at(40.0);
    let Verdict::Active(after) = f.check(Activity::Passive).await else {
        panic!("live")
    };
    assert_eq!(
        after.deadlines.idle_end,
        before
            .deadlines
            .idle_end
            .map(|d| UnixMillis(d.as_millis() + 30_000)),
        "the newest activity counts, an older one changes nothing"
    );
}

#[tokio::test]
async fn an_end_here_is_refused_at_once_and_only_once_recorded() {
    let f = fixture(false).await;
    assert!(is_active(&f.check(Activity::Active).await));
    let ending = || Ending {
        reason: EndReason::Logout,
        at: f.clock.now(),
        actor_id: None,
        detail: None,
        client: ClientInfo::default(),
    };
    assert!(f.gate.end_session("s1", ending()).await.unwrap());
    assert_eq!(
        f.check(Activity::Active).await,
        Verdict::Ended(EndReason::Logout)
    );
    f.at(10.0);
    assert!(
        !f.gate.end_session("s1", ending()).await.unwrap(),
        "already ended"
    );
    assert_eq!(f.row().await.ended_at, Some(T0), "never rewritten");
}

#[tokio::test]
async fn a_pending_end_is_never_cached_and_a_failed_one_leaves_no_trace() {
    let f = fixture(false).await;
    assert!(is_active(&f.check(Activity::Passive).await));
    assert_eq!(f.gate.cached_sessions(), 1);
    let guard = f.gate.begin_ending(&["s1".to_owned()], EndReason::Revoked);
    assert!(
        is_active(&f.check(Activity::Passive).await),
        "the database still says live"
    );
    assert_eq!(f.gate.cached_sessions(), 0, "but it is not cached as live");
    guard.failed();
    assert!(is_active(&f.check(Activity::Passive).await));
    assert_eq!(
        f.gate.cached_sessions(),
        1,
        "cached again after the failure"
    );
    let guard = f.gate.begin_ending(&["s1".to_owned()], EndReason::Revoked);
    guard.committed();
    assert_eq!(
        f.check(Activity::Passive).await,
        Verdict::Ended(EndReason::Revoked),
        "a committed mark refuses even before the row says so"
    );
}

#[tokio::test]
async fn another_user_agent_suspends_the_session() {
    let f = fixture(true).await;
    assert!(is_active(&f.check(Activity::Active).await));
    assert_eq!(
        f.check_as(Activity::Passive, "curl/8.0").await,
        Verdict::Ended(EndReason::Suspended)
    );
    assert!(f.row().await.detail.is_some_and(|d| d.contains("curl/8.0")));
    assert_eq!(
        f.check(Activity::Active).await,
        Verdict::Ended(EndReason::Suspended),
        "final, also for the original agent"
    );
}

#[tokio::test]
async fn the_sweep_ends_unobserved_sessions_when_their_limit_passed() {
    let f = fixture(false).await;
    f.at(20.0);
    f.insert_session("s2").await;
    f.at(7200.0);
    assert_eq!(f.gate.sweep_once().await.unwrap(), 2);
    assert_eq!(f.row().await.ended_at, Some(T0 + 60_000));
    let s2 = f.sessions.find("s2").await.unwrap().unwrap();
    assert_eq!(s2.ended_at, Some(T0 + 80_000));
    assert_eq!(s2.end_reason.as_deref(), Some("idle_timeout"));
    assert_eq!(f.gate.sweep_once().await.unwrap(), 0, "nothing left to end");
}

#[tokio::test]
async fn one_sweep_ends_a_mass_expiry_with_one_audit_entry_each() {
    let f = fixture(false).await;
    // 2,500 more sessions: several read batches and many write batches.
    let many = 2 * super::sweep::SWEEP_READ_BATCH + 499;
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
         INSERT INTO sessions (id_hash, user_id, kind, data, remember, created_at, last_seen_at, \
         expires_at, ip, last_ip, user_agent) \
         SELECT 'mass' || i, 1, 'browser', '{}', 0, $2, $2, $3, NULL, NULL, NULL FROM n",
    )
    .bind(i64::try_from(many).unwrap())
    .bind(T0)
    .bind(T0 + 86_400_000)
    .execute(f.db.pool())
    .await
    .unwrap();
    f.at(7200.0);
    assert_eq!(f.gate.sweep_once().await.unwrap(), many + 1);
    let (live, audited): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL), \
                (SELECT COUNT(*) FROM audit_log WHERE event = 'idle_timeout')",
    )
    .fetch_one(f.db.pool())
    .await
    .unwrap();
    assert_eq!((live, audited), (0, i64::try_from(many + 1).unwrap()));
    assert_eq!(f.gate.sweep_once().await.unwrap(), 0);
}

#[tokio::test]
async fn the_sweep_counts_activity_only_the_cache_has_seen() {
    let f = fixture(false).await;
    // Activity at 0.3 s is inside the write window: cached, not written.
    f.at(0.3);
    assert!(is_active(&f.check(Activity::Active).await));
    assert_eq!(f.row().await.last_seen_at, T0);
    f.at(60.1);
    assert_eq!(f.gate.sweep_once().await.unwrap(), 0, "idle only 59.8 s");
    f.at(60.3);
    assert_eq!(f.gate.sweep_once().await.unwrap(), 1);
    assert_eq!(f.row().await.ended_at, Some(T0 + 60_300));
}

#[tokio::test]
async fn owners_list_and_revoke_only_their_own_live_sessions() {
    let f = fixture(false).await;
    f.insert_session("s2").await;
    let devices = f.gate.devices_of(1, Some("s1")).await.unwrap();
    assert_eq!(devices.len(), 2);
    assert!(devices.iter().any(|d| d.id == "s1" && d.current));
    let client = ClientInfo::default();
    assert_eq!(
        f.gate
            .revoke(1, &["s2".into(), "nope".into()], 1, &client)
            .await
            .unwrap(),
        RevokeOutcome::NotFound,
        "all or nothing"
    );
    assert_eq!(
        f.gate.revoke(1, &[], 1, &client).await.unwrap(),
        RevokeOutcome::NothingNamed
    );
    assert_eq!(
        f.gate.revoke(2, &["s2".into()], 2, &client).await.unwrap(),
        RevokeOutcome::NotFound,
        "another user's session"
    );
    assert_eq!(
        f.gate
            .revoke_all_except(1, Some("s1"), 1, &client)
            .await
            .unwrap(),
        1
    );
    assert_eq!(f.gate.password_changed(1).await.unwrap(), 1);
    let row = f.row().await;
    assert_eq!(row.end_reason.as_deref(), Some("revoked"));
    assert_eq!(row.detail.as_deref(), Some("password changed"));
    assert!(f.gate.devices_of(1, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn administrators_get_their_own_limits_in_checks_and_the_sweep() {
    let f = fixture(false).await;
    sqlx::query("UPDATE users SET is_admin = 1 WHERE id = 1")
        .execute(f.db.pool())
        .await
        .unwrap();
    let Verdict::Active(active) = f.check(Activity::Passive).await else {
        panic!("live");
    };
    assert_eq!(
        active.status.seconds_until_idle_end,
        Some(30),
        "the admin idle limit"
    );
    f.at(31.0);
    assert_eq!(
        f.check(Activity::Passive).await,
        Verdict::Ended(EndReason::IdleTimeout)
    );
    assert_eq!(f.row().await.ended_at, Some(T0 + 30_000));
    // The sweep, too: an administrator's unobserved session ends at 30 s, not 60.
    f.insert_session("s2").await;
    f.at(62.0);
    assert_eq!(f.gate.sweep_once().await.unwrap(), 1);
    let s2 = f.sessions.find("s2").await.unwrap().unwrap();
    assert_eq!(s2.ended_at, Some(T0 + 61_000));
}

#[tokio::test]
async fn every_class_of_the_table_ends_at_its_own_limit_in_checks_and_the_sweep() {
    let f = fixture(false).await;
    let idle = |secs| TimeoutPolicy::new(Duration::from_secs(secs), Duration::ZERO, Duration::ZERO);
    let limits = Limits {
        normal: idle(10),
        remember: idle(20),
        admin: idle(30),
        api: idle(40),
    };
    let gate = SessionGate::new(
        f.sessions.clone(),
        limits.clone(),
        false,
        Arc::new(f.clock.clone()),
    );
    sqlx::query(
        "INSERT INTO users (id, username, password_hash, is_admin, created_at) \
         VALUES (2, 'grace', 'x', 1, $1)",
    )
    .bind(T0)
    .execute(f.db.pool())
    .await
    .unwrap();
    // Every combination of kind, "Remember me" and administrator: one session checked on
    // requests, one left to the sweep.
    let mut cases = Vec::new();
    for kind in [SessionKind::Browser, SessionKind::Api] {
        for remember in [false, true] {
            for admin in [false, true] {
                let class = SessionClass {
                    kind,
                    remember,
                    admin,
                };
                let name = format!("{}-{remember}-{admin}", kind.as_str());
                for prefix in ["checked", "swept"] {
                    sqlx::query(
                        "INSERT INTO sessions (id_hash, user_id, kind, data, remember, \
                         created_at, last_seen_at, expires_at, ip, last_ip, user_agent) \
                         VALUES ($1, $2, $3, '{}', $4, $5, $5, $6, '127.0.0.1', '127.0.0.1', $7)",
                    )
                    .bind(format!("{prefix}-{name}"))
                    .bind(if admin { 2_i64 } else { 1 })
                    .bind(kind.as_str())
                    .bind(i64::from(remember))
                    .bind(T0)
                    .bind(T0 + 86_400_000)
                    .bind(UA)
                    .execute(f.db.pool())
                    .await
                    .unwrap();
                }
                let limit = limits.for_session(class).idle.unwrap().as_secs() as f64;
                cases.push((name, limit));
            }
        }
    }
    let client = ClientInfo {
        ip: Some([127, 0, 0, 1].into()),
        user_agent: Some(UA.into()),
    };
    for t in [9.5, 10.5, 19.5, 20.5, 29.5, 30.5, 39.5, 40.5] {
        f.at(t);
        gate.sweep_once().await.unwrap();
        for (name, limit) in &cases {
            let verdict = gate
                .check(&format!("checked-{name}"), Activity::Passive, &client)
                .await
                .unwrap();
            assert_eq!(is_active(&verdict), t < *limit, "{name} checked at {t} s");
            let swept = f
                .sessions
                .find(&format!("swept-{name}"))
                .await
                .unwrap()
                .unwrap();
            let expected = (t > *limit).then_some(T0 + (*limit as i64) * 1000);
            assert_eq!(swept.ended_at, expected, "{name} swept at {t} s");
        }
    }
}
