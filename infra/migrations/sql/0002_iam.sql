-- Principals and access keys; one installation row holds the AWS account id.
CREATE SCHEMA IF NOT EXISTS iam;
CREATE TABLE IF NOT EXISTS iam.installation (
	singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
	aws_account_id text NOT NULL,
	created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS iam.principals (
	name       text PRIMARY KEY,
	principal_id text NOT NULL UNIQUE,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS iam.access_keys (
	access_key_id text PRIMARY KEY,
	secret        text NOT NULL,
	principal     text NOT NULL REFERENCES iam.principals(name),
	active        boolean NOT NULL DEFAULT true,
	created_at    timestamptz NOT NULL DEFAULT now()
);
