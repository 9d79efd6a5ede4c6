-- Chime attachments (infra/blobstore, issue 13): the bytes live encrypted in a content-addressed
-- directory under the data directory (blob = SHA-256 of the stored file, computed by the server); each
-- attachment is encrypted under a content key of its own (infra/datakeys, a message key of the
-- container's day), so destroying that key (redaction, retention, room deletion) shreds it, and the
-- sweep then deletes its blob and this row. Names and plaintext hashes are stored only sealed.
CREATE SCHEMA IF NOT EXISTS blobs;
CREATE TABLE blobs.attachments (
	attachment_id text PRIMARY KEY,
	account_id    text NOT NULL,      -- the uploader's account: the content key's tenant
	container     text NOT NULL CHECK (container IN ('room', 'conversation')),
	container_id  text NOT NULL,
	message_id    text NOT NULL,
	uploader_id   text NOT NULL,
	key_id        text NOT NULL,
	blob          text NOT NULL CHECK (blob ~ '^[0-9a-f]{64}$'),
	size          bigint NOT NULL CHECK (size >= 0),
	content_type  text NOT NULL,
	sealed_meta   bytea NOT NULL,      -- {"name","sha256"} sealed under the content key
	created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attachments_message ON blobs.attachments (message_id);
CREATE INDEX attachments_uploader ON blobs.attachments (account_id, uploader_id, created_at);
CREATE INDEX attachments_container ON blobs.attachments (container_id, created_at);

-- Attachment exports of guide §5.6: a manifest of pre-signed URLs, one per attachment, valid 6 days;
-- one request per account every 7 days.
CREATE TABLE blobs.data_exports (
	export_id    text PRIMARY KEY,
	account_id   text NOT NULL,
	user_id      text NOT NULL,
	status       text NOT NULL CHECK (status IN ('Running', 'Ready', 'Failed')),
	requested_by text NOT NULL,
	requested_at timestamptz NOT NULL,
	ready_at     timestamptz,
	expires_at   timestamptz,
	manifest_key text,
	attachments  integer,
	error        text
);
CREATE INDEX data_exports_account ON blobs.data_exports (account_id, requested_at DESC);
