//! Serves the example on `EXAMPLE_ADDR` (default 127.0.0.1:3200) over `DATABASE_URL`
//! (default `sqlite://data/example-leptos.db`), with an account `example` whose password is
//! `EXAMPLE_PASSWORD`. `AUTO_LOGOUT_IDLE_TIME` and `AUTO_LOGOUT_WARN_BEFORE` (durations such as
//! `6s`) shorten the limits for tests. Build it with `cargo leptos build --project
//! auto-logout-example-leptos`, which also builds its WebAssembly.

use auto_logout_example_leptos::{shell, App, SIGN_IN};
use auto_logout_leptos::engine::server::{AutoLogout, Engine, SignIn};
use axum::{response::Redirect, routing::post, Form, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::{net::SocketAddr, time::Duration};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "sqlite://data/example-leptos.db?mode=rwc".to_owned());
    let mut engine = Engine::builder()
        .database_url(url)
        .configure_layer(|layer| layer.passive_prefix("/pkg/")); // loading assets is not activity
    if let Some(idle) = duration("AUTO_LOGOUT_IDLE_TIME")? {
        engine = engine.idle_limit(idle);
    }
    if let Some(lead) = duration("AUTO_LOGOUT_WARN_BEFORE")? {
        engine = engine.warn_before(lead);
    }
    let engine = engine.build().await?;
    if let Ok(password) = std::env::var("EXAMPLE_PASSWORD") {
        // The demo account, in the engine's own accounts (an existing one keeps its password).
        let _ = engine.users().create("example", &password, false).await;
    }

    let mut options = get_configuration(None)?.leptos_options;
    if let Ok(addr) = std::env::var("EXAMPLE_ADDR") {
        options.site_addr = addr.parse()?;
    }
    let addr = options.site_addr;
    let app = Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .leptos_routes(&options, generate_route_list(App), {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler(shell))
        .merge(engine.status_router())
        .layer(engine.layers())
        .with_state(options);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{addr}");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}

/// What the sign-in form sends.
#[derive(serde::Deserialize)]
struct SignInForm {
    username: String,
    password: String,
}

/// `POST /login`: the engine checks the password (throttled, audited) and starts a session
/// with its limits; to `/notes` when signed in, else back to the form.
async fn login(mut auth: AutoLogout, Form(f): Form<SignInForm>) -> Redirect {
    match auth.sign_in_password(&f.username, &f.password, false).await {
        Ok(SignIn::Started(_)) => Redirect::to("/notes"),
        _ => Redirect::to(&format!("{SIGN_IN}?failed")),
    }
}

/// `POST /logout`: the engine ends the session for good (audited).
async fn logout(mut auth: AutoLogout) -> Redirect {
    let _ = auth.logout().await;
    Redirect::to(SIGN_IN)
}

/// The duration in the environment variable `key`, if set.
fn duration(key: &str) -> Result<Option<Duration>, String> {
    match std::env::var(key) {
        Ok(value) => humantime::parse_duration(&value)
            .map(Some)
            .map_err(|e| format!("{key}={value:?}: {e} (a duration such as 6s or 10m)")),
        Err(_) => Ok(None),
    }
}
