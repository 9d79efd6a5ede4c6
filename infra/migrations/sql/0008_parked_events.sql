-- Events a projection could not apply (a deterministic failure: the event's data, not the database's
-- health). The projection's checkpoint moves past them in the same transaction that parks them, so
-- one poisoned event never stalls a read model; `belfry projections retry NAME` re-applies them.
-- Rows belong to one generation of the read model and go with it.
CREATE TABLE IF NOT EXISTS projections.parked_events (
	name         text        NOT NULL,
	generation   int         NOT NULL,
	position     bigint      NOT NULL, -- $all commit position
	stream_id    text        NOT NULL, -- NUL and invalid UTF-8 shown as U+FFFD; the position is authoritative
	event_number bigint      NOT NULL,
	event_type   text        NOT NULL,
	event_id     uuid        NOT NULL,
	error        text        NOT NULL, -- the last failure
	attempts     int         NOT NULL DEFAULT 1,
	parked_at    timestamptz NOT NULL DEFAULT now(),
	retried_at   timestamptz,
	PRIMARY KEY (name, generation, position)
);
