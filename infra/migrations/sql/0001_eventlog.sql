-- The embedded event log: one row per event; position is the $all position.
CREATE SCHEMA IF NOT EXISTS eventlog;
CREATE TABLE IF NOT EXISTS eventlog.events (
	position     bigint PRIMARY KEY,
	stream       text   NOT NULL,
	revision     bigint NOT NULL,
	event_id     uuid   NOT NULL,
	event_type   text   NOT NULL,
	content_type text   NOT NULL,
	created      bigint NOT NULL,
	data         bytea  NOT NULL,
	metadata     bytea  NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS events_stream_revision ON eventlog.events (stream, revision);
