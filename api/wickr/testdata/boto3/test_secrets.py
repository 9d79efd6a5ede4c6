"""Secrets through boto3, for the Go test's scan (cmd/belfry's wickr_secrets_test.go): a bot's
passwords, the data-retention bot's challenge, the OIDC client secret and the OpenTDF client secret
are set through the API; the Go side then finds none of them (nor a bcrypt hash) in the event log
(audit records included) or the read models. The generated challenge is written to SECRETS_OUT."""

import os
import unittest

import bot_client
from belfry_wickr import WickrTestCase

ISSUER = os.environ["OIDC_ISSUER"]


class Secrets(WickrTestCase):
    def test_set_every_secret(self):
        nid = self.create_network("Secrets", "PREMIUM")
        group = bot_client.groups(nid)[0]
        bid = self.w.create_bot(networkId=nid, username="secret_bot", groupId=group, challenge="Bot-Secret-One")["botId"]
        self.w.update_bot(networkId=nid, botId=bid, challenge="Bot-Secret-Two")
        self.assertEqual(bot_client.sign_in(nid, bid, "Bot-Secret-Two"), 204)
        self.w.create_data_retention_bot(networkId=nid)
        challenge = self.w.create_data_retention_bot_challenge(networkId=nid)["challenge"]
        status, generated = bot_client.register_retention_bot(nid, challenge)
        self.assertEqual(status, 200)
        self.w.register_oidc_config(networkId=nid, companyId="Secrets", issuer=ISSUER, scopes="openid", userId="web", secret="Oidc-Secret-Value")
        self.w.register_opentdf_config(networkId=nid, clientId="tdf", clientSecret="Tdf-Secret-Value", domain="tdf.example.com", provider="Virtru")
        with open(os.environ["SECRETS_OUT"], "w") as f:
            f.write(challenge + "\n" + generated + "\n")


if __name__ == "__main__":
    unittest.main()
