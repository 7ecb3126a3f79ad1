//! Runs the example on `EXAMPLE_ADDR` (default 127.0.0.1:3100) over `sqlite://data/example.db`
//! (or `DATABASE_URL`), with an account `example` whose password is read from
//! `EXAMPLE_PASSWORD`. The limits are the engine's defaults unless `AUTO_LOGOUT_IDLE_TIME`,
//! `AUTO_LOGOUT_SESSION_TIME` or `AUTO_LOGOUT_WARN_BEFORE` (durations such as `4s`, `10m`)
//! say otherwise, as for the server.

use auto_logout::server::Engine;
use auto_logout_example::{app, Accounts};
use std::{net::SocketAddr, time::Duration};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "sqlite://data/example.db?mode=rwc".to_owned());
    let accounts = Accounts::open(&url).await?;
    if let Ok(password) = std::env::var("EXAMPLE_PASSWORD") {
        // An existing `example` keeps its password.
        let _ = accounts.add("example", &password, false).await;
    }
    let checker = accounts.clone();
    let mut engine = Engine::builder()
        .database_url(&url)
        // Sensitive actions (signing out other devices) ask for the password again after
        // reauth_window: the engine checks it with this application's own accounts.
        .app_password_check(move |id, password| {
            let accounts = checker.clone();
            async move {
                let right = accounts.password_is_right(id, password).await;
                right.map_err(|e| e.to_string())
            }
        });
    if let Some(idle) = duration("AUTO_LOGOUT_IDLE_TIME")? {
        engine = engine.idle_limit(idle);
    }
    if let Some(absolute) = duration("AUTO_LOGOUT_SESSION_TIME")? {
        engine = engine.session_limit_time(absolute);
    }
    if let Some(lead) = duration("AUTO_LOGOUT_WARN_BEFORE")? {
        engine = engine.warn_before(lead);
    }
    let app = app(accounts, engine.build().await?);
    let addr = std::env::var("EXAMPLE_ADDR").unwrap_or_else(|_| "127.0.0.1:3100".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service).await?;
    Ok(())
}

/// The duration in the environment variable `key`, if set.
fn duration(key: &str) -> Result<Option<Duration>, String> {
    match std::env::var(key) {
        Ok(value) => humantime::parse_duration(&value)
            .map(Some)
            .map_err(|e| format!("{key}={value:?}: {e} (a duration such as 4s or 10m)")),
        Err(_) => Ok(None),
    }
}
