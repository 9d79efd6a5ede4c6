-- The event log's identity: one random id per database, so that a client can tell which store
-- answers on an address (the server reports it in the read-only stream "$belfry-store").
CREATE TABLE IF NOT EXISTS eventlog.store (
	singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
	id        uuid        NOT NULL DEFAULT gen_random_uuid(),
	created   timestamptz NOT NULL DEFAULT now()
);
INSERT INTO eventlog.store DEFAULT VALUES ON CONFLICT DO NOTHING;
