//! Sign-in attempts as the throttle counts them, in the database so that every server
//! instance counts the same ones.
//!
//! An attempt is written before its password is checked, so that attempts running at the same
//! moment see each other and no burst can check more passwords than the limit allows. It is
//! marked failed as soon as the password turns out wrong, and withdrawn when it is no failure
//! (refused by the throttle, turned away while the server is busy, or a success). The typed
//! username is stored only as a short keyed hash (32 bits): people type passwords into that
//! field, and a tag that many strings share cannot confirm a guess even to someone holding a
//! copy of the database and its key.

use crate::server::{db::Database, error::StoreError, keys::SecretKey};
use crate::{clock::UnixMillis, throttle::Attempt};
use sqlx::Row;
use std::net::IpAddr;

/// Keys under which attempts are counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptKeys {
    /// Keyed hash of the username as sign-in matches it ([`crate::username::username_key`] of
    /// at most [`crate::server::users::MAX_USERNAME_LEN`] characters as typed).
    pub user: String,
    /// The client IP; IPv6 addresses by their /64 network, which one client usually holds.
    pub ip: String,
    /// The client's wider network: an IPv6 address's /48 (a site); `None` for IPv4.
    pub net: Option<String>,
}

/// Hex digits of the username tag kept (32 bits).
pub const USER_KEY_HEX_DIGITS: usize = 8;

/// Recent attempts for one username and one client IP.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecentAttempts {
    /// Other attempts for the username, newest first.
    pub user: Vec<Attempt>,
    /// Other attempts from the IP, newest first.
    pub ip: Vec<Attempt>,
    /// Other attempts from the IP's wider network (IPv6 only), newest first.
    pub net: Vec<Attempt>,
}

/// Which count an attempt is looked up by.
#[derive(Debug, Clone, Copy)]
enum KeyColumn {
    User,
    Ip,
    Net,
}

impl KeyColumn {
    const fn name(self) -> &'static str {
        match self {
            KeyColumn::User => "user_key",
            KeyColumn::Ip => "ip_key",
            KeyColumn::Net => "net_key",
        }
    }
}

/// The `login_attempts` table.
#[derive(Debug, Clone)]
pub struct LoginAttempts {
    db: Database,
    key: SecretKey,
}

/// The throttle's key for a client's wider network: the /48 of an IPv6 address (not mapped
/// from IPv4); `None` otherwise.
pub fn net_key(ip: Option<IpAddr>) -> Option<String> {
    match ip {
        Some(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            Some(format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2]))
        }
        _ => None,
    }
}

/// The throttle's key for a client IP: the address, or its /64 network for IPv6.
pub fn ip_key(ip: Option<IpAddr>) -> String {
    match ip {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        None => "unknown".to_owned(),
    }
}

impl LoginAttempts {
    /// The attempts stored in `db`; usernames are hashed under `key`.
    pub fn new(db: Database, key: SecretKey) -> Self {
        Self { db, key }
    }

    /// The keys of an attempt for `username` from `ip`. Only the first
    /// [`MAX_USERNAME_LEN`](crate::server::users::MAX_USERNAME_LEN) characters of what was typed are
    /// looked at (no longer name exists), so the work does not grow with the input.
    pub fn keys(&self, username: &str, ip: Option<IpAddr>) -> AttemptKeys {
        let typed = crate::username::truncate_typed(username);
        let normalised = crate::username::username_key(typed.trim());
        let mut user = self.key.mac_hex(&[b"login-user", normalised.as_bytes()]);
        user.truncate(USER_KEY_HEX_DIGITS);
        AttemptKeys {
            user,
            ip: ip_key(ip),
            net: net_key(ip),
        }
    }

    /// Records an attempt at `at` before its password is checked (pending); returns its id.
    pub async fn begin(&self, keys: &AttemptKeys, at: UnixMillis) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO login_attempts (user_key, ip_key, net_key, at) VALUES ($1, $2, $3, $4) \
             RETURNING id",
        )
        .bind(&keys.user)
        .bind(&keys.ip)
        .bind(keys.net.as_deref())
        .bind(at.as_millis())
        .fetch_one(self.db.pool())
        .await?;
        Ok(row.try_get("id")?)
    }

    /// The newest attempts after `since` for these keys other than attempt `except`: at most
    /// twice `user_limit` for the username and twice `ip_limit` for the IP. That is enough for
    /// the rule: with fewer rows than that it sees them all, and every row it is shown counts
    /// (a failure, a check under way, or an abandoned check, which counts as a failure), so
    /// with that many the limit is reached either way.
    pub async fn recent(
        &self,
        keys: &AttemptKeys,
        since: UnixMillis,
        except: i64,
        user_limit: u32,
        ip_limit: u32,
    ) -> Result<RecentAttempts, StoreError> {
        Ok(RecentAttempts {
            user: self
                .newest(KeyColumn::User, &keys.user, since, except, user_limit)
                .await?,
            ip: self
                .newest(KeyColumn::Ip, &keys.ip, since, except, ip_limit)
                .await?,
            net: match &keys.net {
                Some(net) => {
                    let limit = ip_limit.saturating_mul(crate::throttle::NETWORK_FACTOR);
                    self.newest(KeyColumn::Net, net, since, except, limit)
                        .await?
                }
                None => Vec::new(),
            },
        })
    }

    /// The newest `2 * limit` attempts after `since` under `key` in `column`, other than
    /// attempt `except`; none when `limit` is 0 (that count is off).
    async fn newest(
        &self,
        column: KeyColumn,
        key: &str,
        since: UnixMillis,
        except: i64,
        limit: u32,
    ) -> Result<Vec<Attempt>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(&format!(
            "SELECT at, failed FROM login_attempts \
             WHERE {} = $1 AND at > $2 AND id <> $3 ORDER BY at DESC LIMIT $4",
            column.name()
        ))
        .bind(key)
        .bind(since.as_millis())
        .bind(except)
        .bind(2 * i64::from(limit))
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Attempt {
                    at: UnixMillis(r.try_get("at")?),
                    failed: r.try_get::<i64, _>("failed")? != 0,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Marks attempt `id` as a failure: its password was wrong.
    pub async fn mark_failed(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE login_attempts SET failed = 1 WHERE id = $1")
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Removes attempt `id`: it was not a failure.
    pub async fn withdraw(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_attempts WHERE id = $1")
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// A success: the username's failures no longer count against it (they still count
    /// against the IPs they came from).
    pub async fn clear_user(&self, keys: &AttemptKeys) -> Result<(), StoreError> {
        sqlx::query("UPDATE login_attempts SET user_key = NULL WHERE user_key = $1")
            .bind(&keys.user)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Deletes attempts at or before `before` (outside every window); returns how many.
    pub async fn prune(&self, before: UnixMillis) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM login_attempts WHERE at <= $1")
            .bind(before.as_millis())
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_by_their_network() {
        assert_eq!(ip_key("203.0.113.7".parse().ok()), "203.0.113.7");
        assert_eq!(
            ip_key("2001:db8:1:2:aaaa::1".parse().ok()),
            ip_key("2001:db8:1:2:bbbb::9".parse().ok())
        );
        assert_ne!(
            ip_key("2001:db8:1:2::1".parse().ok()),
            ip_key("2001:db8:1:3::1".parse().ok())
        );
        assert_eq!(ip_key("::ffff:198.51.100.1".parse().ok()), "198.51.100.1");
        assert_eq!(ip_key(None), "unknown");
        assert_eq!(ip_key("not an ip".parse().ok()), "unknown");
    }

    #[test]
    fn ipv6_clients_are_also_counted_by_their_site() {
        assert_eq!(
            net_key("2001:db8:1:2::1".parse().ok()),
            net_key("2001:db8:1:ffff::9".parse().ok())
        );
        assert_eq!(
            net_key("2001:db8:1:2::1".parse().ok()).unwrap(),
            "2001:db8:1::/48"
        );
        assert_ne!(
            net_key("2001:db8:1::1".parse().ok()),
            net_key("2001:db8:2::1".parse().ok())
        );
        assert_eq!(net_key("203.0.113.7".parse().ok()), None);
        assert_eq!(net_key("::ffff:198.51.100.1".parse().ok()), None);
        assert_eq!(net_key(None), None);
    }
}
