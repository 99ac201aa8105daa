-- Sign-in for people: a password (Argon2id PHC string; NULL until one is set), sessions stored
-- as digests of their cookie token (so any instance accepts them), and the back-off state of
-- failed sign-ins per handle and per client address.
ALTER TABLE users ADD COLUMN password_hash TEXT;
CREATE TABLE sessions (
    token_digest TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);
CREATE TABLE login_failures (
    subject TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failed_at INTEGER NOT NULL,
    blocked_until INTEGER NOT NULL
);
