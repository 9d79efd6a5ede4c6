-- Documents uploaded for port-in orders (LOA, identity documents). The event log records each upload
-- (name, size, SHA-256); the bytes live here.
CREATE SCHEMA IF NOT EXISTS porting;
CREATE TABLE porting.documents (
	order_id    text NOT NULL,
	name        text NOT NULL,
	content     bytea NOT NULL,
	sha256      text NOT NULL,
	uploaded_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (order_id, name)
);
