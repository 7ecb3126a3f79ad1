-- What cached copies of sessions and accounts must drop, whoever wrote it (any server instance,
-- the command line, a script): every session end, every change of a session's data and every
-- change of an account's password, status, role or name is logged here and announced on the
-- channel `auto_logout_changes` (payload `session:<seq>:<id_hash>` or `user:<seq>:<id>`). Activity is only
-- announced (`activity:<id_hash>:<last_seen_at>`): it is frequent, and a missed announcement
-- only makes another instance show a slightly older idle deadline, never end a session early.
-- Servers apply announcements at once; the log is their safety net (read every 10 s, and
-- after a lost connection), pruned after ten minutes.
CREATE TABLE changes (
    seq  BIGSERIAL PRIMARY KEY,
    kind TEXT   NOT NULL,
    key  TEXT   NOT NULL,
    at   BIGINT NOT NULL
);
CREATE INDEX changes_at ON changes (at);

CREATE FUNCTION auto_logout_log_change(change_kind TEXT, change_key TEXT) RETURNS VOID AS $$
DECLARE
    logged BIGINT;
BEGIN
    INSERT INTO changes (kind, key, at)
        VALUES (change_kind, change_key, (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT)
        RETURNING seq INTO logged;
    PERFORM pg_notify('auto_logout_changes', change_kind || ':' || logged || ':' || change_key);
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION auto_logout_session_changed() RETURNS TRIGGER AS $$
BEGIN
    IF (OLD.ended_at IS NULL AND NEW.ended_at IS NOT NULL) OR OLD.data IS DISTINCT FROM NEW.data THEN
        PERFORM auto_logout_log_change('session', NEW.id_hash);
    ELSIF NEW.ended_at IS NULL AND NEW.last_seen_at > OLD.last_seen_at THEN
        PERFORM pg_notify('auto_logout_changes',
                          'activity:' || NEW.id_hash || ':' || NEW.last_seen_at);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER sessions_changed AFTER UPDATE OF ended_at, data, last_seen_at ON sessions
    FOR EACH ROW EXECUTE FUNCTION auto_logout_session_changed();

CREATE FUNCTION auto_logout_user_changed() RETURNS TRIGGER AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM auto_logout_log_change('user', OLD.id::TEXT);
    ELSIF OLD.password_hash IS DISTINCT FROM NEW.password_hash
       OR OLD.disabled_at IS DISTINCT FROM NEW.disabled_at
       OR OLD.is_admin IS DISTINCT FROM NEW.is_admin
       OR OLD.username IS DISTINCT FROM NEW.username THEN
        PERFORM auto_logout_log_change('user', NEW.id::TEXT);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER users_changed AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION auto_logout_user_changed();
