//! Security headers (SPEC §6): every answer is `nosniff` with a `Referrer-Policy`; pages carry
//! a `Content-Security-Policy` whose scripts are this site's and the inline ones with the
//! answer's own nonce (no `'unsafe-inline'`), which every inline script of the page carries;
//! `Strict-Transport-Security` only with `cookie_secure`.

use crate::common::*;
use reqwest::Response;
use std::path::Path;

db_tests!(
    pages_json_assets_and_errors_carry_the_headers,
    each_page_has_its_own_nonce_on_every_inline_script,
    hsts_only_with_cookie_secure,
);

/// A site root whose `pkg/` holds a bundle named `auto-logout`.
fn site_with_bundle(root: &Path) {
    let pkg = root.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(
        pkg.join("auto-logout.js"),
        "export default function init() {}",
    )
    .unwrap();
    std::fs::write(pkg.join("auto-logout.wasm"), b"\0asm").unwrap();
    std::fs::write(pkg.join("auto-logout.css"), "body { color: black }").unwrap();
}

async fn spawn_on_site(db: TestDb, root: &Path, env: &[(&'static str, &str)]) -> TestApp {
    let root = root.display().to_string();
    let mut env = env.to_vec();
    env.push(("LEPTOS_SITE_ROOT", &root));
    spawn_app_env(db, &env).await
}

fn header_of<'a>(res: &'a Response, name: &str) -> Option<&'a str> {
    res.headers().get(name).map(|v| v.to_str().unwrap())
}

/// The headers every answer has, whatever it is.
fn assert_every_answer_headers(res: &Response, what: &str) {
    assert_eq!(
        header_of(res, "x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        header_of(res, "referrer-policy"),
        Some("same-origin"),
        "{what}"
    );
    assert!(
        header_of(res, "content-security-policy").is_some(),
        "{what}: a policy"
    );
    assert_eq!(
        header_of(res, "strict-transport-security"),
        None,
        "{what}: no HSTS without cookie_secure"
    );
    assert!(
        header_of(res, "x-auto-logout-csp-nonce").is_none(),
        "{what}: the internal nonce header stays inside"
    );
}

/// The directives of a policy, by name.
fn directive<'a>(policy: &'a str, name: &str) -> Option<&'a str> {
    policy
        .split(';')
        .map(str::trim)
        .find_map(|d| d.strip_prefix(name).filter(|rest| rest.starts_with(' ')))
        .map(str::trim)
}

/// Checks a page's policy and returns the nonce its scripts may carry, if any.
fn assert_page_policy(res: &Response, what: &str) -> Option<String> {
    let policy = header_of(res, "content-security-policy").expect("a policy");
    for (name, value) in [
        ("default-src", "'self'"),
        ("object-src", "'none'"),
        ("base-uri", "'self'"),
        ("form-action", "'self'"),
        ("frame-ancestors", "'none'"),
    ] {
        assert_eq!(directive(policy, name), Some(value), "{what}: {policy}");
    }
    let scripts = directive(policy, "script-src").expect("script-src");
    assert!(!scripts.contains("unsafe-inline"), "{what}: {policy}");
    assert!(
        !scripts.split(' ').any(|s| s == "'unsafe-eval'" || s == "*"),
        "{what}: {policy}"
    );
    assert!(scripts.contains("'self'") && scripts.contains("'wasm-unsafe-eval'"));
    assert!(
        directive(policy, "style-src").is_none(),
        "{what}: styles fall back to 'self' (no inline styles): {policy}"
    );
    scripts
        .split(' ')
        .find_map(|s| s.strip_prefix("'nonce-")?.strip_suffix('\''))
        .map(str::to_owned)
}

/// Asserts every `<script` tag of `html` carries `nonce`, and that the page has no inline
/// style (which the policy would refuse). Returns how many scripts there are.
fn assert_scripts_carry(html: &str, nonce: &str, what: &str) -> usize {
    let mut count = 0;
    for (at, _) in html.match_indices("<script") {
        let tag = &html[at..at + html[at..].find('>').expect("a closed tag")];
        assert!(
            tag.contains(&format!("nonce=\"{nonce}\"")),
            "{what}: a script without the answer's nonce: {tag}"
        );
        count += 1;
    }
    assert!(!html.contains("<style"), "{what}: an inline <style>");
    assert!(
        !html.contains(" style="),
        "{what}: an inline style attribute"
    );
    count
}

async fn pages_json_assets_and_errors_carry_the_headers(db: TestDb) {
    let site = tempfile::tempdir().unwrap();
    site_with_bundle(site.path());
    let app = spawn_on_site(db, site.path(), &[]).await;

    // A page, anonymous: the policy with a nonce, which its inline scripts carry.
    let res = browser().get(app.url("/sign-in")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_every_answer_headers(&res, "sign-in page");
    let nonce = assert_page_policy(&res, "sign-in page").expect("a nonce");
    let html = res.text().await.unwrap();
    assert!(
        assert_scripts_carry(&html, &nonce, "sign-in page") >= 1,
        "the hydration script is inline: {html}"
    );

    // A signed-in page, with the countdown.
    let client = app.signed_in().await;
    let res = client.get(app.url("/home")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_every_answer_headers(&res, "home");
    let nonce = assert_page_policy(&res, "home").expect("a nonce");
    let html = res.text().await.unwrap();
    assert!(html.contains("data-testid=\"idle-countdown\""), "{html}");
    assert_scripts_carry(&html, &nonce, "home");

    // JSON: no page, so a policy that allows nothing.
    let res = client.get(app.url("/api/v1/session")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_every_answer_headers(&res, "JSON");
    assert_eq!(
        header_of(&res, "content-security-policy"),
        Some("default-src 'none'; frame-ancestors 'none'")
    );
    let res = browser()
        .get(app.url("/api/v1/session"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_every_answer_headers(&res, "JSON error");

    // The bundle's files (served outside the session layers).
    let html = browser()
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let end = html.find(".css\"").expect("the page names its stylesheet");
    let css = &html[html[..end].rfind("/pkg/").unwrap()..end + 4];
    let res = browser().get(app.url(css)).send().await.unwrap();
    assert_eq!(res.status(), 200, "{css}");
    assert_every_answer_headers(&res, "stylesheet");
    assert_eq!(
        header_of(&res, "content-security-policy"),
        Some("default-src 'none'; frame-ancestors 'none'")
    );
    let res = browser()
        .get(app.url("/pkg/auto-logout.0123456789abcdef.wasm"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_every_answer_headers(&res, "unknown bundle file");

    // The not-found page is a page rendered with its own nonce.
    let res = browser()
        .get(app.url("/no-such-page"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_every_answer_headers(&res, "not-found page");
    let nonce = assert_page_policy(&res, "not-found page").expect("a nonce");
    let html = res.text().await.unwrap();
    assert_scripts_carry(&html, &nonce, "not-found page");

    // A short error page (an administrators' form sent by someone else) has no inline
    // script, so no nonce.
    let res = app.post(&client, "/admin/users/create").await;
    assert_eq!(res.status(), 403);
    assert!(header_of(&res, "content-type")
        .unwrap()
        .starts_with("text/html"));
    assert_every_answer_headers(&res, "error page");
    assert_eq!(assert_page_policy(&res, "error page"), None);
    assert!(!res.text().await.unwrap().contains("<script"));
    // A refused cross-site form: plain text.
    let res = app.post_cross_site(&client, "/logout").await;
    assert_eq!(res.status(), 403);
    assert_every_answer_headers(&res, "cross-site refusal");

    // A redirect, a text answer and a refused host.
    let res = browser().get(app.url("/home")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_every_answer_headers(&res, "redirect");
    let res = browser().get(app.url("/healthz")).send().await.unwrap();
    assert_every_answer_headers(&res, "health check");
    let res = browser()
        .get(app.url("/"))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_every_answer_headers(&res, "unknown host");
}

async fn each_page_has_its_own_nonce_on_every_inline_script(db: TestDb) {
    let site = tempfile::tempdir().unwrap();
    site_with_bundle(site.path());
    let app = spawn_on_site(db, site.path(), &[]).await;
    let client = app.signed_in().await;
    let mut nonces = Vec::new();
    for path in ["/home", "/home", "/sessions", "/account"] {
        let res = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let nonce = assert_page_policy(&res, path).expect("a nonce");
        assert!(nonce.len() >= 22, "at least 128 bits: {nonce}");
        let html = res.text().await.unwrap();
        assert_scripts_carry(&html, &nonce, path);
        nonces.push(nonce);
    }
    let mut distinct = nonces.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        nonces.len(),
        "one nonce per answer: {nonces:?}"
    );
}

async fn hsts_only_with_cookie_secure(db: TestDb) {
    let site = tempfile::tempdir().unwrap();
    site_with_bundle(site.path());
    let app = spawn_on_site(db, site.path(), &[("AUTO_LOGOUT_COOKIE_SECURE", "true")]).await;
    const HSTS: &str = "max-age=63072000; includeSubDomains";
    for path in [
        "/",
        "/sign-in",
        "/api/v1/session",
        "/healthz",
        "/no-such-page",
    ] {
        let res = browser().get(app.url(path)).send().await.unwrap();
        assert_eq!(
            header_of(&res, "strict-transport-security"),
            Some(HSTS),
            "{path}"
        );
        assert_eq!(header_of(&res, "x-content-type-options"), Some("nosniff"));
    }
    // Signed in (the cookie is `__Host-` and Secure: sent by hand over plain HTTP).
    let res = app.sign_in(&browser(), "alice", PASSWORD, "").await;
    assert_eq!(res.status(), 303);
    assert_eq!(header_of(&res, "strict-transport-security"), Some(HSTS));
    let id = set_cookies(&res)
        .into_iter()
        .find_map(|c| {
            c.split(';')
                .next()?
                .strip_prefix("__Host-auto_logout_session=")
                .map(str::to_owned)
        })
        .expect("a __Host- session cookie");
    let res = browser()
        .get(app.url("/home"))
        .header("cookie", format!("__Host-auto_logout_session={id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(header_of(&res, "strict-transport-security"), Some(HSTS));
    let nonce = assert_page_policy(&res, "home").expect("a nonce");
    assert_scripts_carry(&res.text().await.unwrap(), &nonce, "home");
}
