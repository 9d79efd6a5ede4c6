-- Identity policies attached to principals: managed ones by name (document resolved by the binary),
-- inline ones with their JSON document. Principals that existed before policies keep full access.
CREATE TABLE iam.principal_policies (
	principal   text NOT NULL REFERENCES iam.principals(name) ON DELETE CASCADE,
	policy_name text NOT NULL,
	managed     boolean NOT NULL,
	document    jsonb,
	attached_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (principal, policy_name),
	CHECK (managed = (document IS NULL))
);
INSERT INTO iam.principal_policies (principal, policy_name, managed)
	SELECT name, 'AdministratorAccess', true FROM iam.principals;
