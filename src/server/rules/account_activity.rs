//! "Was this you?" (SPEC §4 `/account/activity`): a person's own sign-ins, sign-outs and failed
//! attempts, and "This wasn't me", which signs out every session of the account and sends its
//! next sign-in to a new password.

use crate::{
    account_activity::{
        what_happened, AccountActivityEntry, AccountActivityPage, ActivityCursor, ACCOUNT_EVENTS,
        ACTIVITY_PAGE_SIZE,
    },
    event::AuditEvent,
    privacy::truncate_ip,
    server::{
        audit::AuditLog, devices::describe, error::StoreError, gate::SessionGate,
        sessions::ClientInfo, store::NEW_DEVICE_DETAIL, users::Users,
    },
};

/// The detail of the `revoked` entries "This wasn't me" writes.
pub const NOT_ME_DETAIL: &str = "the account holder did not recognise a sign-in";

/// A person's view of their account's history.
#[derive(Debug, Clone)]
pub struct AccountActivity {
    audit: AuditLog,
    users: Users,
    gate: SessionGate,
}

impl AccountActivity {
    /// The history in `audit`; "This wasn't me" marks `users` and signs out through `gate`.
    pub fn new(audit: AuditLog, users: Users, gate: SessionGate) -> Self {
        Self { audit, users, gate }
    }

    /// One page of the account `user_id`'s activity, newest first, older than `before` when
    /// given ([`ACTIVITY_PAGE_SIZE`] entries; `older` is the next page's cursor).
    ///
    /// # Errors
    /// Database errors.
    pub async fn page(
        &self,
        user_id: i64,
        before: Option<ActivityCursor>,
    ) -> Result<AccountActivityPage, StoreError> {
        let mut rows = self
            .audit
            .of_account(user_id, &ACCOUNT_EVENTS, before, ACTIVITY_PAGE_SIZE + 1)
            .await?;
        let older = (rows.len() > ACTIVITY_PAGE_SIZE).then(|| {
            rows.truncate(ACTIVITY_PAGE_SIZE);
            rows.last().map(|last| {
                ActivityCursor {
                    at: last.at,
                    id: last.id,
                }
                .to_string()
            })
        });
        let entries = rows
            .into_iter()
            .map(|row| {
                let event = row.event.parse::<AuditEvent>().ok();
                let info = describe(row.user_agent.as_deref());
                AccountActivityEntry {
                    what: event.map_or("Something happened", what_happened).to_owned(),
                    new_device: event == Some(AuditEvent::Login)
                        && row.detail.as_deref() == Some(NEW_DEVICE_DETAIL),
                    event: row.event,
                    at: row.at,
                    device: format!("{} on {}", info.browser, info.os),
                    place: row.ip.as_deref().and_then(|ip| truncate_ip(ip).stored(ip)),
                }
            })
            .collect();
        Ok(AccountActivityPage {
            entries,
            older: older.flatten(),
        })
    }

    /// "This wasn't me": the account `user_id` must choose a new password after its next
    /// sign-in, and every one of its sessions ends now, this one included (each audited
    /// `revoked`, by the account itself, [`NOT_ME_DETAIL`]). Returns how many ended.
    ///
    /// # Errors
    /// Database errors; the mark is written first, so that a failure part-way never leaves the
    /// account signed out without it.
    pub async fn not_me(&self, user_id: i64, client: &ClientInfo) -> Result<usize, StoreError> {
        self.users.require_password_change(user_id).await?;
        self.gate
            .revoke_everywhere(user_id, Some(user_id), NOT_ME_DETAIL, client)
            .await
    }

    /// Whether the account `user_id` must choose a new password before anything else.
    ///
    /// # Errors
    /// Database errors.
    pub async fn password_change_required(&self, user_id: i64) -> Result<bool, StoreError> {
        self.users.password_change_required(user_id).await
    }
}
