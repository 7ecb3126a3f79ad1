-- Every server keeps the device lists it served in memory (an account's live sessions): a
-- sign-in anywhere (another process on this file, the command line) must reach them. Each new
-- session of an account is logged as `session_added` with the account's id.
CREATE TRIGGER sessions_added AFTER INSERT ON sessions
    WHEN NEW.user_id IS NOT NULL
BEGIN
    INSERT INTO changes (kind, key, at)
        VALUES ('session_added', CAST(NEW.user_id AS TEXT),
                CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
