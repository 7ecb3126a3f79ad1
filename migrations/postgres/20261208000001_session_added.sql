-- Every instance keeps the device lists it served in memory (an account's live sessions): a
-- sign-in on any instance must reach them all. Each new session of an account is logged and
-- announced as `session_added` with the account's id.
CREATE FUNCTION auto_logout_session_added() RETURNS TRIGGER AS $$
BEGIN
    PERFORM auto_logout_log_change('session_added', NEW.user_id::TEXT);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER sessions_added AFTER INSERT ON sessions
    FOR EACH ROW WHEN (NEW.user_id IS NOT NULL) EXECUTE FUNCTION auto_logout_session_added();
