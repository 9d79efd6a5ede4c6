-- The position each read model of a snapshot has reached (projections/snapshot_build.go): a build
-- applies every read model on its own connection, and each moves its row here in the same
-- transaction as its rows, so an interrupted build resumes each read model where it stopped.
-- projections.snapshots.reached_position is the least of them (written after them: a resumed build
-- reads the log again from it, and each read model skips what it has applied).
CREATE TABLE IF NOT EXISTS projections.snapshot_positions (
	snapshot   text        NOT NULL REFERENCES projections.snapshots (name) ON DELETE CASCADE,
	projection text        NOT NULL,
	position   bigint      NOT NULL DEFAULT 0,
	events     bigint      NOT NULL DEFAULT 0, -- events this read model applied
	parked     int         NOT NULL DEFAULT 0, -- events it could not apply
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (snapshot, projection)
);
