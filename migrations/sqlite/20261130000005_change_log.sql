-- What cached copies of sessions and accounts must drop, whoever wrote it (the server, the
-- command line, a script): every session end, every change of a session's data and every
-- change of an account's password, status, role or name is logged here. A running server reads
-- the rows after the last one it saw four times a second (SQLite has no notifications);
-- rows are pruned after ten minutes. Activity is not logged: SQLite serves one server instance.
CREATE TABLE changes (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT    NOT NULL,
    key  TEXT    NOT NULL,
    at   INTEGER NOT NULL
);
CREATE INDEX changes_at ON changes (at);

CREATE TRIGGER sessions_ended AFTER UPDATE OF ended_at ON sessions
    WHEN OLD.ended_at IS NULL AND NEW.ended_at IS NOT NULL
BEGIN
    INSERT INTO changes (kind, key, at)
        VALUES ('session', NEW.id_hash, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

CREATE TRIGGER sessions_data_changed AFTER UPDATE OF data ON sessions
    WHEN OLD.data IS NOT NEW.data AND NEW.ended_at IS NULL
BEGIN
    INSERT INTO changes (kind, key, at)
        VALUES ('session', NEW.id_hash, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

CREATE TRIGGER users_changed AFTER UPDATE OF password_hash, disabled_at, is_admin, username ON users
    WHEN OLD.password_hash IS NOT NEW.password_hash
      OR OLD.disabled_at IS NOT NEW.disabled_at
      OR OLD.is_admin IS NOT NEW.is_admin
      OR OLD.username IS NOT NEW.username
BEGIN
    INSERT INTO changes (kind, key, at)
        VALUES ('user', CAST(NEW.id AS TEXT), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

CREATE TRIGGER users_deleted AFTER DELETE ON users
BEGIN
    INSERT INTO changes (kind, key, at)
        VALUES ('user', CAST(OLD.id AS TEXT), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
