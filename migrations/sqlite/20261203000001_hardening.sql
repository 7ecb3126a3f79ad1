-- Hardening, round two.
--
-- credential_epoch: counts the account's credential changes (password, disabled or enabled).
-- A sign-in remembers the epoch its password was checked under; storing its session re-checks
-- it in the same transaction, so a sign-in checked before a change never yields a live session.
-- Each session keeps the epoch it was made under: one whose account has moved on (or is
-- disabled) is refused, and ended, when next presented, even if the change's own ending of the
-- account's sessions never finished.
ALTER TABLE sessions ADD COLUMN credential_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN credential_epoch INTEGER NOT NULL DEFAULT 0;

-- username_key: the name as sign-in matches it (Unicode NFKC, then case folding), unique.
-- Filled by the server at start-up for accounts made before it (SQLite cannot normalise);
-- an account whose key another account already holds keeps NULL here and is reported.
ALTER TABLE users ADD COLUMN username_key TEXT;
CREATE UNIQUE INDEX users_by_username_key ON users (username_key);

-- A session whose id is cycled (a credential change) keeps its row under a new id hash; every
-- cached copy of the old hash must go at once, on every instance.
CREATE TRIGGER sessions_id_cycled AFTER UPDATE OF id_hash ON sessions
    WHEN OLD.id_hash IS NOT NEW.id_hash
BEGIN
    INSERT INTO changes (kind, key, at)
        VALUES ('session', OLD.id_hash, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

-- access_hash: SHA-256 of the random `jti` of the JWT access token issued with this refresh
-- token. Only the holder of the token knows the `jti`, so a copy of the database cannot mint
-- a token that verifies.
ALTER TABLE refresh_tokens ADD COLUMN access_hash TEXT;
CREATE INDEX refresh_tokens_access ON refresh_tokens (access_hash);

-- repeat_count: how many refused attempts one `login_throttled` row stands for (one row per
-- username or address per minute).
ALTER TABLE audit_log ADD COLUMN repeat_count INTEGER NOT NULL DEFAULT 1;

-- net_key: the client's wider network (an IPv6 /48), counted too, so that one site cannot
-- spread its attempts over 65,536 /64 networks.
ALTER TABLE login_attempts ADD COLUMN net_key TEXT;
CREATE INDEX login_attempts_net ON login_attempts (net_key, at);
