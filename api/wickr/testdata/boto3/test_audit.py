"""Calls whose audit records the Go side checks afterwards (TestWickrBoto3's check for this file):
eventSource wickr.amazonaws.com, the scope's region as awsRegion, the model's error codes."""

import unittest

from belfry_wickr import WickrTestCase, client


class Audited(WickrTestCase):
    def test_calls(self):
        london = client(region="eu-west-2")
        london.create_network(networkName="Audited", accessLevel="STANDARD")
        self.assertError("ValidationError", 422, client(region="eu-west-2", validate=False).create_network,
                         networkName="x" * 30, accessLevel="STANDARD", field="networkName")
        self.assertError("ForbiddenError", 403, client("chime", region="eu-west-2").list_networks)


if __name__ == "__main__":
    unittest.main()
