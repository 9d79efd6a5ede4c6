-- Subject keys (crypto-shredding of credentials, architecture §7): one AES-256 key per subject of a
-- tenant — a user ("user/<id>") or a bot ("bot/<id>") of an account — under which the subject's
-- credentials (bcrypt password hash, personal PIN, bot security token) are sealed before they enter
-- the event log. Deleting the subject destroys its key (destroyed_at set, key bytes erased): every
-- copy of its credentials, in the log, the read models and backups, becomes unreadable. A destroyed
-- key is never re-created (its row stays). Tenant "belfry" holds installation-wide index keys (HMAC
-- keys that name reservation streams without putting the reserved value in the log).
CREATE SCHEMA IF NOT EXISTS keys;
CREATE TABLE keys.subject_keys (
	key_id       text PRIMARY KEY,
	tenant       text NOT NULL,
	subject      text NOT NULL,
	key          bytea,
	created_at   timestamptz NOT NULL DEFAULT now(),
	destroyed_at timestamptz,
	UNIQUE (tenant, subject)
);
