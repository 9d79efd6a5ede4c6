-- Guest users' sessions on the Wickr client API (api/wickr/client, guide §15): a guest signs in to
-- the guest network, not to a network of this installation, so its session names the guest account
-- by its username hash (guest_hash) and leaves network_id and user_id empty. Whether it is still
-- open is decided at each use from the guest account (deleted: over).
ALTER TABLE client.wickr_sessions ADD COLUMN IF NOT EXISTS guest_hash text NOT NULL DEFAULT '';
