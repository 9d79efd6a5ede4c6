-- CloudTrail-format delivery (infra/cloudtrail): the checkpoint of each continuous delivery, keyed by
-- its target; the state names the last delivered window, the last record position, and each digest
-- chain's head and undigested log files.
CREATE SCHEMA IF NOT EXISTS trail;
CREATE TABLE IF NOT EXISTS trail.deliveries (
	target     text PRIMARY KEY,
	state      jsonb       NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now()
);
