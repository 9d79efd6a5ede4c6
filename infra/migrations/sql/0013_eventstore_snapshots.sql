-- Snapshots of folded aggregate states (infra/eventstore): the latest one per stream, so that the first
-- command on a long stream after a start folds only the events after it. Not in the event log: a
-- snapshot of a 100,000-user account is megabytes (events are capped at 1 MiB) and the log may be an
-- external KurrentDB. A snapshot is a cache: deleting any row, or all, is always safe.
--   revision  the stream revision of the last event folded into data
--   event_id  that event's id: a stream that no longer holds it (deleted, recreated, another log) is
--             folded from its start instead
--   version   the codec's schema version (e.g. account.SnapshotVersion); other versions are ignored
-- data is stored uncompressed: it is compact binary, and decompressing it would cost the load it saves.
CREATE SCHEMA IF NOT EXISTS eventstore;
CREATE TABLE eventstore.snapshots (
	stream   text        PRIMARY KEY,
	revision bigint      NOT NULL CHECK (revision >= 0),
	event_id uuid        NOT NULL,
	version  int         NOT NULL,
	data     bytea       NOT NULL,
	taken_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE eventstore.snapshots ALTER COLUMN data SET STORAGE EXTERNAL;
