//! The `server` binary: `serve` (default), `user …`, `session …`, `keys rotate`, `migrate`.

use clap::Parser;
use std::process::ExitCode;

/// Every request allocates: its futures, headers and extensions. mimalloc's per-thread free
/// lists serve these small, short-lived allocations faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = server::cli::Cli::parse();
    match server::cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
