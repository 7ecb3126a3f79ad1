-- Failed sign-in attempts, and those whose password is still being checked (`failed` = 0), for
-- throttling (SPEC §6). `user_key` is a short keyed hash of the typed username (people type
-- passwords there), NULL once a success cleared it; `ip_key` is the client IP (IPv6 by /64).
-- Rows older than `login_lockout` are pruned.
CREATE TABLE login_attempts (
    id       BIGSERIAL PRIMARY KEY,
    user_key TEXT,
    ip_key   TEXT    NOT NULL,
    at       BIGINT  NOT NULL,
    failed   BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX login_attempts_user ON login_attempts (user_key, at);
CREATE INDEX login_attempts_ip ON login_attempts (ip_key, at);
CREATE INDEX login_attempts_at ON login_attempts (at);

-- Secrets generated once and shared by every instance on this database.
CREATE TABLE server_keys (
    name       TEXT    PRIMARY KEY NOT NULL,
    value      TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);

-- Session data written before this migration holds the raw password hash (axum-login's auth
-- hash); it is scrubbed, which signs those sessions out.
UPDATE sessions SET ended_at = last_seen_at, end_reason = 'revoked',
    detail = 'signed out by the upgrade that removed password hashes from session data'
    WHERE ended_at IS NULL;
UPDATE sessions SET data = '{}';
