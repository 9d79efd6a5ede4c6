"""Bots through boto3: CreateBot, GetBot, ListBots (filters, sorts, pages), UpdateBot, DeleteBot and
GetBotsCount, with every error the model names for them. A bot's password (challenge) is checked by
signing the bot in through the stand-in client (bot_client)."""

import unittest

import bot_client
from belfry_wickr import WickrTestCase, client

PW = "Bot-Passw0rd-1"


class Bots(WickrTestCase):
    def setUp(self):
        super().setUp()
        self.nid = self.create_network("Bots")
        self.default = bot_client.groups(self.nid)[0]

    def create(self, username, **kw):
        kw.setdefault("groupId", self.default)
        kw.setdefault("challenge", PW)
        return self.w.create_bot(networkId=self.nid, username=username, **kw)

    def test_create_get_sign_in(self):
        out = self.create("Alerts_Bot", displayName="Alerts")
        bid = out["botId"]
        self.assertRegex(bid, r"^[0-9]{1,10}$")
        self.assertEqual((out["networkId"], out["username"], out["displayName"], out["groupId"]), (self.nid, "alerts_bot", "Alerts", self.default))
        got = self.w.get_bot(networkId=self.nid, botId=bid)
        self.assertEqual(got["username"], "alerts_bot")
        self.assertEqual(got["status"], 1, "pending until it signs in")
        self.assertTrue(got["hasChallenge"])
        self.assertFalse(got["suspended"])
        self.assertRegex(got["uname"], r"^[0-9a-f]{64}$")
        self.assertNotIn("lastLogin", got)
        self.assertNotIn("challenge", got)
        self.assertEqual(bot_client.sign_in(self.nid, bid, "wrong"), 403)
        self.assertEqual(bot_client.sign_in(self.nid, bid, PW), 204)
        got = self.w.get_bot(networkId=self.nid, botId=bid)
        self.assertEqual(got["status"], 2)
        self.assertRegex(got["lastLogin"], r"^\d{4}-\d\d-\d\dT")

    def test_create_refuses_bad_input(self):
        self.create("taken_bot")
        for kwargs, field in [
            ({"username": "alerts"}, "username"),  # must end in "bot"
            ({"username": "a@b.bot"}, "username"),
            ({"username": "x" * 62 + "bot"}, "username"),
            ({"username": "TAKEN_bot"}, "username"),
            ({"username": "ok_bot", "displayName": "d" * 257}, "displayName"),
            ({"username": "ok_bot", "groupId": "nosuchgroup"}, "groupId"),
            ({"username": "ok_bot", "challenge": ""}, "challenge"),
            ({"username": "ok_bot", "groupId": None}, "groupId"),
            ({"username": "ok_bot", "challenge": None}, "challenge"),
            ({"username": None}, "username"),
            ({"username": 7}, "username"),
        ]:
            kw = {"groupId": self.default, "challenge": PW}
            kw.update(kwargs)
            kw = {k: v for k, v in kw.items() if v is not None}
            with self.subTest(kwargs=kwargs):
                self.assertError("ValidationError", 422, self.raw.create_bot, networkId=self.nid, field=field, **kw)
        self.assertEqual(self.w.get_bots_count(networkId=self.nid)["total"], 1, "a refused request creates nothing")
        self.assertError("ResourceNotFoundError", 404, self.w.create_bot, networkId="12345678", username="x_bot", groupId=self.default, challenge=PW)
        self.assertError("ValidationError", 422, self.raw.create_bot, networkId="1234", username="x_bot", groupId=self.default, challenge=PW, field="networkId")

    def test_get_errors(self):
        self.assertError("ResourceNotFoundError", 404, self.w.get_bot, networkId=self.nid, botId="123")
        self.assertError("ValidationError", 422, self.raw.get_bot, networkId=self.nid, botId="12345678901", field="botId")
        self.assertError("ValidationError", 422, self.raw.get_bot, networkId=self.nid, botId="abc", field="botId")
        bid = self.create("mine_bot")["botId"]
        other = client(region="eu-west-2")
        self.assertError("ResourceNotFoundError", 404, other.get_bot, networkId=self.nid, botId=bid)
        self.assertError("ForbiddenError", 403, client("chime").get_bot, networkId=self.nid, botId=bid)
        self.assertError("UnauthorizedError", 401, client(secret="nope").get_bot, networkId=self.nid, botId=bid)
        self.assertEqual(client("wickr").get_bot(networkId=self.nid, botId=bid)["username"], "mine_bot")

    def test_update(self):
        bid = self.create("ops_bot", displayName="Ops")["botId"]
        g2 = bot_client.add_group(self.nid)
        self.assertIn("message", self.w.update_bot(networkId=self.nid, botId=bid, displayName="Operations", groupId=g2))
        got = self.w.get_bot(networkId=self.nid, botId=bid)
        self.assertEqual((got["displayName"], got["groupId"]), ("Operations", g2))
        self.w.update_bot(networkId=self.nid, botId=bid, challenge="New-Passw0rd-2")
        self.assertEqual(bot_client.sign_in(self.nid, bid, PW), 403, "the old password no longer works")
        self.assertEqual(bot_client.sign_in(self.nid, bid, "New-Passw0rd-2"), 204)
        self.w.update_bot(networkId=self.nid, botId=bid, suspend=True)
        self.assertTrue(self.w.get_bot(networkId=self.nid, botId=bid)["suspended"])
        self.assertEqual(bot_client.sign_in(self.nid, bid, "New-Passw0rd-2"), 403, "a suspended bot cannot sign in")
        self.w.update_bot(networkId=self.nid, botId=bid, suspend=False)
        self.assertFalse(self.w.get_bot(networkId=self.nid, botId=bid)["suspended"])
        for kwargs, field in [({"groupId": "nosuchgroup"}, "groupId"), ({"displayName": "d" * 257}, "displayName"),
                              ({"challenge": ""}, "challenge"), ({"suspend": "yes"}, "suspend")]:
            with self.subTest(kwargs=kwargs):
                self.assertError("ValidationError", 422, self.raw.update_bot, networkId=self.nid, botId=bid, field=field, **kwargs)
        self.assertEqual(self.w.get_bot(networkId=self.nid, botId=bid)["displayName"], "Operations")
        self.assertError("ResourceNotFoundError", 404, self.w.update_bot, networkId=self.nid, botId="42", displayName="x")
        self.assertError("ResourceNotFoundError", 404, self.w.update_bot, networkId=self.nid, botId="42", challenge="x")
        self.assertError("ValidationError", 422, self.raw.update_bot, networkId=self.nid, botId="x", displayName="x", field="botId")

    def test_delete(self):
        bid = self.create("gone_bot")["botId"]
        self.assertIn("message", self.w.delete_bot(networkId=self.nid, botId=bid))
        self.assertError("ResourceNotFoundError", 404, self.w.get_bot, networkId=self.nid, botId=bid)
        self.assertError("ResourceNotFoundError", 404, self.w.delete_bot, networkId=self.nid, botId=bid)
        self.assertNotEqual(bot_client.sign_in(self.nid, bid, PW), 204)
        self.assertError("ValidationError", 422, self.raw.delete_bot, networkId=self.nid, botId="b1", field="botId")
        again = self.create("gone_bot")["botId"]
        self.assertNotEqual(again, bid, "the username is free again; the id is new")

    def test_count(self):
        self.assertEqual({k: v for k, v in self.w.get_bots_count(networkId=self.nid).items() if k != "ResponseMetadata"},
                         {"pending": 0, "active": 0, "total": 0})
        a = self.create("a_bot")["botId"]
        self.create("b_bot")
        bot_client.sign_in(self.nid, a, PW)
        c = self.w.get_bots_count(networkId=self.nid)
        self.assertEqual((c["pending"], c["active"], c["total"]), (1, 1, 2))
        self.assertError("ResourceNotFoundError", 404, self.w.get_bots_count, networkId="12345678")
        self.assertError("ValidationError", 422, self.raw.get_bots_count, networkId="x", field="networkId")

    def test_list_filters_sorts_pages(self):
        g2 = bot_client.add_group(self.nid)
        ids = {}
        for name, disp, group in [("alpha_bot", "Zed", self.default), ("bravo_bot", "Yak", g2), ("charlie_bot", "Xylo", self.default),
                                  ("delta_bot", "Wolf", g2), ("echo_bot", "Vole", self.default)]:
            ids[name] = self.create(name, displayName=disp, groupId=group)["botId"]
        bot_client.sign_in(self.nid, ids["charlie_bot"], PW)
        bot_client.sign_in(self.nid, ids["echo_bot"], PW)

        def names(**kw):
            return [b["username"] for b in self.w.get_paginator("list_bots").paginate(networkId=self.nid, PaginationConfig={"PageSize": 2}, **kw)
                    .build_full_result()["bots"]]

        self.assertEqual(names(), ["echo_bot", "delta_bot", "charlie_bot", "bravo_bot", "alpha_bot"], "by username, descending")
        self.assertEqual(names(sortFields="username", sortDirection="ASC"), ["alpha_bot", "bravo_bot", "charlie_bot", "delta_bot", "echo_bot"])
        self.assertEqual(names(sortFields="displayName", sortDirection="ASC"), ["echo_bot", "delta_bot", "charlie_bot", "bravo_bot", "alpha_bot"])
        self.assertEqual(names(sortFields="status+username", sortDirection="ASC"), ["alpha_bot", "bravo_bot", "delta_bot", "charlie_bot", "echo_bot"])
        by_group = names(sortFields="groupId+username", sortDirection="ASC")
        first = sorted([self.default, g2])[0]
        in_first = sorted(n for n, g in [("alpha_bot", self.default), ("bravo_bot", g2), ("charlie_bot", self.default), ("delta_bot", g2),
                                         ("echo_bot", self.default)] if g == first)
        self.assertEqual(by_group[:len(in_first)], in_first)
        self.assertEqual(names(status=2, sortDirection="ASC"), ["charlie_bot", "echo_bot"])
        self.assertEqual(names(groupId=g2, sortDirection="ASC"), ["bravo_bot", "delta_bot"])
        self.assertEqual(names(username="HO_B", sortDirection="ASC"), ["echo_bot"])
        self.assertEqual(names(displayName="OL", sortDirection="ASC"), ["delta_bot", "echo_bot"])
        self.assertEqual(names(username="%"), [])
        page = self.w.list_bots(networkId=self.nid, maxResults=2, sortFields="username")
        self.assertEqual(len(page["bots"]), 2)
        self.assertIn("nextToken", page)
        b = page["bots"][0]
        self.assertEqual(set(b) - {"lastLogin"}, {"botId", "displayName", "username", "uname", "status", "groupId", "hasChallenge", "suspended"})
        self.assertError("ValidationError", 422, self.w.list_bots, networkId=self.nid, nextToken=page["nextToken"], sortFields="status", field="nextToken")
        for kwargs, field in [({"maxResults": 0}, "maxResults"), ({"maxResults": 101}, "maxResults"), ({"sortFields": "created"}, "sortFields"),
                              ({"sortFields": "username+created"}, "sortFields"), ({"sortDirection": "UP"}, "sortDirection"),
                              ({"status": 3}, "status"), ({"nextToken": "garbage"}, "nextToken")]:
            with self.subTest(kwargs=kwargs):
                self.assertError("ValidationError", 422, lambda: self.raw.list_bots(networkId=self.nid, **kwargs), field=field)
        self.assertError("ResourceNotFoundError", 404, self.w.list_bots, networkId="12345678")


if __name__ == "__main__":
    unittest.main()
