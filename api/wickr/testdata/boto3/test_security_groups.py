"""Security groups through boto3: Create/Get/List/Update/DeleteSecurityGroup with the settings
catalogue of guide §3.3 and its dependencies, X-Client-Token idempotency, and every model error."""

import unittest

from belfry_wickr import WickrTestCase, client


class SecurityGroups(WickrTestCase):
    def setUp(self):
        super().setUp()
        self.nid = self.create_network("Groups", "PREMIUM")

    def groups(self, nid=None):
        return self.w.list_security_groups(networkId=nid or self.nid, maxResults=100)["securityGroups"]

    def test_default_group(self):
        [default] = self.groups()
        self.assertTrue(default["isDefault"])
        self.assertEqual((default["activeMembers"], default["botMembers"]), (0, 0))
        st = default["securityGroupSettings"]
        self.assertTrue(st["enableFileDownload"])
        self.assertGreaterEqual(st["passwordRequirements"]["minLength"], 8)
        self.assertIsInstance(default["modified"], int)
        self.assertError("BadRequestError", 400, self.w.delete_security_group, networkId=self.nid, groupId=default["id"])
        self.assertEqual(len(self.groups()), 1, "the default group cannot be deleted")

    def test_create_get_update_delete(self):
        g = self.w.create_security_group(networkId=self.nid, name="Field",
                                         securityGroupSettings={"lockoutThreshold": 6, "federationMode": 1})["securityGroup"]
        self.assertEqual((g["name"], g["isDefault"]), ("Field", False))
        self.assertEqual((g["securityGroupSettings"]["lockoutThreshold"], g["securityGroupSettings"]["federationMode"]), (6, 1))
        got = self.w.get_security_group(networkId=self.nid, groupId=g["id"])["securityGroup"]
        self.assertEqual(got["id"], g["id"])
        up = self.w.update_security_group(networkId=self.nid, groupId=g["id"], name="Field team", securityGroupSettings={
            "calling": {"canStart11Call": False}, "shredder": {"intensity": 60}, "enableFileDownload": False,
            "quickResponses": ["On my way"], "forceDeviceLockout": 5})["securityGroup"]
        st = up["securityGroupSettings"]
        self.assertEqual(up["name"], "Field team")
        self.assertFalse(st["calling"]["canVideoCall"], "video calling goes with audio calling")
        self.assertEqual((st["shredder"]["intensity"], st["enableFileDownload"], st["quickResponses"]), (60, False, ["On my way"]))
        self.assertNotIn("maxAutoDownloadSize", {k for k, v in st.items() if v})
        out = self.w.delete_security_group(networkId=self.nid, groupId=g["id"])
        self.assertEqual((out["networkId"], out["groupId"]), (self.nid, g["id"]))
        self.assertError("ResourceNotFoundError", 404, self.w.get_security_group, networkId=self.nid, groupId=g["id"])
        self.assertError("ResourceNotFoundError", 404, self.w.delete_security_group, networkId=self.nid, groupId=g["id"])
        self.assertError("ResourceNotFoundError", 404, self.w.update_security_group, networkId=self.nid, groupId=g["id"], name="x")

    def test_client_token(self):
        a = self.w.create_security_group(networkId=self.nid, name="Once", securityGroupSettings={}, clientToken="create-once-1")
        b = self.w.create_security_group(networkId=self.nid, name="Once", securityGroupSettings={}, clientToken="create-once-1")
        self.assertEqual(a["securityGroup"]["id"], b["securityGroup"]["id"])
        self.assertEqual([g["name"] for g in self.groups()].count("Once"), 1)
        # The token of another request (another name) is refused, not answered with the first group.
        self.assertError("BadRequestError", 400, self.w.create_security_group, networkId=self.nid, name="Twice",
                         securityGroupSettings={}, clientToken="create-once-1")
        self.assertEqual([g["name"] for g in self.groups()].count("Twice"), 0)
        self.assertError("ValidationError", 422, self.raw.create_security_group, networkId=self.nid, name="x",
                         securityGroupSettings={}, clientToken="bad token", field="clientToken")

    def test_create_refused(self):
        before = self.groups()
        for kwargs, field in [
            ({"securityGroupSettings": {}}, "name"),
            ({"name": "x"}, "securityGroupSettings"),
            ({"name": "", "securityGroupSettings": {}}, "name"),
            ({"name": "x" * 257, "securityGroupSettings": {}}, "name"),
            ({"name": "x", "securityGroupSettings": {"federationMode": 3}}, "securityGroupSettings.federationMode"),
            ({"name": "x", "securityGroupSettings": {"lockoutThreshold": -1}}, "securityGroupSettings.lockoutThreshold"),
            ({"name": "x", "securityGroupSettings": {"lockoutThreshold": "five"}}, "securityGroupSettings.lockoutThreshold"),
            ({"name": "x", "securityGroupSettings": {"lockoutThreshold": 2**31}}, "securityGroupSettings.lockoutThreshold"),  # a 32-bit Integer
            ({"name": "x", "securityGroupSettings": {"enableRestrictedGlobalFederation": True}}, "securityGroupSettings.enableRestrictedGlobalFederation"),
            ({"name": "x", "securityGroupSettings": {"federationMode": 1, "permittedNetworks": ["12345678"]}}, "securityGroupSettings.permittedNetworks"),
            ({"name": "x", "securityGroupSettings": {"federationMode": 2, "permittedNetworks": ["1234"]}}, "securityGroupSettings.permittedNetworks[0]"),
            ({"name": "x", "securityGroupSettings": {"globalFederation": True, "enableRestrictedGlobalFederation": True,
                                                      "permittedWickrAwsNetworks": [{"region": "mars-1", "networkId": "12345678"}]}},
             "securityGroupSettings.permittedWickrAwsNetworks[0].region"),
            ({"name": "x", "securityGroupSettings": {"globalFederation": True, "enableGuestFederation": True}}, "securityGroupSettings.enableGuestFederation"),
        ]:
            with self.subTest(kwargs=kwargs):
                self.assertError("ValidationError", 422, self.raw.create_security_group, networkId=self.nid, field=field, **kwargs)
        self.assertEqual(self.groups(), before, "refusals create nothing")
        ok = self.w.create_security_group(networkId=self.nid, name="Guests", securityGroupSettings={
            "federationMode": 1, "enableGuestFederation": True})["securityGroup"]
        self.assertTrue(ok["securityGroupSettings"]["enableGuestFederation"], "in us-east-1 guests go with local federation")

    def test_update_refused(self):
        g = self.w.create_security_group(networkId=self.nid, name="Strict", securityGroupSettings={})["securityGroup"]
        for settings, field in [
            ({"calling": {"canStart11Call": False, "canVideoCall": True}}, "securityGroupSettings.calling.canVideoCall"),
            ({"forceOpenAccess": True}, "securityGroupSettings.forceOpenAccess"),
            ({"locationEnabled": False, "locationAllowMaps": True}, "securityGroupSettings.locationAllowMaps"),
            ({"shredder": {"intensity": 30}}, "securityGroupSettings.shredder.intensity"),
            ({"maxAutoDownloadSize": 1000}, "securityGroupSettings.maxAutoDownloadSize"),
            ({"lockoutThreshold": 5, "forceDeviceLockout": 5}, "securityGroupSettings.forceDeviceLockout"),
            ({"passwordRequirements": {"minLength": 4}}, "securityGroupSettings.passwordRequirements.minLength"),
            ({"atakPackageValues": ["com.example"], "enableAtak": True}, "securityGroupSettings.atakPackageValues[0]"),
            ({"showMasterRecoveryKey": True}, "securityGroupSettings.showMasterRecoveryKey"),
            ({"maxBor": -1}, "securityGroupSettings.maxBor"),
            ({"maxBor": 2**40}, "securityGroupSettings.maxBor"),  # the model's Integer is 32-bit (maxTtl, a Long, is not)
            ({"passwordRequirements": {"minLength": 2**31}}, "securityGroupSettings.passwordRequirements.minLength"),
        ]:
            with self.subTest(settings=settings):
                self.assertError("ValidationError", 422, self.raw.update_security_group, networkId=self.nid, groupId=g["id"],
                                 securityGroupSettings=settings, field=field)
        self.assertError("ValidationError", 422, self.raw.update_security_group, networkId=self.nid, groupId=g["id"], name="", field="name")
        self.assertEqual(self.w.get_security_group(networkId=self.nid, groupId=g["id"])["securityGroup"], g, "refusals change nothing")
        ok = self.w.update_security_group(networkId=self.nid, groupId=g["id"], securityGroupSettings={
            "enableOpenAccessOption": True, "forceOpenAccess": True, "maxAutoDownloadSize": 512000})["securityGroup"]
        self.assertTrue(ok["securityGroupSettings"]["forceOpenAccess"])

    def test_standard_plan(self):
        std = self.create_network("Std")
        [default] = self.groups(std)
        self.assertError("ValidationError", 422, self.w.update_security_group, networkId=std, groupId=default["id"],
                         securityGroupSettings={"enableFileDownload": False}, field="securityGroupSettings.enableFileDownload")

    def test_list(self):
        for name in ["Charlie", "Alpha", "Bravo"]:
            self.w.create_security_group(networkId=self.nid, name=name, securityGroupSettings={})
        names, token = [], None
        while True:
            page = self.w.list_security_groups(networkId=self.nid, maxResults=1, sortFields="name", sortDirection="ASC",
                                               **({"nextToken": token} if token else {}))
            names += [g["name"] for g in page["securityGroups"]]
            token = page.get("nextToken")
            if not token:
                break
        self.assertEqual(names, sorted(names))
        self.assertEqual(len(names), 4)
        ids = [g["id"] for g in self.w.list_security_groups(networkId=self.nid, sortFields="id")["securityGroups"]]
        self.assertEqual(ids, sorted(ids, reverse=True))
        for kwargs, field in [({"sortFields": "color"}, "sortFields"), ({"maxResults": 0}, "maxResults"), ({"nextToken": "x"}, "nextToken")]:
            with self.subTest(kwargs=kwargs):
                self.assertError("ValidationError", 422, self.raw.list_security_groups, networkId=self.nid, field=field, **kwargs)

    def test_not_found_and_forbidden(self):
        [default] = self.groups()
        for call in [lambda **kw: self.w.list_security_groups(**kw),
                     lambda **kw: self.w.get_security_group(groupId=default["id"], **kw),
                     lambda **kw: self.w.create_security_group(name="x", securityGroupSettings={}, **kw),
                     lambda **kw: self.w.update_security_group(groupId=default["id"], name="x", **kw),
                     lambda **kw: self.w.delete_security_group(groupId=default["id"], **kw)]:
            self.assertError("ResourceNotFoundError", 404, call, networkId="99999999")
        self.assertError("ResourceNotFoundError", 404, client(region="eu-west-2").get_security_group, networkId=self.nid, groupId=default["id"])
        self.assertError("ValidationError", 422, self.raw.list_security_groups, networkId="1", field="networkId")
        self.assertError("ResourceNotFoundError", 404, self.w.get_security_group, networkId=self.nid, groupId="nope")
        chime = client("chime")
        self.assertError("ForbiddenError", 403, chime.list_security_groups, networkId=self.nid)
        self.assertError("ForbiddenError", 403, chime.create_security_group, networkId=self.nid, name="x", securityGroupSettings={})
        self.assertError("ForbiddenError", 403, chime.delete_security_group, networkId=self.nid, groupId=default["id"])


if __name__ == "__main__":
    unittest.main()
