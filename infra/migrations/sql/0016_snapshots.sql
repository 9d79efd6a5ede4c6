-- Snapshots of the read models as of a past instant (projections/snapshot.go): each is built from
-- position 0 up to target_position into its own schema "snap_<name>", never touching the live read
-- models. reached_position is written in the same transaction as the rows it covers, so an
-- interrupted build resumes from it. Only a ready snapshot is served or exported. While it builds, its
-- tables are unlogged and their secondary indexes (deferred_indexes) wait for the end.
CREATE TABLE IF NOT EXISTS projections.snapshots (
	name             text        PRIMARY KEY,
	as_of            timestamptz,          -- the time asked for (NULL when a position was)
	target_position  bigint      NOT NULL, -- the last event at or before the instant
	reached_position bigint      NOT NULL DEFAULT 0,
	events           bigint      NOT NULL DEFAULT 0, -- events read so far
	parked           int         NOT NULL DEFAULT 0, -- events a read model could not apply
	status           text        NOT NULL DEFAULT 'building' CHECK (status IN ('building', 'ready', 'failed')),
	error            text        NOT NULL DEFAULT '',
	deferred_indexes text[]      NOT NULL DEFAULT '{}',
	created_at       timestamptz NOT NULL DEFAULT now(),
	updated_at       timestamptz NOT NULL DEFAULT now()
);
