"""The plans and the Premium free trial of guide §7 through CreateNetwork and UpdateNetwork (each
Python file runs against a fresh installation: one AWS account, whose trial this file uses)."""

import datetime
import unittest

from belfry_wickr import WickrTestCase, client, with_members


class Trial(WickrTestCase):
    def test_trial_lifecycle(self):
        # A new network on the trial: Premium's features for 3 months.
        trial = self.w.create_network(networkName="Trial", accessLevel="STANDARD", enablePremiumFreeTrial=True)["networkId"]
        got = self.w.get_network(networkId=trial)
        self.assertEqual(got["accessLevel"], "PREMIUM")
        expires = datetime.datetime.fromisoformat(got["freeTrialExpiration"].replace("Z", "+00:00"))
        days = (expires - datetime.datetime.now(datetime.timezone.utc)).days
        self.assertTrue(88 <= days <= 92, got["freeTrialExpiration"])
        # No guest users on the trial (guide §7.2).
        [default] = self.w.list_security_groups(networkId=trial)["securityGroups"]
        self.assertError("ValidationError", 422, self.w.update_security_group, networkId=trial, groupId=default["id"],
                         securityGroupSettings={"federationMode": 1, "enableGuestFederation": True},
                         field="securityGroupSettings.enableGuestFederation")
        # One trial network per AWS account, ever.
        self.assertError("ValidationError", 422, self.w.create_network, networkName="Second", accessLevel="PREMIUM",
                         enablePremiumFreeTrial=True, field="enablePremiumFreeTrial")
        std = self.w.create_network(networkName="Standard", accessLevel="STANDARD")["networkId"]
        to_trial = with_members(client(), "UpdateNetwork", enablePremiumFreeTrial=True)
        self.assertError("ValidationError", 422, to_trial.update_network, networkId=std, networkName="Standard", field="enablePremiumFreeTrial")
        self.assertEqual(self.w.get_network(networkId=std)["accessLevel"], "STANDARD", "a refused plan change changes nothing")
        # Deleting a network on the trial ends the account's network creation (guide §2.3).
        self.w.delete_network(networkId=trial)
        self.assertError("ForbiddenError", 403, self.w.create_network, networkName="After", accessLevel="STANDARD")
        self.w.get_network(networkId=std)


if __name__ == "__main__":
    unittest.main()
