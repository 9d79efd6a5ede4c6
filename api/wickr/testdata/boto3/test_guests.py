"""Guest users through boto3: ListGuestUsers, GetGuestUserHistoryCount, ListBlockedGuestUsers and
UpdateGuestUser, with every error the model names for them (RateLimitError excepted: Belfry
throttles no Wickr call).

The setup (cmd/belfry/wickrusers_test.go) gives a Premium network (WICKR_NETWORK) whose users
communicated with three guests this billing period (WICKR_THIS_PERIOD) and one the period before
(WICKR_LAST_PERIOD), a guest account (WICKR_GUEST_HASH, guest.account@example.org) and a network on
the Premium free trial (WICKR_TRIAL_NETWORK)."""

import hashlib
import os
import unittest

from belfry_wickr import WickrTestCase, client

NET = os.environ["WICKR_NETWORK"]
TRIAL = os.environ["WICKR_TRIAL_NETWORK"]
ACCOUNT = os.environ["WICKR_GUEST_HASH"]
THIS, LAST = os.environ["WICKR_THIS_PERIOD"], os.environ["WICKR_LAST_PERIOD"]


def h(username):
    return hashlib.sha256(username.encode()).hexdigest()


def month(billing_period):
    """The history's month ('YYYY_MM') of a billing period ('YYYY-MM')."""
    return billing_period.replace("-", "_")


class Guests(WickrTestCase):
    def test_list_guests(self):
        out = self.w.list_guest_users(networkId=NET, billingPeriod=THIS, sortFields="username", sortDirection="ASC")["guestlist"]
        self.assertEqual([g["username"] for g in out], ["bob@example.net", "carol@example.com", "guest.account@example.org"])
        self.assertEqual(out[0], {"billingPeriod": THIS, "username": "bob@example.net", "usernameHash": h("bob@example.net")})
        bob = self.w.list_guest_users(networkId=NET, username="BOB", sortFields="billingPeriod", sortDirection="ASC")["guestlist"]
        self.assertEqual([g["billingPeriod"] for g in bob], [LAST, THIS])
        first = self.w.list_guest_users(networkId=NET, maxResults=2)
        self.assertEqual(len(first["guestlist"]), 2)
        rest = self.w.list_guest_users(networkId=NET, maxResults=2, nextToken=first["nextToken"])
        self.assertEqual(len(rest["guestlist"]), 2)
        self.assertNotIn("nextToken", rest)
        for kwargs, field in [({"billingPeriod": "2024_01"}, "billingPeriod"), ({"sortFields": "admin"}, "sortFields"),
                              ({"sortFields": "username+billingPeriod"}, "sortFields"), ({"maxResults": 101}, "maxResults"),
                              ({"nextToken": "x"}, "nextToken"), ({"networkId": "x"}, "networkId")]:
            with self.subTest(kwargs=kwargs):
                self.assertError("ValidationError", 422, self.raw.list_guest_users, field=field, **{"networkId": NET, **kwargs})
        self.assertError("ResourceNotFoundError", 404, self.w.list_guest_users, networkId="12345678")
        self.assertError("ForbiddenError", 403, client("chime").list_guest_users, networkId=NET)
        self.assertError("UnauthorizedError", 401, client(secret="nope").list_guest_users, networkId=NET)
        self.assertError("BadRequestError", 400, client(region="us-west-2").list_guest_users, networkId=NET)

    def test_history(self):
        hist = self.w.get_guest_user_history_count(networkId=NET)["history"]
        # The model's GuestUserHistoryCount.month is YYYY_MM ('2024_01'), unlike billingPeriod's YYYY-MM.
        self.assertEqual(hist, [{"month": month(LAST), "count": "1"}, {"month": month(THIS), "count": "3"}])
        for m in hist:
            self.assertRegex(m["month"], r"^\d{4}_\d\d$")
        self.assertEqual(self.w.get_guest_user_history_count(networkId=TRIAL)["history"], [])
        self.assertError("ResourceNotFoundError", 404, self.w.get_guest_user_history_count, networkId="12345678")
        self.assertError("ValidationError", 422, self.raw.get_guest_user_history_count, networkId="1", field="networkId")
        self.assertError("ForbiddenError", 403, client("chime").get_guest_user_history_count, networkId=NET)

    def test_block_and_unblock(self):
        self.assertEqual(self.w.update_guest_user(networkId=NET, usernameHash=ACCOUNT, block=True)["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.w.update_guest_user(networkId=NET, usernameHash=h("carol@example.com"), block=True)
        self.w.update_guest_user(networkId=NET, usernameHash=ACCOUNT, block=True)  # again: nothing changes
        blocked = self.w.list_blocked_guest_users(networkId=NET, sortFields="username", sortDirection="ASC")["blocklist"]
        self.assertEqual([(b["username"], b["usernameHash"]) for b in blocked],
                         [("carol@example.com", h("carol@example.com")), ("guest.account@example.org", ACCOUNT)])
        for b in blocked:
            self.assertIn(":user/", b["admin"])
            self.assertRegex(b["modified"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual([b["username"] for b in self.w.list_blocked_guest_users(networkId=NET, username="CAR")["blocklist"]], ["carol@example.com"])
        self.assertEqual(len(self.w.list_blocked_guest_users(networkId=NET, admin="arn:")["blocklist"]), 2)
        self.assertEqual(self.w.list_blocked_guest_users(networkId=NET, admin="nobody")["blocklist"], [])
        page = self.w.list_blocked_guest_users(networkId=NET, maxResults=1, sortFields="modified")
        self.assertEqual(len(page["blocklist"]), 1)
        self.assertEqual(len(self.w.list_blocked_guest_users(networkId=NET, maxResults=1, sortFields="modified", nextToken=page["nextToken"])["blocklist"]), 1)
        self.w.update_guest_user(networkId=NET, usernameHash=ACCOUNT, block=False)
        self.assertEqual([b["username"] for b in self.w.list_blocked_guest_users(networkId=NET)["blocklist"]], ["carol@example.com"])
        self.w.update_guest_user(networkId=NET, usernameHash=h("never.seen@example.com"), block=False)  # not blocked: nothing to do
        self.assertError("ResourceNotFoundError", 404, self.w.update_guest_user, networkId=NET, usernameHash=h("never.seen@example.com"), block=True)
        self.assertError("ValidationError", 422, self.w.update_guest_user, networkId=NET, usernameHash="not-a-hash", block=True, field="usernameHash")
        self.assertError("ValidationError", 422, self.raw.update_guest_user, networkId=NET, usernameHash=ACCOUNT, field="block")
        self.assertError("ForbiddenError", 403, self.w.update_guest_user, networkId=TRIAL, usernameHash=ACCOUNT, block=True)
        self.assertError("ResourceNotFoundError", 404, self.w.update_guest_user, networkId="12345678", usernameHash=ACCOUNT, block=True)
        self.assertError("ForbiddenError", 403, client("chime").update_guest_user, networkId=NET, usernameHash=ACCOUNT, block=True)
        for kwargs, field in [({"sortFields": "billingPeriod"}, "sortFields"), ({"sortDirection": "x"}, "sortDirection"), ({"maxResults": 0}, "maxResults")]:
            with self.subTest(kwargs=kwargs):
                self.assertError("ValidationError", 422, self.raw.list_blocked_guest_users, field=field, **{"networkId": NET, **kwargs})
        self.assertError("ResourceNotFoundError", 404, self.w.list_blocked_guest_users, networkId="12345678")


if __name__ == "__main__":
    unittest.main()
