//! The command line (SPEC §8): `serve` (default), `user add NAME [--admin]`,
//! `user passwd NAME`, `user list`, `migrate`.

use crate::{
    config::{Config, ConfigError},
    startup::{open_database, Application, StartError},
};
use auto_logout::server::{
    keys::SERVER_KEY, HashLimiter, SecretKey, SessionGate, Sessions, SharedClock, StoreError,
    SystemClock, Users,
};
use clap::{Parser, Subcommand};
use std::{
    io::{BufRead, IsTerminal},
    sync::Arc,
};

/// auto-logout: session management with idle and absolute timeouts.
#[derive(Debug, Parser)]
#[command(name = "server", version, about)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (the default).
    Serve,
    /// Manage accounts.
    User {
        /// The account command.
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Apply database migrations and exit.
    Migrate,
}

/// Account commands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; the password is read from stdin, or prompted for on a terminal.
    Add {
        /// The username.
        name: String,
        /// Allow the admin console.
        #[arg(long)]
        admin: bool,
    },
    /// Change an account's password (ends that user's other sessions).
    Passwd {
        /// The username.
        name: String,
    },
    /// List accounts.
    List,
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The server could not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// Reading the password failed.
    #[error("cannot read the password: {0}")]
    Input(#[from] std::io::Error),
    /// The two typed passwords differ.
    #[error("the passwords do not match")]
    Mismatch,
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,tower_sessions=warn".into());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

/// Reads a password: prompted twice on a terminal, else the first line of stdin.
fn read_password() -> Result<String, CliError> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Repeat password: ")?;
        if first != second {
            return Err(CliError::Mismatch);
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

/// Runs one command line.
///
/// # Errors
/// [`CliError`] with a message for the person at the terminal.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    init_tracing();
    let config = Config::load()?;
    let clock: SharedClock = Arc::new(SystemClock);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(config, clock).await?;
            tracing::info!(
                "listening on http://{}",
                app.state().leptos_options.site_addr
            );
            app.spawn_sweep();
            app.run_until(shutdown_signal()).await?;
        }
        Command::Migrate => {
            open_database(&config).await?;
            println!("migrations applied");
        }
        Command::User { command } => {
            let db = open_database(&config).await?;
            let key = SecretKey::load_or_create(&db, SERVER_KEY, &clock).await?;
            let users = Users::new(
                db.clone(),
                clock.clone(),
                key,
                HashLimiter::new(1, 1, std::time::Duration::from_secs(60)),
            );
            match command {
                UserCommand::Add { name, admin } => {
                    let password = read_password()?;
                    let user = users.create(&name, &password, admin).await?;
                    println!(
                        "created {}{}",
                        user.username,
                        if user.is_admin { " (admin)" } else { "" }
                    );
                }
                UserCommand::Passwd { name } => {
                    let password = read_password()?;
                    let user = users.set_password(&name, &password).await?;
                    let gate = SessionGate::new(
                        Sessions::new(db.clone()),
                        config.limits(),
                        config.bind_user_agent,
                        clock.clone(),
                    );
                    let ended = gate.password_changed(user.id).await?;
                    println!("password changed for {name}; {ended} session(s) signed out");
                }
                UserCommand::List => {
                    for user in users.list().await? {
                        println!(
                            "{}\t{}",
                            user.username,
                            if user.is_admin { "admin" } else { "user" }
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut sig) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            sig.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
