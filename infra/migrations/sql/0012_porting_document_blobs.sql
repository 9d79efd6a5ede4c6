-- Port-in documents become content-addressed blobs (see chime.Service.UploadPortInDocument): the bytes
-- are stored first, keyed by the SHA-256 the server computed (the CHECK proves the key), and the
-- chime.portin.document_uploaded.v1 event that names (order, document name, SHA-256) is appended after.
-- A crash between the two leaves an unreferenced blob, never an event without its bytes.
--   order_ids   every order an upload of these bytes was attempted for (where to look for references)
--   referenced  set once an appended event is known to name the blob; unreferenced blobs older than a
--               grace period are checked against those orders' streams and deleted
CREATE TABLE porting.document_blobs (
	sha256     text PRIMARY KEY CHECK (sha256 = encode(sha256(content), 'hex')),
	content    bytea NOT NULL,
	order_ids  text[] NOT NULL,
	referenced boolean NOT NULL DEFAULT false,
	stored_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX document_blobs_unreferenced ON porting.document_blobs (stored_at) WHERE NOT referenced;

-- The old table was written after its event: every row is referenced.
INSERT INTO porting.document_blobs (sha256, content, order_ids, referenced)
SELECT sha256, (array_agg(content))[1], array_agg(DISTINCT order_id), true
FROM porting.documents GROUP BY sha256;
DROP TABLE porting.documents;
