-- Projection registry (active generation per read model) and checkpoints per generation.
CREATE SCHEMA IF NOT EXISTS projections;
CREATE SCHEMA IF NOT EXISTS rm;
CREATE TABLE IF NOT EXISTS projections.registry (
	name              text PRIMARY KEY,
	active_generation int  NOT NULL,
	version           int  NOT NULL,
	updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS projections.checkpoints (
	name       text NOT NULL,
	generation int  NOT NULL,
	version    int  NOT NULL,
	position   bigint NOT NULL DEFAULT 0,
	events     bigint NOT NULL DEFAULT 0,
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (name, generation)
);
