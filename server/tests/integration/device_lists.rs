//! Device lists are kept in memory between changes (`auto_logout::server::storage::listings`):
//! a change made on this instance is in the next list it serves, and one made on another
//! instance on the same database within moments.

use crate::common::*;
use std::time::Duration;

db_tests!(
    a_kept_list_follows_every_change_made_here,
    changes_made_on_another_instance_reach_the_list,
);

/// The caller's device list: (id, last seen) by id.
async fn devices(app: &TestApp, client: &reqwest::Client) -> Vec<(String, i64)> {
    let list = app.device_list(client).await;
    let mut devices: Vec<(String, i64)> = list
        .iter()
        .map(|d| {
            (
                d["id"].as_str().unwrap().to_owned(),
                d["last_seen_at"].as_i64().unwrap(),
            )
        })
        .collect();
    devices.sort();
    devices
}

fn ids(devices: &[(String, i64)]) -> Vec<&str> {
    devices.iter().map(|(id, _)| id.as_str()).collect()
}

fn sorted(mut ids: Vec<&str>) -> Vec<&str> {
    ids.sort_unstable();
    ids
}

async fn a_kept_list_follows_every_change_made_here(db: TestDb) {
    let app = spawn_app_with(
        db,
        Spawn {
            manual_clock_at: Some(1_800_000_000_000),
            ..Spawn::default()
        },
    )
    .await;
    let clock = app.clock.clone().unwrap();
    let (me, me_id) = app.device("alice", CHROME_UA).await;
    let (other, other_id) = app.device("alice", FIREFOX_UA).await;
    let first = devices(&app, &me).await;
    assert_eq!(ids(&first), sorted(vec![&me_id, &other_id]));
    assert_eq!(devices(&app, &me).await, first, "the same list again");

    // A sign-in in a browser, then one of an API client.
    let (_, third_id) = app.device("alice", IPHONE_UA).await;
    let listed = devices(&app, &me).await;
    assert_eq!(ids(&listed), sorted(vec![&me_id, &other_id, &third_id]));
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/auth/token"))
        .json(&serde_json::json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let listed = devices(&app, &me).await;
    assert_eq!(listed.len(), 4, "the API client is listed: {listed:?}");
    let api_id = ids(&listed)
        .into_iter()
        .find(|id| ![&me_id, &other_id, &third_id].contains(&&id.to_string()))
        .unwrap()
        .to_owned();

    // Activity of another device moves its "last seen" to the second.
    clock.advance(Duration::from_secs(30));
    let res = other.get(app.url("/home")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let last_seen = |list: &[(String, i64)]| list.iter().find(|(id, _)| *id == other_id).unwrap().1;
    let moved = devices(&app, &me).await;
    assert_eq!(last_seen(&moved), last_seen(&listed) + 30_000);

    // A device signed out from another one.
    let res = app
        .delete(&other, &format!("/api/v1/sessions/{third_id}"))
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        ids(&devices(&app, &me).await),
        sorted(vec![&me_id, &other_id, &api_id])
    );

    // A device that signs itself out.
    let res = app.logout(&other).await;
    assert!(res.status().is_redirection(), "{}", res.status());
    assert_eq!(
        ids(&devices(&app, &me).await),
        sorted(vec![&me_id, &api_id])
    );
}

async fn changes_made_on_another_instance_reach_the_list(db: TestDb) {
    let (a, b) = spawn_two_instances(db).await;
    let (on_a, a_id) = a.device("alice", CHROME_UA).await;
    assert_eq!(ids(&devices(&a, &on_a).await), vec![a_id.as_str()]);

    // A sign-in on B.
    let (on_b, b_id) = b.device("alice", FIREFOX_UA).await;
    assert!(
        eventually(
            || devices(&a, &on_a),
            |list| ids(list) == sorted(vec![&a_id, &b_id])
        )
        .await,
        "A lists the session signed in on B"
    );

    // A sign-out on B.
    let res = b.logout(&on_b).await;
    assert!(res.status().is_redirection(), "{}", res.status());
    assert!(
        eventually(
            || devices(&a, &on_a),
            |list| ids(list) == vec![a_id.as_str()]
        )
        .await,
        "A no longer lists the session signed out on B"
    );
}
