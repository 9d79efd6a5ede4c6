-- Guest users' sessions on the Wickr client API (api/wickr/client, guide §15): a guest signs in to
-- the guest network, not to a network of this installation, so its session names the guest account
-- by its username hash (guest_hash) and leaves network_id and user_id empty. Whether it is still
-- open is decided at each use from the guest account (deleted: over).
ALTER TABLE client.wickr_sessions ADD COLUMN IF NOT EXISTS guest_hash text NOT NULL DEFAULT '';

-- The Wickr data-retention archive (infra/wickrarchive, guide §8): per target (a directory or a bucket
-- and prefix) and network, how far the network's messages are shipped (the last item's log position)
-- and the received-messages file being written (its key, when it started, its size), so that a
-- restart neither loses nor repeats a line.
CREATE SCHEMA IF NOT EXISTS wickrarchive;
CREATE TABLE IF NOT EXISTS wickrarchive.shipments (
	target     text        NOT NULL,
	network_id text        NOT NULL,
	state      jsonb       NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (target, network_id)
);
