//! Several server instances on one database (SPEC §9): activity on one extends the session on
//! all, and a session ended on one is refused by all within about a second.

mod common;

use common::*;
use serde_json::Value;
use std::time::{Duration, Instant};

db_tests!(
    two_instances_agree_on_activity_and_on_revocation,
    pages_render_while_other_servers_start_in_the_process,
);

async fn idle_left(app: &TestApp, client: &reqwest::Client) -> Option<i64> {
    let res = client.get(app.url("/api/v1/session")).send().await.unwrap();
    if res.status() != 200 {
        return None;
    }
    let body: Value = res.json().await.unwrap();
    body["seconds_until_idle_end"].as_i64()
}

async fn two_instances_agree_on_activity_and_on_revocation(db: TestDb) {
    let shared = db.share();
    let env = || {
        vec![
            ("AUTO_LOGOUT_IDLE_TIME", "3s".to_owned()),
            ("AUTO_LOGOUT_WARN_BEFORE", "1s".to_owned()),
        ]
    };
    let a = spawn_app_with(
        db,
        Spawn {
            env: env(),
            ..Spawn::default()
        },
    )
    .await;
    let b = spawn_app_with(
        shared,
        Spawn {
            env: env(),
            second_instance: true,
            ..Spawn::default()
        },
    )
    .await;
    let on_a = browser();
    let res = a.sign_in(&on_a, "alice", PASSWORD, "").await;
    let id = session_cookie(&res).unwrap();
    // Cookie jars are per host:port: B gets the same cookie by hand.
    let on_b = browser();
    let with_cookie =
        |req: reqwest::RequestBuilder| req.header("cookie", format!("auto_logout_session={id}"));

    // Activity on A every second for 5 s (longer than the 3 s idle limit) keeps it alive on B.
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        assert_eq!(a.post(&on_a, "/api/v1/session/extend").await.status(), 200);
        tokio::time::sleep(Duration::from_millis(1_000)).await;
    }
    let res = with_cookie(on_b.get(b.url("/api/v1/session")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "B sees A's activity");
    let body: Value = res.json().await.unwrap();
    assert!(body["seconds_until_idle_end"].as_i64().unwrap() >= 1);

    // Sign out on A; B refuses the session within about a second.
    assert_eq!(a.logout(&on_a).await.status(), 303);
    let ended = Instant::now();
    loop {
        let res = with_cookie(on_b.get(b.url("/api/v1/session")))
            .send()
            .await
            .unwrap();
        if res.status() == 401 {
            break;
        }
        assert!(
            ended.elapsed() < Duration::from_millis(1_000),
            "B still serves a session A ended"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "instance B refused the session {} ms after A ended it",
        ended.elapsed().as_millis()
    );
    assert_eq!(idle_left(&a, &on_a).await, None);
}

/// Starting a server must not stall pages another server in the same process is rendering
/// (leptos#4773: route-list generation raised a process-wide flag that left resources first
/// polled meanwhile pending forever; the routes are now generated once per process).
async fn pages_render_while_other_servers_start_in_the_process(db: TestDb) {
    let shared = db.share();
    let app = spawn_app(db).await;
    let (client, _) = app.device("alice", CHROME_UA).await;
    let renders = {
        let (client, url) = (client.clone(), app.url("/sessions"));
        tokio::spawn(async move {
            for _ in 0..40 {
                let page = tokio::time::timeout(Duration::from_secs(10), async {
                    client.get(&url).send().await.unwrap().text().await.unwrap()
                })
                .await
                .expect("the /sessions page rendered within 10 s");
                assert!(page.contains("This device"));
            }
        })
    };
    let mut others = Vec::new();
    for _ in 0..6 {
        others.push(spawn_joining(shared.share(), &[]).await);
    }
    renders.await.unwrap();
    for other in others {
        other.stop().await;
    }
}
