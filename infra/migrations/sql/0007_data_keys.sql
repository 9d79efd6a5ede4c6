-- Data keys for message content (architecture §7): one AES-256 key per (tenant, scope, UTC day).
-- Events hold ciphertext and key ids only; destroying a key (destroyed_at set, key bytes erased)
-- makes every copy of that content unreadable, in the event log and in backups of it.
CREATE SCHEMA IF NOT EXISTS keys;
CREATE TABLE keys.data_keys (
	key_id       text PRIMARY KEY,
	tenant       text NOT NULL,
	scope        text NOT NULL,
	day          date NOT NULL,
	key          bytea,
	created_at   timestamptz NOT NULL DEFAULT now(),
	destroyed_at timestamptz,
	UNIQUE (tenant, scope, day)
);
