-- What a person says about themselves on /account: a display name and an email address, both
-- optional. A change to either is logged like any other account change, so that every instance
-- drops its cached copy of the account (the greeting shows the new name at once everywhere).
ALTER TABLE users ADD COLUMN display_name TEXT;
ALTER TABLE users ADD COLUMN email TEXT;

DROP TRIGGER users_changed;
CREATE TRIGGER users_changed
    AFTER UPDATE OF password_hash, disabled_at, is_admin, username, display_name, email ON users
    WHEN OLD.password_hash IS NOT NEW.password_hash
      OR OLD.disabled_at IS NOT NEW.disabled_at
      OR OLD.is_admin IS NOT NEW.is_admin
      OR OLD.username IS NOT NEW.username
      OR OLD.display_name IS NOT NEW.display_name
      OR OLD.email IS NOT NEW.email
BEGIN
    INSERT INTO changes (kind, key, at)
        VALUES ('user', CAST(NEW.id AS TEXT), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
