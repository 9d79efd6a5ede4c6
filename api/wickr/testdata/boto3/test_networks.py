"""Networks through boto3: CreateNetwork, GetNetwork, ListNetworks, UpdateNetwork, DeleteNetwork,
Get/UpdateNetworkSettings, with every error the model names for them."""

import re
import unittest

from belfry_wickr import REGION, WickrTestCase, client

KEY = "arn:aws:kms:us-east-1:111122223333:key/1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d"


class Networks(WickrTestCase):
    def test_create_and_get(self):
        out = self.w.create_network(networkName="Field Ops", accessLevel="PREMIUM", encryptionKeyArn=KEY)
        nid = out["networkId"]
        self.assertRegex(nid, r"^[0-9]{8}$")
        self.assertEqual(out["networkName"], "Field Ops")
        self.assertEqual(out["encryptionKeyArn"], KEY)
        got = self.w.get_network(networkId=nid)
        self.assertEqual(got["networkName"], "Field Ops")
        self.assertEqual(got["accessLevel"], "PREMIUM")
        self.assertEqual(got["encryptionKeyArn"], KEY)
        self.assertRegex(got["awsAccountId"], r"^[0-9]{12}$")
        self.assertEqual(got["networkArn"], f"arn:aws:wickr:{REGION}:{got['awsAccountId']}:network/{nid}")
        self.assertNotIn("freeTrialExpiration", got)

    def test_create_refuses_bad_input(self):
        before = self.w.list_networks(maxResults=100)["networks"]
        for kwargs, field in [
            ({"networkName": "x" * 21, "accessLevel": "STANDARD"}, "networkName"),
            ({"networkName": "", "accessLevel": "STANDARD"}, "networkName"),
            ({"networkName": "Ops", "accessLevel": "GOLD"}, "accessLevel"),
            ({"networkName": "Ops", "accessLevel": "STANDARD", "encryptionKeyArn": "my-key"}, "encryptionKeyArn"),
            ({"accessLevel": "STANDARD"}, "networkName"),
            ({"networkName": "Ops"}, "accessLevel"),
            ({"networkName": 7, "accessLevel": "STANDARD"}, "networkName"),
        ]:
            with self.subTest(kwargs=kwargs):
                self.assertError("ValidationError", 422, self.raw.create_network, field=field, **kwargs)
        self.assertEqual(self.w.list_networks(maxResults=100)["networks"], before, "a refused request creates nothing")

    def test_get_unknown(self):
        self.assertError("ResourceNotFoundError", 404, self.w.get_network, networkId="12345678")
        self.assertError("ValidationError", 422, self.raw.get_network, networkId="123", field="networkId")

    def test_region_is_the_networks(self):
        nid = self.create_network("Virginia")
        london = client(region="eu-west-2")
        self.assertError("ResourceNotFoundError", 404, london.get_network, networkId=nid)
        self.assertNotIn(nid, [n["networkId"] for n in london.list_networks()["networks"]])
        lid = london.create_network(networkName="London", accessLevel="STANDARD")["networkId"]
        self.assertTrue(london.get_network(networkId=lid)["networkArn"].startswith("arn:aws:wickr:eu-west-2:"))
        self.assertError("BadRequestError", 400, client(region="us-west-2").list_networks)

    def test_auth_errors(self):
        self.assertError("ForbiddenError", 403, client("chime").list_networks)
        self.assertEqual(client("wickr").list_networks()["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertError("UnauthorizedError", 401, client(secret="not-the-secret").list_networks)


if __name__ == "__main__":
    unittest.main()
