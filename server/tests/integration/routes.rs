//! The route table (`web::routes`) against the running server: every page it declares is
//! guarded as declared, for anonymous visitors, people signed in and administrators, and every
//! JSON path it declares answers JSON.

use crate::common::*;
use server::web::routes::{Access, Activity, Matching, Shape, ROUTES};

/// The exact paths of the table with this shape (probes and assets aside: they may be absent).
fn exact(shape: Shape) -> impl Iterator<Item = (&'static str, Access)> {
    ROUTES.iter().filter_map(move |route| match route.matching {
        Matching::Exact(path) if route.shape == shape && route.activity != Activity::Passive => {
            Some((path, route.access))
        }
        _ => None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_declared_page_is_guarded_as_declared() {
    let app = spawn_app(TestDb::sqlite()).await;
    app.add_admin("root").await;
    let anonymous = browser();
    let member = app.signed_in().await;
    let admin = browser();
    assert_eq!(
        app.sign_in(&admin, "root", PASSWORD, "").await.status(),
        303
    );
    let mut pages = 0;
    for (path, access) in exact(Shape::Page) {
        pages += 1;
        let get = |client: &reqwest::Client| client.get(app.url(path)).send();
        let res = get(&anonymous).await.unwrap();
        match access {
            Access::SignedIn | Access::Admin => {
                assert_eq!(
                    res.status(),
                    303,
                    "{path}: anonymous visitors sign in first"
                );
                assert!(location(&res).starts_with("/sign-in?next="), "{path}");
            }
            Access::Anyone | Access::SignedOut => assert_eq!(res.status(), 200, "{path}"),
        }
        let res = get(&member).await.unwrap();
        match access {
            Access::Admin => assert_eq!(res.status(), 403, "{path}: administrators only"),
            Access::SignedOut => {
                assert_eq!(res.status(), 303, "{path}");
                assert_eq!(location(&res), "/home", "{path}: the signed-in go home");
            }
            Access::Anyone | Access::SignedIn => assert_eq!(res.status(), 200, "{path}"),
        }
        if access == Access::Admin {
            // The console's pages, or its first page for `/admin` itself.
            let res = get(&admin).await.unwrap();
            match res.status().as_u16() {
                200 => {}
                303 => assert_eq!(location(&res), "/admin/sessions", "{path}"),
                other => panic!("{path}: {other} for an administrator"),
            }
        }
    }
    assert!(pages >= 6, "the table's pages were visited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_declared_json_path_answers_json() {
    let app = spawn_app(TestDb::sqlite()).await;
    let anonymous = browser();
    let mut paths = 0;
    for (path, _) in exact(Shape::Json) {
        paths += 1;
        let res = anonymous.get(app.url(path)).send().await.unwrap();
        let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(
            content_type.starts_with("application/json"),
            "{path}: {} {content_type}",
            res.status()
        );
    }
    assert!(paths >= 6, "the table's JSON paths were visited");
}
