-- The admin console's lists on large tables: the activity log newest first by user, by event,
-- or both, and every session newest first (all, live only, or per user).
CREATE INDEX audit_log_username_id ON audit_log (username, id);
CREATE INDEX audit_log_event_id ON audit_log (event, id);
CREATE INDEX audit_log_username_event_id ON audit_log (username, event, id);
CREATE INDEX sessions_created ON sessions (created_at, id_hash);
CREATE INDEX sessions_live_created ON sessions (ended_at, created_at, id_hash);
CREATE INDEX sessions_user_created ON sessions (user_id, created_at, id_hash);
CREATE INDEX sessions_user_live_created ON sessions (user_id, ended_at, created_at, id_hash);
