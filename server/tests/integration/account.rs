//! `/account` (SPEC §4): a person's display name and email, saved by a plain form post, the
//! greeting on `/home`, the errors that say what to change, and what the page hands the
//! browser for keeping drafts. Against the real server over HTTP, on SQLite and (with
//! `TEST_POSTGRES_URL`) PostgreSQL.

use crate::common::*;
use reqwest::Client;
use std::time::{Duration, Instant};

db_tests!(
    saving_the_profile_changes_the_greeting,
    a_bad_email_says_what_to_change_and_keeps_the_old_values,
    a_post_without_a_session_goes_to_sign_in_and_changes_nothing,
    a_cross_site_post_changes_nothing,
    emptying_a_field_clears_it,
    another_instance_greets_by_the_new_name_within_a_second,
    the_draft_key_is_per_account_and_only_for_the_signed_in,
);

/// Posts the account form as a same-origin page of `app` would.
async fn post_profile(
    app: &TestApp,
    client: &Client,
    display_name: &str,
    email: &str,
) -> reqwest::Response {
    client
        .post(app.url("/account"))
        .header("origin", &app.address)
        .form(&[("display_name", display_name), ("email", email)])
        .send()
        .await
        .expect("POST /account")
}

async fn saving_the_profile_changes_the_greeting(db: TestDb) {
    let app = spawn_app(db).await;
    let client = app.signed_in().await;
    assert_eq!(
        greeting_in(&app.page(&client, "/home").await),
        "Hello, alice!"
    );

    let res = post_profile(&app, &client, "  Alice Liddell ", "alice@example.org").await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account?saved=1");

    let page = app.page(&client, "/account?saved=1").await;
    assert!(page.contains("data-testid=\"account-saved\""), "{page}");
    assert!(page.contains("value=\"Alice Liddell\""), "trimmed: {page}");
    assert!(page.contains("value=\"alice@example.org\""));
    let home = app.page(&client, "/home").await;
    assert_eq!(greeting_in(&home), "Hello, Alice Liddell!");
    let user = app.user("alice").await;
    assert_eq!(user.display_name.as_deref(), Some("Alice Liddell"));
    assert_eq!(user.email.as_deref(), Some("alice@example.org"));
}

async fn a_bad_email_says_what_to_change_and_keeps_the_old_values(db: TestDb) {
    let app = spawn_app(db).await;
    let client = app.signed_in().await;
    post_profile(&app, &client, "Alice", "alice@example.org").await;
    for (name, email, code) in [
        ("Alice", "alice at example", "email"),
        ("Alice", "Alice <alice@example.org>", "email"),
        ("two\nlines", "alice@example.org", "name-characters"),
        (&"x".repeat(65), "", "name-length"),
        (
            "Alice",
            &format!("{}@example.org", "a".repeat(300)),
            "email-length",
        ),
    ] {
        let res = post_profile(&app, &client, name, email).await;
        assert_eq!(
            location(&res),
            format!("/account?error={code}"),
            "{name:?} {email:?}"
        );
    }
    let page = app.page(&client, "/account?error=email").await;
    assert!(page.contains("data-testid=\"account-error\""), "{page}");
    assert!(page.contains("should look like name@example.org"), "{page}");
    let user = app.user("alice").await;
    assert_eq!(user.display_name.as_deref(), Some("Alice"));
    assert_eq!(user.email.as_deref(), Some("alice@example.org"));
}

async fn a_post_without_a_session_goes_to_sign_in_and_changes_nothing(db: TestDb) {
    let app = spawn_app(db).await;
    let res = post_profile(&app, &browser(), "Mallory", "m@example.org").await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/sign-in?next=%2Faccount");
    assert_eq!(app.user("alice").await.display_name, None);
    // The page itself sends anonymous visitors to sign in, and back here afterwards.
    let res = browser().get(app.url("/account")).send().await.unwrap();
    assert_eq!(location(&res), "/sign-in?next=%2Faccount");

    // A session that ended (signed out) is no session: sign in again, come back here.
    let (client, id) = app.signed_in_with_cookie().await;
    app.logout(&client).await;
    let res = browser()
        .post(app.url("/account"))
        .header("origin", &app.address)
        .header("cookie", format!("auto_logout_session={id}"))
        .form(&[("display_name", "Replayed"), ("email", "")])
        .send()
        .await
        .unwrap();
    assert!(
        location(&res).starts_with("/sign-in?next=%2Faccount"),
        "{}",
        location(&res)
    );
    assert_eq!(app.user("alice").await.display_name, None);
}

async fn a_cross_site_post_changes_nothing(db: TestDb) {
    let app = spawn_app(db).await;
    let client = app.signed_in().await;
    let res = client
        .post(app.url("/account"))
        .header("origin", "https://evil.example")
        .form(&[("display_name", "Pwned"), ("email", "evil@example.org")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(app.user("alice").await.display_name, None);
}

async fn emptying_a_field_clears_it(db: TestDb) {
    let app = spawn_app(db).await;
    let client = app.signed_in().await;
    post_profile(&app, &client, "Alice", "alice@example.org").await;
    let res = post_profile(&app, &client, "", "  ").await;
    assert_eq!(location(&res), "/account?saved=1");
    let user = app.user("alice").await;
    assert_eq!((user.display_name, user.email), (None, None));
    assert_eq!(
        greeting_in(&app.page(&client, "/home").await),
        "Hello, alice!"
    );
}

/// Every instance drops its cached copy of the account when the profile changes (the change
/// log): the greeting on another instance follows within a second.
async fn another_instance_greets_by_the_new_name_within_a_second(db: TestDb) {
    let shared = db.share();
    let first = spawn_app(db).await;
    let second = spawn_joining(shared, &[]).await;
    let (client, id) = first.signed_in_with_cookie().await;
    assert_eq!(greeting(&second, &id).await, "Hello, alice!");
    post_profile(&first, &client, "Alice Liddell", "").await;
    let start = Instant::now();
    while greeting(&second, &id).await != "Hello, Alice Liddell!" {
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "the second instance still greets by the old name"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    second.stop().await;
}

/// The greeting on `/home` of `app` for the session with cookie value `id`.
async fn greeting(app: &TestApp, id: &str) -> String {
    greeting_in(&app.get_with_cookie("/home", id).await.text().await.unwrap())
}

/// The text of the greeting (`[data-testid=greeting]`) in a page, without markup.
fn greeting_in(page: &str) -> String {
    let start = page
        .find("data-testid=\"greeting\">")
        .unwrap_or_else(|| panic!("no greeting in {page}"));
    let rest = &page[start..];
    let inner = &rest[rest.find('>').unwrap() + 1..rest.find("</h1>").unwrap()];
    let mut text = String::new();
    let mut in_tag = false;
    for c in inner.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

/// The page carries the draft key of the signed-in account, and only theirs: another account
/// gets another one, and an anonymous page none.
async fn the_draft_key_is_per_account_and_only_for_the_signed_in(db: TestDb) {
    let app = spawn_app(db).await;
    app.add_user("bob").await;
    let alice = app.user("alice").await.drafts;
    let bob = app.user("bob").await.drafts;
    assert_ne!(alice.scope, bob.scope);
    assert_ne!(alice.key, bob.key);
    let page = app.page(&app.signed_in().await, "/account").await;
    assert!(
        page.contains(&alice.key),
        "the signed-in page carries the key"
    );
    assert!(!page.contains(&bob.key));
    let anonymous = app.page(&browser(), "/sign-in").await;
    assert!(!anonymous.contains(&alice.key) && !anonymous.contains(&alice.scope));
}
