-- The re-authentication window (SPEC §3 reauth_window): when the person of a session last proved
-- their password again. NULL: not since signing in, so the sign-in (created_at) is the last proof.
-- A session id cycle moves the row in place and keeps it.
ALTER TABLE sessions ADD COLUMN reauth_at BIGINT;
