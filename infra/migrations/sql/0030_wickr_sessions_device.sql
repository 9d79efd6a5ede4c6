-- The Wickr client sessions of one device (api/wickr/client: at most MaxSessionsPerDevice of them;
-- infra/sessions WickrStore.Open deletes the oldest beyond, in issue order, at each sign-in): an
-- index on the device (network, user, app id, guest hash) and the issue time, so that the trim reads
-- only that device's few rows. Guests' sessions share an empty network and user, which the index on
-- (network_id, user_id) alone could not tell apart. That index is a prefix of this one, which serves
-- whatever it served: it goes.
CREATE INDEX IF NOT EXISTS wickr_sessions_device ON client.wickr_sessions (network_id, user_id, app_id, guest_hash, issued_at);
DROP INDEX IF EXISTS client.wickr_sessions_user;
