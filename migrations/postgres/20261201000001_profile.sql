-- What a person says about themselves on /account: a display name and an email address, both
-- optional. A change to either is logged like any other account change, so that every instance
-- drops its cached copy of the account (the greeting shows the new name at once everywhere).
ALTER TABLE users ADD COLUMN display_name TEXT;
ALTER TABLE users ADD COLUMN email TEXT;

CREATE OR REPLACE FUNCTION auto_logout_user_changed() RETURNS TRIGGER AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM auto_logout_log_change('user', OLD.id::TEXT);
    ELSIF OLD.password_hash IS DISTINCT FROM NEW.password_hash
       OR OLD.disabled_at IS DISTINCT FROM NEW.disabled_at
       OR OLD.is_admin IS DISTINCT FROM NEW.is_admin
       OR OLD.username IS DISTINCT FROM NEW.username
       OR OLD.display_name IS DISTINCT FROM NEW.display_name
       OR OLD.email IS DISTINCT FROM NEW.email THEN
        PERFORM auto_logout_log_change('user', NEW.id::TEXT);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
