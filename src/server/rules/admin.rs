//! What administrators (and the server's command line) may do: see every session and end any,
//! read the activity log, create, disable and enable accounts, and sign an account out
//! everywhere. Every action is audited with the administrator as actor.

use crate::server::{
    audit::{AuditEntry, AuditFilter, AuditLog, NewAuditEntry},
    devices::device_session,
    error::{AccountError, AccountRefusal, StoreError},
    gate::SessionGate,
    sessions::{ClientInfo, Everyone, SessionSearch, Sessions},
    storage::listings::KeptReads,
    users::{User, Users},
};
use crate::{
    dto::{
        ActivityPage, ActivityQuery, AdminSession, SessionState, SessionsPage, SessionsQuery,
        UserSummary,
    },
    event::AuditEvent,
    UnixMillis,
};

/// A filter an administrator sent that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AdminQueryError {
    /// The cursor is not one this server gave out.
    #[error("the cursor is not one this server gave out")]
    Cursor,
    /// Not one of the audit events.
    #[error(transparent)]
    Event(#[from] crate::event::UnknownEvent),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who acts: an administrator's account id (`None` for the server's command line) and where
/// the request came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actor {
    /// The administrator's account id.
    pub id: Option<i64>,
    /// The request's client.
    pub client: ClientInfo,
}

/// The detail of a session an administrator ended.
pub const ENDED_BY_ADMINISTRATOR: &str = "signed out by an administrator";

/// The detail of the sessions "sign out everyone" ended.
pub const ENDED_WITH_EVERYONE: &str = "an administrator signed out everyone";

/// Whom "sign out everyone" spares (SPEC §4 `/admin/sessions`, §7 `sign-out-all`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignOutAll {
    /// Keep administrators signed in.
    pub except_admins: bool,
    /// Keep the acting administrator's own sessions (ignored for the command line, which has
    /// no account).
    pub except_self: bool,
}

impl SignOutAll {
    /// What the audit entry says was spared.
    fn detail(self) -> String {
        match (self.except_admins, self.except_self) {
            (false, false) => "every session".to_owned(),
            (true, false) => "every session except administrators'".to_owned(),
            (false, true) => "every session except the administrator's own".to_owned(),
            (true, true) => {
                "every session except administrators' and the administrator's own".to_owned()
            }
        }
    }
}

/// The search an administrator's filters and cursor ask for.
fn search_of(query: &SessionsQuery) -> Result<SessionSearch, AdminQueryError> {
    let after = match query.cursor.as_deref() {
        None | Some("") => None,
        Some(cursor) => {
            let (at, id) = cursor.split_once(':').ok_or(AdminQueryError::Cursor)?;
            Some((
                at.parse().map_err(|_| AdminQueryError::Cursor)?,
                id.to_owned(),
            ))
        }
    };
    Ok(SessionSearch {
        active: query.state.map(|s| s == SessionState::Active),
        username: query.user.clone().filter(|u| !u.is_empty()),
        kind: query.kind,
        after,
        limit: query.limit.unwrap_or(50).clamp(1, 500),
    })
}

/// How many pages of the session list ([`Admin::sessions_page`]) are kept in memory.
pub const KEPT_SESSION_PAGES: u64 = 32;

/// Administrator operations. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Admin {
    users: Users,
    sessions: Sessions,
    gate: SessionGate,
    audit: AuditLog,
    /// Pages of the session list read lately, each good until any change to the sessions or
    /// their accounts is told ([`crate::server::storage::listings`]).
    kept_pages: KeptReads<SessionSearch, SessionsPage>,
}

impl Admin {
    /// Operations over these parts.
    pub fn new(users: Users, sessions: Sessions, gate: SessionGate, audit: AuditLog) -> Self {
        let kept_pages = KeptReads::new(sessions.listings().clone(), KEPT_SESSION_PAGES);
        Self {
            users,
            sessions,
            gate,
            audit,
            kept_pages,
        }
    }

    /// Sessions matching `search`, newest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn sessions(&self, search: &SessionSearch) -> Result<Vec<AdminSession>, StoreError> {
        Ok(self
            .sessions
            .search(search)
            .await?
            .into_iter()
            .map(|listing| AdminSession {
                device: device_session(&listing.row, None),
                user: listing.username,
                ended_at: listing.row.ended_at,
                end_reason: listing.row.end_reason.clone(),
                ended_by: listing.row.ended_by,
                ended_by_user: listing.ended_by_user,
            })
            .collect())
    }

    /// The page of sessions `query` asks for: newest first, with the cursor of the next page.
    ///
    /// # Errors
    /// [`AdminQueryError`] for a malformed cursor, or storage errors.
    pub async fn sessions_page(
        &self,
        query: &SessionsQuery,
    ) -> Result<SessionsPage, AdminQueryError> {
        let search = search_of(query)?;
        if let Some(page) = self.kept_pages.get(&search) {
            return Ok(SessionsPage::clone(&page));
        }
        let ticket = self.kept_pages.ticket();
        let sessions = self.sessions(&search).await?;
        let next_cursor = (sessions.len() as i64 == search.limit)
            .then(|| sessions.last())
            .flatten()
            .map(|s| format!("{}:{}", s.device.created_at, s.device.id));
        let page = SessionsPage {
            sessions,
            next_cursor,
        };
        Ok(SessionsPage::clone(
            &self.kept_pages.keep(search, page, ticket),
        ))
    }

    /// What [`Admin::sessions_page`] answers for `query`, if that page was read lately and
    /// nothing changed since: no waiting, so a page can render it in one pass. `None` when it
    /// would have to be read (or `query` is refused: [`Admin::sessions_page`] says why).
    pub fn kept_sessions_page(
        &self,
        query: &SessionsQuery,
    ) -> Option<std::sync::Arc<SessionsPage>> {
        self.kept_pages.get(&search_of(query).ok()?)
    }

    /// The page of the activity log `query` asks for: newest first, with the cursor of the
    /// next page.
    ///
    /// # Errors
    /// [`AdminQueryError`] for an unknown event, or storage errors.
    pub async fn activity_page(
        &self,
        query: &ActivityQuery,
    ) -> Result<ActivityPage, AdminQueryError> {
        let event = match query.event.as_deref() {
            None | Some("") => None,
            Some(name) => Some(name.parse::<AuditEvent>()?),
        };
        let limit = query.limit.unwrap_or(100).clamp(1, 1_000);
        let filter = AuditFilter {
            username: query.user.clone().filter(|u| !u.is_empty()),
            event,
            since: query.since.map(UnixMillis),
            until: query.until.map(UnixMillis),
            before_id: query.cursor,
            limit: Some(limit),
        };
        let entries = self.activity(&filter).await?;
        let next_cursor = (entries.len() as i64 == limit)
            .then(|| entries.last().map(|e| e.id))
            .flatten();
        Ok(ActivityPage {
            entries,
            next_cursor,
        })
    }

    /// Whether account `user_id` may use the admin console (exists, administrator, enabled).
    ///
    /// # Errors
    /// Storage errors.
    pub async fn is_admin(&self, user_id: i64) -> Result<bool, StoreError> {
        Ok(self
            .users
            .get(user_id)
            .await?
            .is_some_and(|u| u.is_admin && !u.disabled))
    }

    /// Ends the session `id_hash`, whoever owns it (audit `revoked`, actor recorded).
    /// `false` when it was not live.
    ///
    /// # Errors
    /// Database errors: the session is still live.
    pub async fn end_session(&self, actor: &Actor, id_hash: &str) -> Result<bool, StoreError> {
        self.gate
            .revoke_any(id_hash, actor.id, ENDED_BY_ADMINISTRATOR, &actor.client)
            .await
    }

    /// Ends every live session but those `scope` spares (each `revoked`, ended by the actor),
    /// and records one `signed_out_everyone` entry whose count is how many ended. Open tabs
    /// learn it as for any revocation: their next status read is refused and they go to the
    /// sign-in page. Returns how many ended.
    ///
    /// # Errors
    /// Database errors: the batches done before stay ended, and the entry counts them.
    pub async fn sign_out_everyone(
        &self,
        actor: &Actor,
        scope: SignOutAll,
    ) -> Result<usize, StoreError> {
        let everyone = Everyone {
            except_admins: scope.except_admins,
            except_user: actor.id.filter(|_| scope.except_self),
        };
        let (gate, audit, actor) = (self.gate.clone(), self.audit.clone(), actor.clone());
        run_to_the_end(async move {
            let (ended, result) = gate
                .end_everyone(&everyone, actor.id, ENDED_WITH_EVERYONE)
                .await;
            audit
                .record_counted(
                    NewAuditEntry {
                        ip: actor.client.ip_text(),
                        user_agent: actor.client.user_agent.clone(),
                        actor_id: actor.id,
                        detail: Some(scope.detail()),
                        ..NewAuditEntry::new(AuditEvent::SignedOutEveryone, gate.clock().now())
                    },
                    i64::try_from(ended).unwrap_or(i64::MAX),
                )
                .await?;
            result.map(|()| ended)
        })
        .await
    }

    /// The activity (audit) log matching `filter`, newest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn activity(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit.list(filter).await
    }

    /// Every account with its live sessions and latest sign-in.
    ///
    /// # Errors
    /// Database errors.
    pub async fn users(&self) -> Result<Vec<UserSummary>, StoreError> {
        self.users.summaries().await
    }

    async fn record(
        &self,
        actor: &Actor,
        event: AuditEvent,
        user: &User,
        detail: Option<String>,
    ) -> Result<(), StoreError> {
        self.audit
            .record(NewAuditEntry {
                user_id: Some(user.id),
                username: Some(user.username.clone()),
                ip: actor.client.ip_text(),
                user_agent: actor.client.user_agent.clone(),
                actor_id: actor.id,
                detail,
                ..NewAuditEntry::new(event, self.gate.clock().now())
            })
            .await
    }

    /// Creates an account (audit `user_created`).
    ///
    /// # Errors
    /// [`AccountRefusal::Exists`], invalid name or password, database errors.
    pub async fn create_user(
        &self,
        actor: &Actor,
        username: &str,
        password: &str,
        is_admin: bool,
    ) -> Result<User, AccountError> {
        let user = self.users.create(username, password, is_admin).await?;
        let detail = is_admin.then(|| "administrator".to_owned());
        self.record(actor, AuditEvent::UserCreated, &user, detail)
            .await?;
        Ok(user)
    }

    /// Disables `username` (it cannot sign in; every session ends, audit `revoked`) or enables
    /// it again; audit `user_disabled` / `user_enabled`. Returns how many sessions ended.
    ///
    /// # Errors
    /// [`AccountRefusal::NoSuchUser`], database errors.
    pub async fn set_disabled(
        &self,
        actor: &Actor,
        username: &str,
        disabled: bool,
    ) -> Result<usize, AccountError> {
        let user = self.users.set_disabled(username, disabled).await?;
        // From here every session of the account is refused when presented (its credential
        // epoch moved on), whatever happens to the rest of this request.
        self.gate.forget_user(user.id);
        let event = if disabled {
            AuditEvent::UserDisabled
        } else {
            AuditEvent::UserEnabled
        };
        self.record(actor, event, &user, None).await?;
        if !disabled {
            return Ok(0);
        }
        let (gate, actor) = (self.gate.clone(), actor.clone());
        Ok(run_to_the_end(async move {
            gate.revoke_everywhere(user.id, actor.id, "the account was disabled", &actor.client)
                .await
        })
        .await?)
    }

    /// Signs `username` out of every session (audit `revoked`, actor recorded). Returns how
    /// many ended.
    ///
    /// # Errors
    /// [`AccountRefusal::NoSuchUser`], database errors.
    pub async fn sign_out_everywhere(
        &self,
        actor: &Actor,
        username: &str,
    ) -> Result<usize, AccountError> {
        let user = self
            .users
            .find_by_username(username)
            .await?
            .ok_or_else(|| AccountRefusal::NoSuchUser(username.to_owned()))?;
        Ok(self
            .gate
            .revoke_everywhere(user.id, actor.id, ENDED_BY_ADMINISTRATOR, &actor.client)
            .await?)
    }

    /// Replaces the password of `username` (audit `password_changed`), ending no session:
    /// for callers that end sessions themselves.
    ///
    /// # Errors
    /// [`AccountRefusal::NoSuchUser`], an unacceptable password, database errors.
    pub async fn set_password(
        &self,
        actor: &Actor,
        username: &str,
        password: &str,
    ) -> Result<User, AccountError> {
        self.set_password_keeping(actor, username, password, None)
            .await
    }

    /// [`Admin::set_password`], keeping the session `keep` good (see
    /// [`Users::set_password_keeping`]); every other session of the account is refused from
    /// now on, ended or not.
    ///
    /// # Errors
    /// As [`Admin::set_password`].
    pub async fn set_password_keeping(
        &self,
        actor: &Actor,
        username: &str,
        password: &str,
        keep: Option<&str>,
    ) -> Result<User, AccountError> {
        let user = self
            .users
            .set_password_keeping(username, password, keep)
            .await?;
        self.gate.forget_user(user.id);
        self.record(actor, AuditEvent::PasswordChanged, &user, None)
            .await?;
        Ok(user)
    }

    /// Replaces the password of `username` (audit `password_changed`) and ends every session
    /// it had: a new password signs out everywhere the old one was known (SPEC §6).
    ///
    /// # Errors
    /// [`AccountRefusal::NoSuchUser`], an unacceptable password, database errors.
    pub async fn change_password(
        &self,
        actor: &Actor,
        username: &str,
        password: &str,
    ) -> Result<usize, AccountError> {
        let user = self.set_password(actor, username, password).await?;
        let gate = self.gate.clone();
        Ok(run_to_the_end(async move { gate.password_changed(user.id).await }).await?)
    }
}

/// Runs `work` to its end even when the request that started it goes away (a client that
/// disconnects must not stop the ending of an account's sessions half-way), and returns its
/// result to a request still waiting.
///
/// # Errors
/// `work`'s errors; [`StoreError::Task`] if it panicked.
pub async fn run_to_the_end<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, StoreError>> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::spawn(work)
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
}
