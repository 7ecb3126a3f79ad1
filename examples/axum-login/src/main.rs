//! Runs the example on 127.0.0.1:3100 over `sqlite://data/example.db` (or `DATABASE_URL`),
//! with an account `example` whose password is read from `EXAMPLE_PASSWORD`.

use auto_logout_example::{app, Accounts};
use std::net::SocketAddr;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "sqlite://data/example.db?mode=rwc".to_owned());
    let accounts = Accounts::open(&url).await?;
    if let Ok(password) = std::env::var("EXAMPLE_PASSWORD") {
        // An existing `example` keeps its password.
        let _ = accounts.add("example", &password, false).await;
    }
    let app = app(accounts, auto_logout::server::Engine::open(&url).await?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3100").await?;
    println!("listening on http://{}", listener.local_addr()?);
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service).await?;
    Ok(())
}
