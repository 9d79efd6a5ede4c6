"""Networks through boto3: CreateNetwork, GetNetwork, ListNetworks, UpdateNetwork, DeleteNetwork,
Get/UpdateNetworkSettings, with every error the model names for them."""

import unittest

from belfry_wickr import REGION, WickrTestCase, client, with_members

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

    def test_list_pages_sorts(self):
        ids = [self.create_network(f"Page {c}") for c in "EDCBA"]
        names, token = [], None
        while True:
            kw = {"nextToken": token} if token else {}
            page = self.w.list_networks(maxResults=2, sortFields="networkName", sortDirection="ASC", **kw)
            self.assertLessEqual(len(page["networks"]), 2)
            names += [n["networkName"] for n in page["networks"] if n["networkName"].startswith("Page ")]
            token = page.get("nextToken")
            if not token:
                break
        self.assertEqual(names, [f"Page {c}" for c in "ABCDE"])
        listed = [n["networkId"] for n in self.w.get_paginator("list_networks").paginate(PaginationConfig={"PageSize": 3}).build_full_result()["networks"]]
        self.assertEqual(listed, sorted(listed, reverse=True), "by default networkId, descending")
        self.assertTrue(set(ids) <= set(listed))
        first = self.w.list_networks(maxResults=1, sortFields="networkName")
        self.assertError("ValidationError", 422, self.w.list_networks, nextToken=first["nextToken"], sortFields="networkId", field="nextToken")
        self.assertError("ValidationError", 422, self.w.list_networks, nextToken="garbage", field="nextToken")
        for kwargs, field in [({"maxResults": 0}, "maxResults"), ({"maxResults": 101}, "maxResults"),
                              ({"sortFields": "region"}, "sortFields"), ({"sortDirection": "UP"}, "sortDirection")]:
            with self.subTest(kwargs=kwargs):
                self.assertError("ValidationError", 422, self.raw.list_networks, field=field, **kwargs)

    def test_update(self):
        nid = self.create_network("Before")
        out = self.w.update_network(networkId=nid, networkName="After", encryptionKeyArn=KEY)
        self.assertIn("message", out)
        got = self.w.get_network(networkId=nid)
        self.assertEqual((got["networkName"], got["encryptionKeyArn"]), ("After", KEY))
        again = self.w.update_network(networkId=nid, networkName="After", clientToken="retry-1")
        self.assertEqual(again["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.w.update_network(networkId=nid, networkName="After", clientToken="retry-1")
        for kwargs, field in [({"networkName": "x" * 21}, "networkName"), ({"networkName": "  "}, "networkName"),
                              ({"networkName": "Ok", "encryptionKeyArn": "key"}, "encryptionKeyArn"), ({}, "networkName"),
                              ({"networkName": "Ok", "clientToken": "not a token!"}, "clientToken"),
                              ({"networkName": "Ok", "clientToken": "x" * 65}, "clientToken")]:
            with self.subTest(kwargs=kwargs):
                self.assertError("ValidationError", 422, self.raw.update_network, networkId=nid, field=field, **kwargs)
        self.assertEqual(self.w.get_network(networkId=nid)["networkName"], "After", "a refused update changes nothing")
        self.assertError("ResourceNotFoundError", 404, self.w.update_network, networkId="99999999", networkName="x")
        self.assertError("ValidationError", 422, self.raw.update_network, networkId="9", networkName="x", field="networkId")
        self.assertError("ForbiddenError", 403, client("chime").update_network, networkId=nid, networkName="x")

    def test_plans(self):
        nid = self.create_network("Plans")
        with_members(self.w, "UpdateNetwork", accessLevel="PREMIUM")
        self.w.update_network(networkId=nid, networkName="Plans")
        self.assertEqual(self.w.get_network(networkId=nid)["accessLevel"], "PREMIUM")
        std = with_members(client(), "UpdateNetwork", accessLevel="STANDARD")
        std.update_network(networkId=nid, networkName="Plans")
        self.assertEqual(self.w.get_network(networkId=nid)["accessLevel"], "STANDARD")
        bad = with_members(client(), "UpdateNetwork", accessLevel="GOLD")
        self.assertError("ValidationError", 422, bad.update_network, networkId=nid, networkName="Plans", field="accessLevel")

    def test_delete(self):
        nid = self.create_network("Doomed")
        self.assertIn("message", self.w.delete_network(networkId=nid))
        self.assertError("ResourceNotFoundError", 404, self.w.get_network, networkId=nid)
        self.assertNotIn(nid, [n["networkId"] for n in self.w.list_networks(maxResults=100)["networks"]])
        self.assertError("ResourceNotFoundError", 404, self.w.update_network, networkId=nid, networkName="x")
        self.assertEqual(self.w.delete_network(networkId=nid)["ResponseMetadata"]["HTTPStatusCode"], 200, "a retried delete")
        self.assertError("ResourceNotFoundError", 404, self.w.delete_network, networkId="99999999")
        self.assertError("ValidationError", 422, self.raw.delete_network, networkId="abc", field="networkId")
        self.assertError("ValidationError", 422, self.raw.delete_network, networkId=self.create_network(), clientToken="bad token", field="clientToken")
        self.assertError("ForbiddenError", 403, client("chime").delete_network, networkId=nid)


class Settings(WickrTestCase):
    def settings(self, out):
        return {s["optionName"]: (s["value"], s["type"]) for s in out["settings"]}

    def test_get_and_update(self):
        nid = self.create_network("Settings")
        got = self.settings(self.w.get_network_settings(networkId=nid))
        self.assertEqual(got["enableClientMetrics"], ("false", "boolean"))
        self.assertEqual(got["readReceiptConfig.status"], ("DISABLED", "string"))
        self.assertEqual(got["dataRetention"], ("false", "boolean"))
        self.assertEqual(got["enableTrustedDataFormat"], ("false", "boolean"))
        out = self.settings(self.w.update_network_settings(networkId=nid, settings={"enableClientMetrics": True,
                                                                                     "readReceiptConfig": {"status": "FORCE_ENABLED"}}))
        self.assertEqual((out["enableClientMetrics"][0], out["readReceiptConfig.status"][0]), ("true", "FORCE_ENABLED"))
        self.assertEqual(self.settings(self.w.get_network_settings(networkId=nid))["readReceiptConfig.status"][0], "FORCE_ENABLED")

    def test_refused(self):
        nid = self.create_network("Strict")
        before = self.w.get_network_settings(networkId=nid)["settings"]
        for settings, field in [({"readReceiptConfig": {"status": "SOMETIMES"}}, "settings.readReceiptConfig.status"),
                                ({"dataRetention": True}, "settings.dataRetention"),
                                ({"enableTrustedDataFormat": True}, "settings.enableTrustedDataFormat"),
                                ({"enableClientMetrics": "yes"}, "settings.enableClientMetrics")]:
            with self.subTest(settings=settings):
                self.assertError("ValidationError", 422, self.raw.update_network_settings, networkId=nid, settings=settings, field=field)
        self.assertError("ValidationError", 422, self.raw.update_network_settings, networkId=nid, field="settings")
        premium = self.create_network("Premium", "PREMIUM")
        self.assertError("BadRequestError", 400, self.w.update_network_settings, networkId=premium, settings={"dataRetention": True})
        self.assertEqual(self.w.get_network_settings(networkId=nid)["settings"], before, "refusals change nothing")
        self.assertError("ResourceNotFoundError", 404, self.w.get_network_settings, networkId="99999999")
        self.assertError("ResourceNotFoundError", 404, self.w.update_network_settings, networkId="99999999", settings={})
        self.assertError("ValidationError", 422, self.raw.get_network_settings, networkId="1", field="networkId")
        self.assertError("ForbiddenError", 403, client("chime").get_network_settings, networkId=nid)
        self.assertError("ForbiddenError", 403, client("chime").update_network_settings, networkId=nid, settings={})


if __name__ == "__main__":
    unittest.main()
