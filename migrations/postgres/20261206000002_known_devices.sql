-- "A sign-in from a device never seen for this account is marked new" (SPEC §4): the devices
-- each account has signed in from, as the engine parses them from the user agent (browser;
-- operating system; device type, never the user agent itself), and the mark on the session
-- that first came from one.
CREATE TABLE known_devices (
    user_id    BIGINT NOT NULL,
    device     TEXT    NOT NULL,
    first_seen BIGINT NOT NULL,
    PRIMARY KEY (user_id, device)
);
ALTER TABLE sessions ADD COLUMN new_device INTEGER NOT NULL DEFAULT 0;
