-- The schema versions of the read models a snapshot was set up with (projections/snapshot.go,
-- "name:version,…" in name order): a snapshot of other versions is not served, and building it
-- again starts it over rather than applying this version's statements to the other version's
-- tables. NULL: set up before the versions were kept (served as before; a build resumed starts over).
ALTER TABLE projections.snapshots ADD COLUMN IF NOT EXISTS versions text;
