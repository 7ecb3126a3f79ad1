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
    kid        TEXT   PRIMARY KEY NOT NULL,
    algorithm  TEXT   NOT NULL,
    material   TEXT,
    created_at BIGINT NOT NULL,
    retire_at  BIGINT
);
CREATE UNIQUE INDEX jwt_keys_one_signing ON jwt_keys ((retire_at IS NULL)) WHERE retire_at IS NULL;

-- Every change of the key set reaches every running server through the change log (and its
-- announcement on `auto_logout_changes`: `jwt_keys:<seq>:<kid>`).
CREATE FUNCTION auto_logout_jwt_keys_changed() RETURNS TRIGGER AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM auto_logout_log_change('jwt_keys', OLD.kid);
    ELSE
        PERFORM auto_logout_log_change('jwt_keys', NEW.kid);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER jwt_keys_changed AFTER INSERT OR UPDATE OR DELETE ON jwt_keys
    FOR EACH ROW EXECUTE FUNCTION auto_logout_jwt_keys_changed();

-- The single HMAC key of earlier versions signs nothing any more (its tokens carry no `kid`
-- and are refused; clients refresh): it is not kept.
DELETE FROM server_keys WHERE name = 'jwt_hmac';
