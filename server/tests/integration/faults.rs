//! Ending is final also under faults (SPEC §6): an end the database cannot record fails with
//! 503 and leaves the session exactly as it was; a database that goes away is answered with
//! 503, never with a signed-in page for a session that ended; when it comes back, the server
//! recovers without a restart.

use crate::common::*;
use auto_logout::server::{db::DbKind, secret::hash_secret};
use std::time::Duration;

db_tests!(
    a_logout_the_database_refuses_changes_nothing,
    a_revoke_the_database_refuses_changes_nothing,
    the_database_going_away_and_coming_back,
);

/// Makes every audit insert of `event` fail inside the database (a fault in the middle of the
/// end's transaction, after its UPDATE).
async fn inject_audit_fault(app: &TestApp, event: &str) {
    let pool = app.state.engine.database().pool();
    match app.state.engine.database().kind() {
        DbKind::Sqlite => {
            sqlx::query(&format!(
                "CREATE TRIGGER injected_fault BEFORE INSERT ON audit_log WHEN NEW.event = '{event}' \
                 BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
            ))
            .execute(pool)
            .await
            .unwrap();
        }
        DbKind::Postgres => {
            sqlx::query(&format!(
                "CREATE FUNCTION injected_fault() RETURNS trigger AS $$ BEGIN \
                 IF NEW.event = '{event}' THEN RAISE EXCEPTION 'injected fault'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql"
            ))
            .execute(pool)
            .await
            .unwrap();
            sqlx::query(
                "CREATE TRIGGER injected_fault BEFORE INSERT ON audit_log \
                 FOR EACH ROW EXECUTE FUNCTION injected_fault()",
            )
            .execute(pool)
            .await
            .unwrap();
        }
    }
}

async fn clear_audit_fault(app: &TestApp) {
    let pool = app.state.engine.database().pool();
    sqlx::query(match app.state.engine.database().kind() {
        DbKind::Sqlite => "DROP TRIGGER injected_fault",
        DbKind::Postgres => "DROP TRIGGER injected_fault ON audit_log",
    })
    .execute(pool)
    .await
    .unwrap();
}

async fn a_logout_the_database_refuses_changes_nothing(db: TestDb) {
    let app = spawn_app(db).await;
    let (client, cookie) = app.signed_in_with_cookie().await;
    let id = hash_secret(&cookie);
    inject_audit_fault(&app, "logout").await;
    let res = app.logout(&client).await;
    assert_eq!(res.status(), 503, "the end could not be recorded");
    assert!(res.headers().contains_key("retry-after"));
    assert!(
        set_cookies(&res).is_empty(),
        "no cookie removed, no sign-out notice: {:?}",
        set_cookies(&res)
    );
    let html = res
        .headers()
        .get("content-type")
        .is_some_and(|v| v.to_str().unwrap().starts_with("text/html"));
    assert!(html, "a form post gets a page, not JSON");
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("temporarily unavailable"));
    assert!(app.session_row(&id).await.ended_at.is_none(), "rolled back");
    // Still signed in here, and long after any in-memory mark would have expired.
    assert_eq!(
        client.get(app.url("/home")).send().await.unwrap().status(),
        200
    );
    clear_audit_fault(&app).await;
    let res = app.logout(&client).await;
    assert_eq!(res.status(), 303);
    assert!(app.session_row(&id).await.ended_at.is_some());
    let res = app.get_with_cookie("/home", &cookie).await;
    assert_eq!(res.status(), 303);
}

async fn a_revoke_the_database_refuses_changes_nothing(db: TestDb) {
    let app = spawn_app(db).await;
    let (phone, phone_id) = app.device("alice", CHROME_UA).await;
    let laptop = app.signed_in().await;
    inject_audit_fault(&app, "revoked").await;
    let res = app
        .delete(&laptop, &format!("/api/v1/sessions/{phone_id}"))
        .await;
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "unavailable");
    assert!(app.session_row(&phone_id).await.ended_at.is_none());
    assert_eq!(
        phone.get(app.url("/home")).send().await.unwrap().status(),
        200
    );
    clear_audit_fault(&app).await;
    let res = app
        .delete(&laptop, &format!("/api/v1/sessions/{phone_id}"))
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        phone.get(app.url("/home")).send().await.unwrap().status(),
        303
    );
}

/// Takes the database away: SQLite locked exclusively by another connection (no write gets
/// through), PostgreSQL refusing connections with every server connection terminated
/// (`pg_terminate_backend`). Returns what undoes it.
async fn take_database_away(app: &TestApp, url: &str) -> Box<dyn std::any::Any + Send> {
    match app.state.engine.database().kind() {
        DbKind::Sqlite => {
            use sqlx::Connection;
            // In WAL mode an exclusive lock keeps every writer out (reads still see the last
            // committed state): every end, sign-in and activity write fails after the busy
            // timeout.
            let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
            sqlx::query("PRAGMA busy_timeout = 10000")
                .execute(&mut conn)
                .await
                .unwrap();
            sqlx::query("BEGIN EXCLUSIVE")
                .execute(&mut conn)
                .await
                .unwrap();
            sqlx::query("UPDATE users SET created_at = created_at")
                .execute(&mut conn)
                .await
                .unwrap();
            Box::new(conn)
        }
        DbKind::Postgres => {
            let name = url.rsplit('/').next().unwrap().to_owned();
            let admin = admin_pool().await;
            sqlx::query(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
                .execute(admin.pool())
                .await
                .unwrap();
            sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
            )
            .bind(&name)
            .execute(admin.pool())
            .await
            .unwrap();
            Box::new((admin, name))
        }
    }
}

async fn bring_database_back(away: Box<dyn std::any::Any + Send>) {
    if let Ok(conn) = away.downcast::<sqlx::AnyConnection>() {
        use sqlx::Connection;
        conn.close().await.unwrap();
    }
}

async fn bring_postgres_back(away: Box<dyn std::any::Any + Send>) {
    if let Ok(pair) = away.downcast::<(auto_logout::server::Database, String)>() {
        let (admin, name) = *pair;
        sqlx::query(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
            .execute(admin.pool())
            .await
            .unwrap();
        admin.close().await;
    }
}

async fn admin_pool() -> auto_logout::server::Database {
    let url = std::env::var("TEST_POSTGRES_URL").expect("PostgreSQL tests have the admin URL");
    auto_logout::server::Database::connect(&url).await.unwrap()
}

async fn the_database_going_away_and_coming_back(db: TestDb) {
    let url = db.url.clone();
    let app = spawn_app(db).await;
    let live = app.signed_in().await;
    let (ended, ended_cookie) = app.signed_in_with_cookie().await;
    assert_eq!(app.logout(&ended).await.status(), 303);
    let kind = app.state.engine.database().kind();
    let away = take_database_away(&app, &url).await;
    // Requests keep arriving: none is answered 5xx other than a deliberate 503, and the ended
    // session is never served as signed in.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let res = app.get_with_cookie("/home", &ended_cookie).await;
        statuses.push(res.status().as_u16());
        let res = live.get(app.url("/home")).send().await.unwrap();
        statuses.push(res.status().as_u16());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    for (i, status) in statuses.iter().enumerate() {
        assert!(matches!(status, 200 | 303 | 503), "{statuses:?}");
        if i % 2 == 0 {
            assert_ne!(
                *status, 200,
                "the ended session served as signed in: {statuses:?}"
            );
        }
    }
    if kind == DbKind::Postgres {
        assert!(
            statuses.contains(&503),
            "PostgreSQL gone must show: {statuses:?}"
        );
    }
    // A sign-out while the database is away fails honestly (SQLite: locked; PostgreSQL: gone).
    let res = app.logout(&live).await;
    assert_eq!(res.status(), 503);
    match kind {
        DbKind::Sqlite => bring_database_back(away).await,
        DbKind::Postgres => bring_postgres_back(away).await,
    }
    // Back without a restart: the live session works, the ended one stays ended.
    let mut recovered = false;
    for _ in 0..50 {
        if live.get(app.url("/home")).send().await.unwrap().status() == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(recovered, "the service recovers once the database is back");
    let res = app.get_with_cookie("/home", &ended_cookie).await;
    assert_eq!(res.status(), 303);
    assert_eq!(app.logout(&live).await.status(), 303);
}
