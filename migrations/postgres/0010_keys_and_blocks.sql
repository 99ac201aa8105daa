-- Named API keys (Virtool's account keys): a user has any number, each listed by id and name and
-- shown once; the key each user was created with becomes the first of them. `users.key_digest`
-- is no longer read (new users store ''). Users can be deactivated (`active` 0): their keys,
-- sessions and sign-ins are refused.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    key_digest TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE INDEX api_keys_user ON api_keys (user_id, created_at);
INSERT INTO api_keys (id, user_id, name, key_digest, created_at)
    SELECT id, id, 'Created with the user', key_digest, created_at FROM users WHERE key_digest <> '';
ALTER TABLE users ADD COLUMN active BIGINT NOT NULL DEFAULT 1;
-- Sign-in back-off rows now name what they count: a handle from one address, an address, or a
-- handle from everywhere (src/ops/sessions.rs); the old per-handle rows are dropped.
DELETE FROM login_failures;
ALTER TABLE login_failures ADD COLUMN handle TEXT;
ALTER TABLE login_failures ADD COLUMN address TEXT;
CREATE INDEX login_failures_handle ON login_failures (handle);
CREATE INDEX login_failures_address ON login_failures (address);
