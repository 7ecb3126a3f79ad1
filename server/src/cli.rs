//! The command line (SPEC §8): `serve` (default), `user add NAME [--admin]`,
//! `user passwd NAME`, `user list`, `user disable NAME`, `user enable NAME`,
//! `session list [--user NAME]`, `session revoke ID`, `keys rotate`, `migrate`.

use crate::{
    config::{Config, ConfigError},
    startup::{engine_builder, open_database, Application, StartError},
};
use auto_logout::server::{
    AccountError, Actor, Admin, Engine, HashLimiter, KeyRotation, RotateError, SessionSearch,
    SharedClock, SignOutAll, StoreError, SystemClock,
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
    /// Inspect and end sessions.
    Session {
        /// The session command.
        #[command(subcommand)]
        command: SessionCommand,
    },
    /// Manage the keys that sign JWT access tokens.
    Keys {
        /// The key command.
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Apply `audit_retention` and `ip_retention` now, as running servers do every minute:
    /// delete old audit rows, and trim the IP addresses and user agents of old audit rows and
    /// ended sessions to their networks and devices.
    Retention,
}

/// Key commands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new JWT signing key (of `jwt_algorithm`) and retire the current one after
    /// `jwt_ttl`, when every token it signed has expired; its tokens are refused from then on.
    /// Running servers on the same database use the new key within about a second.
    Rotate,
}

/// Session commands.
#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// List live sessions, newest first (at most 500).
    List {
        /// Only this account's.
        #[arg(long)]
        user: Option<String>,
    },
    /// End a session by its public id (audit `revoked`), or every session with `--all`
    /// (audited once, `signed_out_everyone`, with the count).
    Revoke {
        /// The session id, as `session list` shows it.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        /// End every live session: everyone is signed out.
        #[arg(long)]
        all: bool,
        /// With `--all`: keep administrators signed in.
        #[arg(long, requires = "all")]
        except_admins: bool,
    },
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
    /// Disable an account: it cannot sign in, and its sessions end.
    Disable {
        /// The username.
        name: String,
    },
    /// Enable a disabled account.
    Enable {
        /// The username.
        name: String,
    },
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
    /// The account operation was refused, or storage failed.
    #[error(transparent)]
    Account(#[from] AccountError),
    /// The server could not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// Reading the password failed.
    #[error("cannot read the password: {0}")]
    Input(#[from] std::io::Error),
    /// The two typed passwords differ.
    #[error("the passwords do not match")]
    Mismatch,
    /// `session revoke` named no live session.
    #[error("no live session has the id `{0}` (see `server session list`)")]
    NoSuchSession(String),
    /// `keys rotate` failed (or the keys are a fixed `jwt_secret`).
    #[error("cannot rotate the JWT keys: {0}")]
    Keys(#[from] RotateError),
}

/// The engine over the configured database, as the server builds it. One password hash at a
/// time: a command checks at most one.
async fn engine_of(config: &Config, clock: &SharedClock) -> Result<Engine, CliError> {
    let db = open_database(config).await?;
    Ok(engine_builder(config, db, clock.clone())
        .password_hashing(HashLimiter::new(1, 1, std::time::Duration::from_secs(60)))
        // The command line signs no JWT: its configuration must not rotate the servers' keys.
        .provision_jwt_keys(false)
        .build()
        .await
        .map_err(StartError::from)?)
}

/// The administrator operations over the configured database (actor: the command line).
async fn admin_of(config: &Config, clock: &SharedClock) -> Result<Admin, CliError> {
    Ok(engine_of(config, clock).await?.admin().clone())
}

/// What `keys rotate` prints: the new key, and each retiring key with when it retires.
pub fn rotation_report(rotation: &KeyRotation, jwt_ttl: std::time::Duration) -> String {
    let mut report = format!(
        "new JWT signing key {} ({})",
        rotation.kid, rotation.algorithm
    );
    for old in &rotation.retiring {
        report.push_str(&format!(
            "\nkey {} retires at {} (after jwt_ttl, {}); its tokens are refused from then on",
            old.kid,
            auto_logout::dto::format_utc(old.retire_at.as_millis()),
            humantime::format_duration(jwt_ttl)
        ));
    }
    report
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
    crate::telemetry::init();
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
        Command::Retention => {
            let engine = engine_of(&config, &clock).await?;
            let report = engine.apply_retention().await?;
            println!(
                "deleted {} audit row(s) past audit_retention; trimmed {} ended session(s) and \
                 {} audit row(s) past ip_retention",
                report.deleted_audit_rows, report.trimmed.sessions, report.trimmed.audit_rows
            );
        }
        Command::User { command } => {
            let admin = admin_of(&config, &clock).await?;
            let actor = Actor::default();
            match command {
                UserCommand::Add {
                    name,
                    admin: is_admin,
                } => {
                    let password = read_password()?;
                    let user = admin
                        .create_user(&actor, &name, &password, is_admin)
                        .await?;
                    println!(
                        "created {}{}",
                        user.username,
                        if user.is_admin { " (admin)" } else { "" }
                    );
                }
                UserCommand::Passwd { name } => {
                    let password = read_password()?;
                    let ended = admin.change_password(&actor, &name, &password).await?;
                    println!("password changed for {name}; {ended} session(s) signed out");
                }
                UserCommand::List => {
                    for user in admin.users().await? {
                        println!(
                            "{}\t{}{}",
                            user.username,
                            if user.is_admin { "admin" } else { "user" },
                            if user.disabled { "\tdisabled" } else { "" }
                        );
                    }
                }
                UserCommand::Disable { name } => {
                    let ended = admin.set_disabled(&actor, &name, true).await?;
                    println!("disabled {name}; {ended} session(s) signed out");
                }
                UserCommand::Enable { name } => {
                    admin.set_disabled(&actor, &name, false).await?;
                    println!("enabled {name}");
                }
            }
        }
        Command::Keys {
            command: KeysCommand::Rotate,
        } => {
            let engine = engine_of(&config, &clock).await?;
            let rotation = engine.rotate_jwt_keys().await?;
            println!("{}", rotation_report(&rotation, config.jwt_ttl));
        }
        Command::Session { command } => {
            let admin = admin_of(&config, &clock).await?;
            match command {
                SessionCommand::List { user } => {
                    let search = SessionSearch {
                        active: Some(true),
                        username: user,
                        limit: 500,
                        ..SessionSearch::default()
                    };
                    for session in admin.sessions(&search).await? {
                        println!(
                            "{}\t{}\t{}\t{} on {}\t{}",
                            session.device.id,
                            session.user.unwrap_or_default(),
                            session.device.kind.as_str(),
                            session.device.browser,
                            session.device.os,
                            session.device.last_ip.unwrap_or_default(),
                        );
                    }
                }
                SessionCommand::Revoke {
                    all: true,
                    except_admins,
                    ..
                } => {
                    let scope = SignOutAll {
                        except_admins,
                        except_self: false,
                    };
                    let ended = admin.sign_out_everyone(&Actor::default(), scope).await?;
                    let spared = if except_admins {
                        " (administrators kept)"
                    } else {
                        ""
                    };
                    println!("{ended} sessions signed out{spared}");
                }
                SessionCommand::Revoke { id, .. } => {
                    let id = id.unwrap_or_default();
                    if !admin.end_session(&Actor::default(), &id).await? {
                        return Err(CliError::NoSuchSession(id));
                    }
                    println!("session {id} signed out");
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
