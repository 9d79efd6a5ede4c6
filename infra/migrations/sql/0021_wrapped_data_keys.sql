-- Wrapped data keys and per-message keys (infra/datakeys, architecture §7).
--
-- Key-encryption keys (KEKs) live outside Postgres, in a keyring (a file under the data directory
-- by default, or a KMS): keys.keks only names them. A period KEK is one per (tenant, class, UTC day)
-- — the unit a retention purge destroys; a scope KEK is a scope's (a room's) current one, replaced
-- on every redaction and destroyed with the room. A day's data key is stored
-- only wrapped under its scope KEK and then its period KEK; destroying either KEK in the keyring
-- makes the wrapped key useless in every copy of this database (WAL, backups, replicas).
-- The plaintext column keys.data_keys.key is emptied (and dropped) at the first start, once every
-- key in it has been wrapped.
CREATE TABLE keys.keks (
	kek_id       text PRIMARY KEY,
	kind         text NOT NULL CHECK (kind IN ('period', 'scope')),
	tenant       text NOT NULL,
	class        text NOT NULL,          -- period: "room", "conversation"…; scope: the scope ("room/<id>")
	day          date,                   -- period KEKs
	created_at   timestamptz NOT NULL DEFAULT now(),
	destroyed_at timestamptz,            -- nothing is wrapped under it any more; never unset
	erased_at    timestamptz             -- the keyring no longer holds it
);
CREATE INDEX keks_due ON keys.keks (tenant, class, day) WHERE kind = 'period' AND destroyed_at IS NULL;
CREATE INDEX keks_unerased ON keys.keks (kek_id) WHERE destroyed_at IS NOT NULL AND erased_at IS NULL;

-- The current scope KEK of every scope that has sealed something; destroyed_at: the scope (a
-- deleted room) never seals again.
CREATE TABLE keys.scopes (
	tenant       text NOT NULL,
	scope        text NOT NULL,
	kek_id       text NOT NULL,
	destroyed_at timestamptz,
	PRIMARY KEY (tenant, scope)
);

ALTER TABLE keys.data_keys
	ADD COLUMN wrapped    bytea,
	ADD COLUMN period_kek text,
	ADD COLUMN scope_kek  text,
	ADD COLUMN gen        int NOT NULL DEFAULT 0,
	ADD COLUMN cleared_at timestamptz;     -- a destroyed key's message keys are all deleted
CREATE INDEX data_keys_period ON keys.data_keys (period_kek) WHERE wrapped IS NOT NULL;
CREATE INDEX data_keys_scope ON keys.data_keys (tenant, scope) WHERE wrapped IS NOT NULL;
CREATE INDEX data_keys_uncleared ON keys.data_keys (key_id) WHERE destroyed_at IS NOT NULL AND cleared_at IS NULL;

-- One key per message, wrapped under its day's data key: redacting a message deletes its row and
-- rotates the day key and the scope epoch, so no surviving key opens it (the log keeps ciphertext).
CREATE TABLE keys.message_keys (
	key_id      text PRIMARY KEY,
	data_key_id text NOT NULL,
	wrapped     bytea NOT NULL
);
CREATE INDEX message_keys_day ON keys.message_keys (data_key_id);

-- A room-day may have a key of the first version (content sealed directly under it) and one of this
-- version (message keys wrapped under it): they differ by key id.
ALTER TABLE keys.data_keys DROP CONSTRAINT IF EXISTS data_keys_tenant_scope_day_key;
