-- Client sessions: only the hash of a session token is stored. A session is valid while its user is
-- registered, not suspended, and was not forcibly logged out after the session was issued.
CREATE SCHEMA IF NOT EXISTS client;
CREATE TABLE client.sessions (
	token_hash text PRIMARY KEY,
	user_id    text NOT NULL,
	account_id text NOT NULL,
	issued_at  timestamptz NOT NULL
);
CREATE INDEX ON client.sessions (user_id);
