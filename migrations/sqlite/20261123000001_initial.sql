-- Accounts, sessions and the audit log. Times are milliseconds since the Unix epoch.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    is_admin      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

-- One row per session ever started. `id_hash` is the SHA-256 (hex) of the session id:
-- the raw id lives only in the person's cookie. Rows are never deleted on sign-out; they are
-- ended (ended_at, end_reason) so that a request in flight cannot bring them back.
CREATE TABLE sessions (
    id_hash      TEXT    PRIMARY KEY NOT NULL,
    user_id      INTEGER REFERENCES users(id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL DEFAULT 'browser',
    data         TEXT    NOT NULL,
    remember     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    ip           TEXT,
    last_ip      TEXT,
    user_agent   TEXT,
    ended_at     INTEGER,
    end_reason   TEXT,
    ended_by     INTEGER,
    detail       TEXT
);
CREATE INDEX sessions_user_active ON sessions (user_id, ended_at);
CREATE INDEX sessions_active ON sessions (ended_at);

CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    event        TEXT    NOT NULL,
    at           INTEGER NOT NULL,
    user_id      INTEGER,
    username     TEXT,
    session_hash TEXT,
    ip           TEXT,
    user_agent   TEXT,
    actor_id     INTEGER,
    detail       TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_user ON audit_log (user_id, at);
