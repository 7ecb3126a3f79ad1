//! A default never stops start-up (SPEC §3): `idle_time = 30s` alone starts, and the unset
//! `warn_before` adapts so that the warning still shows before the end. SQLite and
//! PostgreSQL.

use crate::common::*;

db_tests!(a_short_idle_time_alone_starts_and_warns_before_the_end);

async fn a_short_idle_time_alone_starts_and_warns_before_the_end(db: TestDb) {
    let app = spawn_app_env(db, &[("AUTO_LOGOUT_IDLE_TIME", "30s")]).await;
    let client = app.signed_in().await;
    let status = app.status_json(&client).await;
    assert_eq!(status["seconds_until_idle_end"], 30, "{status}");
    let warn_before = status["warn_before"].as_u64().expect("warn_before");
    assert!(
        warn_before > 0 && warn_before < 30,
        "the warning shows before the idle limit: {status}"
    );
    assert_eq!(warn_before, 15, "half the shortest limit: {status}");
}
