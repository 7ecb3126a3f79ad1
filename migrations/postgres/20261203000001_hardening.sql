-- Hardening, round two.
--
-- credential_epoch: counts the account's credential changes (password, disabled or enabled).
-- A sign-in remembers the epoch its password was checked under; storing its session re-checks
-- it in the same transaction, so a sign-in checked before a change never yields a live session.
-- Each session keeps the epoch it was made under: one whose account has moved on (or is
-- disabled) is refused, and ended, when next presented, even if the change's own ending of the
-- account's sessions never finished.
ALTER TABLE sessions ADD COLUMN credential_epoch BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN credential_epoch BIGINT NOT NULL DEFAULT 0;

-- username_key: the name as sign-in matches it (Unicode NFKC, then case folding), unique.
-- Filled by the server at start-up for accounts made before it; an account whose key another
-- account already holds keeps NULL here and is reported.
ALTER TABLE users ADD COLUMN username_key TEXT;
CREATE UNIQUE INDEX users_by_username_key ON users (username_key);

-- A session whose id is cycled (a credential change) keeps its row under a new id hash; every
-- cached copy of the old hash must go at once, on every instance.
CREATE OR REPLACE FUNCTION auto_logout_session_changed() RETURNS TRIGGER AS $$
BEGIN
    IF OLD.id_hash IS DISTINCT FROM NEW.id_hash THEN
        PERFORM auto_logout_log_change('session', OLD.id_hash);
    END IF;
    IF (OLD.ended_at IS NULL AND NEW.ended_at IS NOT NULL) OR OLD.data IS DISTINCT FROM NEW.data THEN
        PERFORM auto_logout_log_change('session', NEW.id_hash);
    ELSIF NEW.ended_at IS NULL AND NEW.last_seen_at > OLD.last_seen_at THEN
        PERFORM pg_notify('auto_logout_changes',
                          'activity:' || NEW.id_hash || ':' || NEW.last_seen_at);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER sessions_changed ON sessions;
CREATE TRIGGER sessions_changed AFTER UPDATE OF ended_at, data, last_seen_at, id_hash ON sessions
    FOR EACH ROW EXECUTE FUNCTION auto_logout_session_changed();

-- access_hash: SHA-256 of the random `jti` of the JWT access token issued with this refresh
-- token. Only the holder of the token knows the `jti`, so a copy of the database cannot mint
-- a token that verifies.
ALTER TABLE refresh_tokens ADD COLUMN access_hash TEXT;
CREATE INDEX refresh_tokens_access ON refresh_tokens (access_hash);

-- repeat_count: how many refused attempts one `login_throttled` row stands for (one row per
-- username or address per minute).
ALTER TABLE audit_log ADD COLUMN repeat_count BIGINT NOT NULL DEFAULT 1;

-- net_key: the client's wider network (an IPv6 /48), counted too, so that one site cannot
-- spread its attempts over 65,536 /64 networks.
ALTER TABLE login_attempts ADD COLUMN net_key TEXT;
CREATE INDEX login_attempts_net ON login_attempts (net_key, at);
