//! The binary's command line: bad configuration stops start-up with a message naming the key.

use crate::common::run_cli;
use std::process::Command;

#[test]
fn a_bad_duration_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("serve")
        .env("AUTO_LOGOUT_IDLE_TIME", "ten minutes")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/x.db?mode=rwc", dir.path().display()),
        )
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("AUTO_LOGOUT_IDLE_TIME"), "{stderr}");
    assert!(stderr.contains("idle_time"), "{stderr}");
    assert!(stderr.contains("ten minutes"), "{stderr}");
}

#[test]
fn user_add_then_list_shows_the_account() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/x.db?mode=rwc", dir.path().display());
    let added = run_cli(
        &["user", "add", "carol", "--admin"],
        &db,
        "a long password\n",
    );
    assert!(added.status.success());
    let list = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["user", "list"])
        .env("DATABASE_URL", &db)
        .output()
        .unwrap();
    assert!(list.status.success());
    assert!(String::from_utf8_lossy(&list.stdout).contains("carol\tadmin"));
    // A duplicate is refused with a clear message and a non-zero exit.
    let dup = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["user", "add", "carol"])
        .env("DATABASE_URL", &db)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!dup.status.success());
    let stderr = String::from_utf8_lossy(&dup.stderr);
    assert!(
        stderr.contains("already exists") || stderr.contains("password"),
        "{stderr}"
    );
}

#[test]
fn accounts_and_sessions_are_managed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/x.db?mode=rwc", dir.path().display());
    assert!(run_cli(&["user", "add", "dave"], &db, "a long password\n")
        .status
        .success());
    let out = run_cli(&["user", "disable", "dave"], &db, "");
    assert!(out.status.success());
    let list = run_cli(&["user", "list"], &db, "");
    assert!(String::from_utf8_lossy(&list.stdout).contains("dave\tuser\tdisabled"));
    assert!(run_cli(&["user", "enable", "dave"], &db, "")
        .status
        .success());
    let list = run_cli(&["user", "list"], &db, "");
    assert!(!String::from_utf8_lossy(&list.stdout).contains("disabled"));
    // No live sessions yet: the list is empty, and revoking an unknown id fails clearly.
    let sessions = run_cli(&["session", "list", "--user", "dave"], &db, "");
    assert!(sessions.status.success() && sessions.stdout.is_empty());
    let revoke = run_cli(&["session", "revoke", "nope"], &db, "");
    assert!(!revoke.status.success());
    assert!(String::from_utf8_lossy(&revoke.stderr).contains("no live session"));
    let unknown = run_cli(&["user", "disable", "nobody"], &db, "");
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no user named `nobody`"));
}
