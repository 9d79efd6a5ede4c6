"""The guests a network's users communicated with, as messaging recorded them, through boto3:
ListGuestUsers and GetGuestUserHistoryCount, then UpdateGuestUser blocking a guest seen.

The setup (cmd/belfry/wickr_guests_test.go) drives the client API only: guests gus and gwen sign up
as guests (a third, silent, talks to no one); gus talks with alice of WICKR_NETWORK in the previous
billing period (WICKR_LAST_PERIOD) and alice answers in this one (WICKR_THIS_PERIOD); gwen talks with
carol in this one. No row of the read model is written by the test. After this file, the check sees
the block enforced on the client API."""

import os
import unittest

from belfry_wickr import WickrTestCase

NET = os.environ["WICKR_NETWORK"]
THIS, LAST = os.environ["WICKR_THIS_PERIOD"], os.environ["WICKR_LAST_PERIOD"]
GUS = os.environ["WICKR_GUS_HASH"]


class GuestsSeen(WickrTestCase):
    def test_seen_per_billing_period(self):
        this = self.w.list_guest_users(networkId=NET, billingPeriod=THIS, sortFields="username", sortDirection="ASC")["guestlist"]
        self.assertEqual([(g["username"], g["billingPeriod"]) for g in this],
                         [("gus@guest.example", THIS), ("gwen@guest.example", THIS)])
        last = self.w.list_guest_users(networkId=NET, billingPeriod=LAST)["guestlist"]
        self.assertEqual([(g["username"], g["usernameHash"]) for g in last], [("gus@guest.example", GUS)])
        everyone = self.w.list_guest_users(networkId=NET, sortFields="billingPeriod", sortDirection="ASC")["guestlist"]
        self.assertEqual(len(everyone), 3)
        self.assertNotIn("silent@guest.example", [g["username"] for g in everyone])

    def test_history_counts(self):
        hist = self.w.get_guest_user_history_count(networkId=NET)["history"]
        # The model's GuestUserHistoryCount.month is YYYY_MM ('2024_01'), unlike billingPeriod's YYYY-MM.
        self.assertEqual(hist, [{"month": LAST.replace("-", "_"), "count": "1"}, {"month": THIS.replace("-", "_"), "count": "2"}])

    def test_zz_block_a_guest_seen(self):
        self.w.update_guest_user(networkId=NET, usernameHash=GUS, block=True)
        blocked = self.w.list_blocked_guest_users(networkId=NET)["blocklist"]
        self.assertEqual([(b["username"], b["usernameHash"]) for b in blocked], [("gus@guest.example", GUS)])


if __name__ == "__main__":
    unittest.main()
