-- ip_retention (SPEC §3): once the retention has passed, ended sessions and audit rows keep only
-- the network of their IP addresses (/24, /48) and the parsed device of their user agent.
-- privacy_trimmed marks the rows that are done; the partial indexes find the others without
-- reading the ones already trimmed.
ALTER TABLE sessions ADD COLUMN privacy_trimmed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_log ADD COLUMN privacy_trimmed INTEGER NOT NULL DEFAULT 0;
CREATE INDEX sessions_untrimmed ON sessions (ended_at)
    WHERE privacy_trimmed = 0 AND ended_at IS NOT NULL;
CREATE INDEX audit_log_untrimmed ON audit_log (at) WHERE privacy_trimmed = 0;
