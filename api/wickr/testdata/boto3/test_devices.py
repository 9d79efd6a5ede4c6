"""Devices through boto3: ListDevicesForUser and BatchResetDevicesForUser, with every error the model
names for them (RateLimitError excepted: Belfry throttles no Wickr call).

The setup (cmd/belfry/wickrusers_test.go) gives a network (WICKR_NETWORK, default group
WICKR_DEFAULT_GROUP) and a user (WICKR_SIGNED_IN_USER) who registered from device "laptop" (MacOSX)
and then signed in from "phone" (iOS). That a reset device signs in again is TestWickrResetDeviceSignsInAgain's."""

import os
import unittest

from belfry_wickr import WickrTestCase, client

NET = os.environ["WICKR_NETWORK"]
DEFAULT = os.environ["WICKR_DEFAULT_GROUP"]
USER = os.environ["WICKR_SIGNED_IN_USER"]


class Devices(WickrTestCase):
    def test_list_sorts_and_pages(self):
        devs = self.w.list_devices_for_user(networkId=NET, userId=USER, sortFields="type", sortDirection="ASC")["devices"]
        self.assertEqual([(d["appId"], d["type"]) for d in devs], [("laptop", "MacOSX"), ("phone", "iOS")])
        for d in devs:
            self.assertEqual((d["suspend"], d["statusText"]), (False, "Active"))
            self.assertRegex(d["created"], r"^\d{4}-\d\d-\d\dT")
            self.assertRegex(d["lastLogin"], r"^\d{4}-\d\d-\d\dT")
        first = self.w.list_devices_for_user(networkId=NET, userId=USER, maxResults=1, sortFields="type", sortDirection="DESC")
        self.assertEqual([d["appId"] for d in first["devices"]], ["phone"])
        second = self.w.list_devices_for_user(networkId=NET, userId=USER, maxResults=1, sortFields="type", sortDirection="DESC", nextToken=first["nextToken"])
        self.assertEqual([d["appId"] for d in second["devices"]], ["laptop"])
        self.assertNotIn("nextToken", second)
        both = self.w.get_paginator("list_devices_for_user").paginate(networkId=NET, userId=USER, sortFields="created+lastlogin",
                                                                       PaginationConfig={"PageSize": 1}).build_full_result()["devices"]
        self.assertEqual(len(both), 2)
        self.assertError("ValidationError", 422, self.w.list_devices_for_user, networkId=NET, userId=USER, nextToken=first["nextToken"], field="nextToken")
        for kwargs, field in [({"maxResults": 0}, "maxResults"), ({"sortFields": "appId"}, "sortFields"), ({"sortDirection": "UP"}, "sortDirection"),
                              ({"userId": "x"}, "userId"), ({"networkId": "1"}, "networkId")]:
            with self.subTest(kwargs=kwargs):
                args = {"networkId": NET, "userId": USER, **kwargs}
                self.assertError("ValidationError", 422, self.raw.list_devices_for_user, field=field, **args)
        self.assertError("ResourceNotFoundError", 404, self.w.list_devices_for_user, networkId=NET, userId="1234567890")
        self.assertError("ResourceNotFoundError", 404, self.w.list_devices_for_user, networkId="12345678", userId=USER)
        self.assertError("ForbiddenError", 403, client("chime").list_devices_for_user, networkId=NET, userId=USER)
        self.assertError("UnauthorizedError", 401, client(secret="nope").list_devices_for_user, networkId=NET, userId=USER)
        self.assertError("BadRequestError", 400, client(region="us-west-2").list_devices_for_user, networkId=NET, userId=USER)
        pending = self.w.batch_create_user(networkId=NET, users=[{"username": "no.devices@example.com", "securityGroupIds": [DEFAULT]}])["successful"][0]
        self.assertEqual(self.w.list_devices_for_user(networkId=NET, userId=pending["userId"])["devices"], [])

    def test_reset(self):
        out = self.w.batch_reset_devices_for_user(networkId=NET, userId=USER, appIds=["phone", "tablet", "phone"])
        self.assertEqual(out["successful"], [{"appId": "phone"}])
        self.assertEqual([(f["appId"], f["field"]) for f in out["failed"]], [("tablet", "appIds[1]"), ("phone", "appIds[2]")])
        devs = {d["appId"]: d["statusText"] for d in self.w.list_devices_for_user(networkId=NET, userId=USER)["devices"]}
        self.assertEqual(devs, {"phone": "Reset", "laptop": "Active"})
        again = self.w.batch_reset_devices_for_user(networkId=NET, userId=USER, appIds=["phone"])
        self.assertEqual(again["successful"], [{"appId": "phone"}], "a reset device stays reset")
        self.assertError("ValidationError", 422, self.raw.batch_reset_devices_for_user, networkId=NET, userId=USER, appIds=[], field="appIds")
        self.assertError("ValidationError", 422, self.raw.batch_reset_devices_for_user, networkId=NET, userId=USER, appIds=["a"] * 51, field="appIds")
        self.assertError("ValidationError", 422, self.raw.batch_reset_devices_for_user, networkId=NET, userId=USER, field="appIds")
        self.assertError("ValidationError", 422, self.raw.batch_reset_devices_for_user, networkId=NET, userId="u1", appIds=["phone"], field="userId")
        self.assertError("ResourceNotFoundError", 404, self.w.batch_reset_devices_for_user, networkId=NET, userId="1234567890", appIds=["phone"])
        self.assertError("ResourceNotFoundError", 404, self.w.batch_reset_devices_for_user, networkId="12345678", userId=USER, appIds=["phone"])
        self.assertError("ForbiddenError", 403, client("chime").batch_reset_devices_for_user, networkId=NET, userId=USER, appIds=["phone"])


if __name__ == "__main__":
    unittest.main()
