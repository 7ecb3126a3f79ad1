-- The expiry sweep finds the live sessions past a limit by index ranges, per class: browser
-- sessions with and without "Remember me", API sessions, and administrators' sessions.
-- Without these it walked every live session once a second.
CREATE INDEX sessions_live_last_seen ON sessions (kind, remember, last_seen_at) WHERE ended_at IS NULL;
CREATE INDEX sessions_live_signed_in ON sessions (kind, remember, created_at) WHERE ended_at IS NULL;
CREATE INDEX users_admins ON users (id) WHERE is_admin <> 0;

-- Every lookup these served is served by a longer index that starts with the same columns
-- (sessions_live_created, sessions_user_live_created); each session end updated them all.
DROP INDEX sessions_active;
DROP INDEX sessions_user_active;
