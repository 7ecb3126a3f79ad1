-- Accounts of an application that keeps its own users (the engine adopts its axum-login
-- backend): each of its users the engine has seen has a row here, found by the application's
-- own id. Its password stays with the application; the row's password_hash holds only a keyed
-- fingerprint of the application's session auth hash (`external$…`), which no password matches.
ALTER TABLE users ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX users_by_external_id ON users (external_id);
