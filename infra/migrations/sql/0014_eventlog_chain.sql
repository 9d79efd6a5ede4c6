-- Tamper evidence (infra/eventlog/chain): each event's digest and the chain hash linking it to every
-- event before it, written by the log's writer in the same statement as the event; rows stored before
-- this version are chained by the writer at its next start. Signed checkpoints pin the chain.
ALTER TABLE eventlog.events ADD COLUMN IF NOT EXISTS digest bytea, ADD COLUMN IF NOT EXISTS chain bytea;
CREATE TABLE IF NOT EXISTS eventlog.checkpoints (
	position  bigint PRIMARY KEY,
	chain     bytea       NOT NULL,
	signature bytea       NOT NULL,
	key_id    text        NOT NULL,
	signed_at timestamptz NOT NULL DEFAULT now()
);
