"""The plans and the Premium free trial of guide §7 through CreateNetwork and UpdateNetwork (each
Python file runs against a fresh installation: one AWS account, whose trial this file uses)."""

import unittest

from belfry_wickr import WickrTestCase, client, with_members


class Moves(WickrTestCase):
    def test_trial_moves(self):
        # Standard → trial (the account's first), then Premium, then Standard; never a second trial.
        nid = self.w.create_network(networkName="Mover", accessLevel="STANDARD")["networkId"]
        with_members(client(), "UpdateNetwork", enablePremiumFreeTrial=True).update_network(networkId=nid, networkName="Mover")
        got = self.w.get_network(networkId=nid)
        self.assertEqual(got["accessLevel"], "PREMIUM")
        self.assertIn("freeTrialExpiration", got)
        with_members(client(), "UpdateNetwork", accessLevel="PREMIUM").update_network(networkId=nid, networkName="Mover")
        got = self.w.get_network(networkId=nid)
        self.assertEqual(got["accessLevel"], "PREMIUM")
        self.assertNotIn("freeTrialExpiration", got, "Premium ends the trial")
        with_members(client(), "UpdateNetwork", accessLevel="STANDARD").update_network(networkId=nid, networkName="Mover")
        self.assertEqual(self.w.get_network(networkId=nid)["accessLevel"], "STANDARD")
        again = with_members(client(), "UpdateNetwork", enablePremiumFreeTrial=True)
        self.assertError("ValidationError", 422, again.update_network, networkId=nid, networkName="Mover", field="enablePremiumFreeTrial")


if __name__ == "__main__":
    unittest.main()
