-- Accounts an administrator disabled (SPEC §4): they cannot sign in; NULL while enabled.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
