-- Refresh tokens of API sessions signed in with a JWT (SPEC §7). Only the SHA-256 of a token
-- is stored. A token is used once (`used_at` set); presenting it again ends its session.
CREATE TABLE refresh_tokens (
    token_hash   TEXT    PRIMARY KEY NOT NULL,
    session_hash TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    used_at      INTEGER
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_hash);
