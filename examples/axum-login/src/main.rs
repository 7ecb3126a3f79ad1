//! Runs the example on 127.0.0.1:3100 over `sqlite://data/example.db` (or `DATABASE_URL`),
//! with an account `example` whose password is read from `EXAMPLE_PASSWORD`.

use auto_logout::server::{SharedClock, SystemClock};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "sqlite://data/example.db?mode=rwc".to_owned());
    let clock: SharedClock = Arc::new(SystemClock);
    let example =
        auto_logout_example::build(&url, auto_logout_example::default_limits(), clock).await?;
    if let Ok(password) = std::env::var("EXAMPLE_PASSWORD") {
        if example.users.find_by_username("example").await?.is_none() {
            example.users.create("example", &password, false).await?;
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3100").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(
        listener,
        example
            .router
            .into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .await?;
    Ok(())
}
