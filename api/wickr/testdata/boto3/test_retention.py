"""The data-retention bot through boto3 (guide §8): CreateDataRetentionBot,
CreateDataRetentionBotChallenge, GetDataRetentionBot, UpdateDataRetention (ENABLE, DISABLE,
PUBKEY_MSG_ACK) and DeleteDataRetentionBot, with every error the model names for them. The bot's
registration with its challenge goes through the stand-in client (bot_client)."""

import unittest

import bot_client
from belfry_wickr import WickrTestCase, client


def state(w, nid):
    out = w.get_data_retention_bot(networkId=nid)
    out.pop("ResponseMetadata")
    return out


class Retention(WickrTestCase):
    def test_lifecycle(self):
        nid = self.create_network("Retained", "PREMIUM")
        self.assertEqual(state(self.w, nid), {"botExists": False, "isBotActive": False, "isDataRetentionBotRegistered": False,
                                              "isDataRetentionServiceEnabled": False, "isPubkeyMsgAcked": False})
        self.assertError("ResourceNotFoundError", 404, self.w.create_data_retention_bot_challenge, networkId=nid)
        self.assertIn("message", self.w.create_data_retention_bot(networkId=nid))
        self.w.create_data_retention_bot(networkId=nid)  # again: no change
        st = state(self.w, nid)
        self.assertTrue(st["botExists"])
        self.assertEqual(st["botName"], f"compliance_{nid}_bot")
        self.assertError("BadRequestError", 400, self.w.update_data_retention, networkId=nid, actionType="ENABLE")  # no challenge yet

        first = self.w.create_data_retention_bot_challenge(networkId=nid)["challenge"]
        challenge = self.w.create_data_retention_bot_challenge(networkId=nid)["challenge"]
        self.assertRegex(challenge, r"^[A-Za-z0-9]{24}$")
        self.assertNotEqual(first, challenge, "a new challenge replaces the last")
        self.assertError("BadRequestError", 400, self.w.update_data_retention, networkId=nid, actionType="PUBKEY_MSG_ACK")  # not registered
        self.w.update_data_retention(networkId=nid, actionType="ENABLE")
        self.assertTrue(state(self.w, nid)["isDataRetentionServiceEnabled"])
        self.assertEqual(self.w.get_network_settings(networkId=nid)["settings"][2], {"optionName": "dataRetention", "value": "true", "type": "boolean"})

        self.assertEqual(bot_client.register_retention_bot(nid, first)[0], 403, "the replaced challenge is void")
        status, password = bot_client.register_retention_bot(nid, challenge)
        self.assertEqual(status, 200)
        self.assertNotEqual(password, challenge)
        self.assertEqual(bot_client.register_retention_bot(nid, challenge)[0], 403, "the challenge is spent")
        st = state(self.w, nid)
        self.assertTrue(st["isDataRetentionBotRegistered"] and st["isBotActive"])
        self.assertError("BadRequestError", 400, self.w.create_data_retention_bot_challenge, networkId=nid)
        self.w.update_data_retention(networkId=nid, actionType="PUBKEY_MSG_ACK")
        self.assertTrue(state(self.w, nid)["isPubkeyMsgAcked"])
        self.w.update_data_retention(networkId=nid, actionType="DISABLE")
        self.assertFalse(state(self.w, nid)["isDataRetentionServiceEnabled"])
        self.w.update_data_retention(networkId=nid, actionType="ENABLE")

        self.assertIn("message", self.w.delete_data_retention_bot(networkId=nid))
        self.assertEqual(state(self.w, nid), {"botExists": False, "isBotActive": False, "isDataRetentionBotRegistered": False,
                                              "isDataRetentionServiceEnabled": False, "isPubkeyMsgAcked": False}, "retention goes off with the bot")
        self.assertError("ResourceNotFoundError", 404, self.w.delete_data_retention_bot, networkId=nid)
        # A bot created again starts over, under a key of its own.
        self.w.create_data_retention_bot(networkId=nid)
        again = self.w.create_data_retention_bot_challenge(networkId=nid)["challenge"]
        self.assertEqual(bot_client.register_retention_bot(nid, again)[0], 200)

    def test_plans_and_errors(self):
        std = self.create_network("Plain")
        self.assertError("ForbiddenError", 403, self.w.create_data_retention_bot, networkId=std)
        self.assertError("ValidationError", 422, self.w.update_data_retention, networkId=std, actionType="ENABLE", field="actionType")
        self.w.update_data_retention(networkId=std, actionType="DISABLE")  # already off: no change
        self.assertError("ResourceNotFoundError", 404, self.w.delete_data_retention_bot, networkId=std)
        for fn in (self.w.create_data_retention_bot, self.w.create_data_retention_bot_challenge, self.w.get_data_retention_bot,
                   self.w.delete_data_retention_bot):
            with self.subTest(fn=fn.__name__):
                self.assertError("ResourceNotFoundError", 404, fn, networkId="12345678")
                self.assertError("ValidationError", 422, self.raw.__getattribute__(fn.__name__), networkId="1", field="networkId")
                self.assertError("ForbiddenError", 403, getattr(client("chime"), fn.__name__), networkId=std)
                self.assertError("UnauthorizedError", 401, getattr(client(secret="nope"), fn.__name__), networkId=std)
        self.assertError("ResourceNotFoundError", 404, client(region="eu-west-2").get_data_retention_bot, networkId=std)
        self.assertError("ValidationError", 422, self.raw.update_data_retention, networkId=std, actionType="PAUSE", field="actionType")
        self.assertError("ValidationError", 422, self.raw.update_data_retention, networkId=std, field="actionType")
        self.assertError("ResourceNotFoundError", 404, self.w.update_data_retention, networkId="12345678", actionType="DISABLE")
        trial = self.create_network("Trial", enablePremiumFreeTrial=True)
        self.w.create_data_retention_bot(networkId=trial)
        self.assertTrue(state(self.w, trial)["botExists"], "the Premium free trial has data retention")
        self.assertTrue(state(client("wickr"), trial)["botExists"])


if __name__ == "__main__":
    unittest.main()
