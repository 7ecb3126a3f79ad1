//! A sign-in from a device its account never used is marked new (SPEC §4): on `/sessions`, in
//! `GET /api/v1/sessions` and in the `login` audit entry. A device is the browser, system and
//! type read from the user agent, per account; an account's first device is not marked.

use crate::common::*;
use auto_logout::server::audit::AuditFilter;

db_tests!(a_sign_in_from_a_device_the_account_never_used_is_marked_new);

async fn a_sign_in_from_a_device_the_account_never_used_is_marked_new(db: TestDb) {
    let app = spawn_app(db).await;
    app.add_user("bob").await;
    let (first, first_id) = app.device("alice", CHROME_UA).await;
    // The same browser after an update is the same device.
    let updated = CHROME_UA.replace("Chrome/131", "Chrome/132");
    let (_, updated_id) = app.device("alice", &updated).await;
    let (_, firefox_id) = app.device("alice", FIREFOX_UA).await;
    let (_, firefox_again_id) = app.device("alice", FIREFOX_UA).await;
    // Devices are per account: bob's first sign-in, from Firefox, is not new to him.
    let (bob, bob_id) = app.device("bob", FIREFOX_UA).await;

    let marks: Vec<(String, bool)> = app
        .device_list(&first)
        .await
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_owned(),
                s["new_device"].as_bool().unwrap(),
            )
        })
        .collect();
    let new = |id: &str| marks.iter().find(|(i, _)| i == id).unwrap().1;
    assert!(!new(&first_id), "the account's first device");
    assert!(!new(&updated_id), "an updated browser");
    assert!(new(&firefox_id), "the first sign-in from Firefox");
    assert!(!new(&firefox_again_id), "Firefox is known from then on");
    assert!(!app.device_list(&bob).await[0]["new_device"]
        .as_bool()
        .unwrap());
    assert_eq!(app.device_list(&bob).await[0]["id"], bob_id.as_str());

    let page = app.page(&first, "/sessions").await;
    assert_eq!(
        page.matches(r#"data-testid="new-device""#).count(),
        1,
        "{page}"
    );

    let logins = app
        .state
        .engine
        .audit()
        .list(&AuditFilter {
            username: Some("alice".into()),
            event: Some(auto_logout::AuditEvent::Login),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    let marked: Vec<_> = logins
        .iter()
        .filter(|e| e.detail.as_deref() == Some("new device"))
        .map(|e| e.session_hash.clone().unwrap())
        .collect();
    assert_eq!(marked, vec![firefox_id]);
}
