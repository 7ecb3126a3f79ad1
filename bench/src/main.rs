//! The baseline of `make bench` (scripts/bench.sh): one bare axum route, `GET /` answering
//! `ok`, in its own process, so that the server's middleware and session work can be measured
//! against what axum alone costs on the same machine in the same run.
//!   bare-axum [ADDR]   (default 127.0.0.1:3399)

use axum::{routing::get, Router};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3399".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let app = Router::new().route("/", get(|| async { "ok" }));
    axum::serve(listener, app).await
}
