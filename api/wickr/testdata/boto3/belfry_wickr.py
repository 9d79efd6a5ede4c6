"""Shared helpers of the boto3 tests of Belfry's Wickr Admin API.

cmd/belfry's TestWickrBoto3 starts Belfry and runs each test_*.py here with `python3 -m unittest`,
passing the endpoint, the region and the access keys in the environment (see its doc comment).
"""

import json
import os
import unittest

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

KEYS = {
    "admin": ("BELFRY_ADMIN_KEY_ID", "BELFRY_ADMIN_SECRET"),  # AdministratorAccess
    "wickr": ("BELFRY_WICKR_KEY_ID", "BELFRY_WICKR_SECRET"),  # AWSWickrFullAccess
    "chime": ("BELFRY_CHIME_KEY_ID", "BELFRY_CHIME_SECRET"),  # AmazonChimeFullAccess
}

REGION = os.environ.get("WICKR_REGION", "us-east-1")


def client(key="admin", region=None, validate=True, secret=None):
    """A boto3 Wickr client for Belfry; validate=False lets bad input reach the server."""
    key_id, key_secret = (os.environ[v] for v in KEYS[key])
    return boto3.client(
        "wickr",
        endpoint_url=os.environ["BELFRY_URL"],
        region_name=region or REGION,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret or key_secret,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, parameter_validation=validate),
    )


class WickrTestCase(unittest.TestCase):
    """A test case with an admin client (self.w), an unvalidated one (self.raw) and error checks."""

    def setUp(self):
        self.w = client()
        self.raw = client(validate=False)

    def assertError(self, code, status, fn, *args, field=None, **kwargs):
        """Calls fn and checks it fails with the model's error code and status (and, for a
        ValidationError, that a reason names field); returns the error response."""
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kwargs)
        resp = cm.exception.response
        self.assertEqual(resp["Error"]["Code"], code, resp)
        self.assertEqual(resp["ResponseMetadata"]["HTTPStatusCode"], status, resp)
        self.assertTrue(resp["Error"].get("Message"), resp)
        if code == "ValidationError":
            self.assertIsInstance(resp.get("reasons"), list, resp)
        if field is not None:
            fields = [r.get("field") for r in resp.get("reasons", [])]
            self.assertIn(field, fields, resp)
        return resp

    def create_network(self, name="Ops", level="STANDARD", **kw):
        return self.w.create_network(networkName=name, accessLevel=level, **kw)["networkId"]


def with_members(c, operation, **members):
    """Adds body members the model does not have (Belfry's extensions, e.g. UpdateNetwork's plan)
    to every call of operation through client c."""

    def add(params, **_):
        body = json.loads(params.get("body") or b"{}")
        body.update(members)
        params["body"] = json.dumps(body).encode()

    c.meta.events.register(f"before-call.wickr.{operation}", add)
    return c
