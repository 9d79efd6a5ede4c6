-- The Wickr end users' client API (api/wickr/client).
--
-- Sessions, one row per bearer token, keyed by the token's SHA-256 (never the token). A session is
-- opened by a device (app_id) of a user of a network; whether it is still open is decided from the
-- user's roster at each use (roster.CheckSession). An SSO session also keeps what renews it at the
-- identity provider: the refresh token sealed under the user's key (sso_refresh_key names the key;
-- destroyed with the user), when the provider's tokens expire, and since when refreshing fails (the
-- token-refresh grace period, guide §4.3, counts from there).
CREATE TABLE IF NOT EXISTS client.wickr_sessions (
	token_hash        text        PRIMARY KEY,
	network_id        text        NOT NULL,
	user_id           text        NOT NULL,
	app_id            text        NOT NULL,
	issued_at         timestamptz NOT NULL,
	sso               boolean     NOT NULL DEFAULT false,
	sso_expires_at    timestamptz,
	sso_refresh_key   text        NOT NULL DEFAULT '',
	sso_refresh       bytea,
	refresh_failed_at timestamptz
);
CREATE INDEX IF NOT EXISTS wickr_sessions_user ON client.wickr_sessions (network_id, user_id);

