//! Several server instances on one database (SPEC §9): activity on one extends the session on
//! all, and a session ended on one is refused by all within about a second; so are changes
//! made by the command line (another process). Caches stay valid until something changes, so
//! a tab reading its status costs no database work.

use crate::common::*;
use serde_json::Value;
use std::time::{Duration, Instant};

db_tests!(
    two_instances_agree_on_activity_and_on_revocation,
    pages_render_while_other_servers_start_in_the_process,
    the_command_line_reaches_a_running_server,
    an_idle_tab_costs_the_database_nothing,
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
/// polled meanwhile pending forever; the page routes are now listed without walking a router).
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

/// Waits until `client`'s status read on `app` is refused; how long that took. Fails after
/// `within`.
async fn refused_within(app: &TestApp, client: &reqwest::Client, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let res = client.get(app.url("/api/v1/session")).send().await.unwrap();
        if res.status() == 401 {
            return start.elapsed();
        }
        assert_eq!(res.status(), 200);
        assert!(
            start.elapsed() < within,
            "the server still serves the session after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `server session revoke`, `server user passwd` and `server user disable` run in another
/// process, with caches of their own; the running server refuses what they ended within about
/// a second (PostgreSQL announces the change, SQLite's log is read four times a second).
async fn the_command_line_reaches_a_running_server(db: TestDb) {
    let url = db.url.clone();
    let app = spawn_app(db).await;
    let cli = |args: &'static [&'static str], stdin: &'static str| {
        let url = url.clone();
        async move {
            tokio::task::spawn_blocking(move || run_cli(args, &url, stdin))
                .await
                .unwrap()
        }
    };

    let (revoked, id) = app.device("alice", CHROME_UA).await;
    let (kept, _) = app.device("alice", FIREFOX_UA).await;
    assert_eq!(status_of(&app, &revoked).await, 200, "warm the cache");
    let out = tokio::task::spawn_blocking({
        let url = url.clone();
        move || run_cli(&["session", "revoke", &id], &url, "")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let took = refused_within(&app, &revoked, Duration::from_millis(1_500)).await;
    println!(
        "a revocation by the command line was refused after {} ms",
        took.as_millis()
    );
    assert_eq!(
        status_of(&app, &kept).await,
        200,
        "the other session lives on"
    );

    assert!(cli(&["user", "disable", "alice"], "")
        .await
        .status
        .success());
    let took = refused_within(&app, &kept, Duration::from_millis(1_500)).await;
    println!(
        "a disable by the command line was refused after {} ms",
        took.as_millis()
    );
    assert!(cli(&["user", "enable", "alice"], "").await.status.success());

    let (client, _) = app.device("alice", CHROME_UA).await;
    assert_eq!(status_of(&app, &client).await, 200);
    let out = cli(&["user", "passwd", "alice"], "a new long password\n").await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    refused_within(&app, &client, Duration::from_millis(1_500)).await;
}

async fn status_of(app: &TestApp, client: &reqwest::Client) -> u16 {
    client
        .get(app.url("/api/v1/session"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Once a session is cached, reading its status touches the database no more: 200 status
/// reads spread over 20 s of a manual clock (ten times the countdown's 2 s schedule) make no
/// database statement through the gate, the store or the accounts.
async fn an_idle_tab_costs_the_database_nothing(db: TestDb) {
    let app = spawn_app_with(
        db,
        Spawn {
            manual_clock_at: Some(1_800_000_000_000),
            ..Spawn::default()
        },
    )
    .await;
    let (client, _) = app.device("alice", CHROME_UA).await;
    assert_eq!(status_of(&app, &client).await, 200, "warm the cache");
    let loads = app.state.engine.gate().loads();
    let clock = app.clock.as_ref().unwrap();
    for _ in 0..200 {
        clock.advance(Duration::from_millis(100));
        assert_eq!(status_of(&app, &client).await, 200);
    }
    assert_eq!(
        app.state.engine.gate().loads(),
        loads,
        "no session was read again"
    );
}
