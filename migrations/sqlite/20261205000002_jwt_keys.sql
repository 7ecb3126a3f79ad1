-- JWT signing keys (SPEC §7): every access token names its key in its `kid` header; several
-- keys verify while one signs. The signing key is the one whose `retire_at` is NULL (at most
-- one: `jwt_keys_one_signing`). `server keys rotate` adds a new signing key and gives the old
-- one a `retire_at` one `jwt_ttl` ahead: it verifies the tokens it signed until then, and
-- refuses them after. Each key's algorithm (HS256, EdDSA, ES256) is fixed with it.
--
-- `material` is the key itself (hex) when no root secret is configured; with `secret_key`
-- it is NULL, and every instance derives the key from the root secret and the kid, so that
-- the database alone holds no signing key (SPEC §6).
CREATE TABLE jwt_keys (
    kid        TEXT    PRIMARY KEY NOT NULL,
    algorithm  TEXT    NOT NULL,
    material   TEXT,
    created_at INTEGER NOT NULL,
    retire_at  INTEGER
);
CREATE UNIQUE INDEX jwt_keys_one_signing ON jwt_keys ((retire_at IS NULL)) WHERE retire_at IS NULL;

-- Every change of the key set reaches every running server through the change log.
CREATE TRIGGER jwt_keys_inserted AFTER INSERT ON jwt_keys
BEGIN
    INSERT INTO changes (kind, key, at)
        VALUES ('jwt_keys', NEW.kid, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

CREATE TRIGGER jwt_keys_updated AFTER UPDATE ON jwt_keys
BEGIN
    INSERT INTO changes (kind, key, at)
        VALUES ('jwt_keys', NEW.kid, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

CREATE TRIGGER jwt_keys_deleted AFTER DELETE ON jwt_keys
BEGIN
    INSERT INTO changes (kind, key, at)
        VALUES ('jwt_keys', OLD.kid, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

-- The single HMAC key of earlier versions signs nothing any more (its tokens carry no `kid`
-- and are refused; clients refresh): it is not kept.
DELETE FROM server_keys WHERE name = 'jwt_hmac';
