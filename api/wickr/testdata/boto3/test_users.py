"""Users through boto3: BatchCreateUser, GetUser, ListUsers, UpdateUser, BatchDeleteUser,
BatchToggleUserSuspendStatus, BatchReinviteUser, BatchLookupUserUname and GetUsersCount, with every
error the model names for them (RateLimitError excepted: Belfry throttles no Wickr call).

The setup (cmd/belfry/wickrusers_test.go) gives a Premium network (WICKR_NETWORK) with its default
group (WICKR_DEFAULT_GROUP) and a second group (WICKR_OTHER_GROUP), and a user who registered and
signed in (WICKR_SIGNED_IN_USER, signed.in@example.com); and a network on the Premium free trial
(WICKR_TRIAL_NETWORK, its default group WICKR_TRIAL_GROUP)."""

import hashlib
import os
import unittest
import uuid

from belfry_wickr import WickrTestCase, client

NET = os.environ["WICKR_NETWORK"]
DEFAULT = os.environ["WICKR_DEFAULT_GROUP"]
OTHER = os.environ["WICKR_OTHER_GROUP"]
ACTIVE = os.environ["WICKR_SIGNED_IN_USER"]


def uniq(prefix):
    return f"{prefix}.{uuid.uuid4().hex[:8]}@example.com"


def uname(username):
    return hashlib.sha256(username.lower().encode()).hexdigest()


class Users(WickrTestCase):
    def create(self, *usernames, group=DEFAULT, **kw):
        out = self.w.batch_create_user(networkId=NET, users=[{"username": u, "securityGroupIds": [group], **kw} for u in usernames])
        self.assertEqual(out.get("failed", []), [], out)
        return [u["userId"] for u in out["successful"]]

    def test_create_items_one_by_one(self):
        ok1, ok2 = uniq("Ada"), uniq("grace")
        out = self.w.batch_create_user(networkId=NET, users=[
            {"username": ok1, "securityGroupIds": [DEFAULT], "firstName": "Ada", "lastName": "Lovelace"},
            {"username": "not an e-mail", "securityGroupIds": [DEFAULT]},
            {"username": uniq("x"), "securityGroupIds": ["NoSuchGroup"]},
            {"username": uniq("y"), "securityGroupIds": [DEFAULT, OTHER]},
            {"username": ok2, "securityGroupIds": [OTHER]},
            {"username": ok2, "securityGroupIds": [DEFAULT]},
            {"username": uniq("z"), "securityGroupIds": [DEFAULT], "inviteCode": "abc"},
        ])
        ok = out["successful"]
        self.assertEqual([u["username"] for u in ok], [ok1.lower(), ok2])
        ada = ok[0]
        self.assertRegex(ada["userId"], r"^[1-9][0-9]{9}$")
        self.assertEqual((ada["firstName"], ada["lastName"], ada["status"], ada["suspended"]), ("Ada", "Lovelace", 1, False))
        self.assertEqual(ada["securityGroups"], [DEFAULT])
        self.assertEqual(ada["uname"], uname(ok1))
        self.assertTrue(ada["isUser"])
        self.assertFalse(ada["isInviteExpired"])
        self.assertEqual(int(ok[1]["userId"]), int(ada["userId"]) + 4, "the ids of a batch are consecutive")
        fields = {f["field"] for f in out["failed"]}
        self.assertEqual(fields, {"users[1].username", "users[2].securityGroupIds[0]", "users[3].securityGroupIds",
                                  "users[5].username", "users[6].inviteCode"}, out["failed"])
        for f in out["failed"]:
            self.assertTrue(f["reason"] and f["userId"], f)
        self.assertIn("2 users created", out["message"])
        got = self.w.get_user(networkId=NET, userId=ada["userId"])
        self.assertEqual((got["username"], got["firstName"], got["status"], got["securityGroupIds"]), (ok1.lower(), "Ada", 1, [DEFAULT]))
        self.assertNotIn("lastLogin", got)

    def test_username_taken_and_released(self):
        name = uniq("taken")
        (uid,) = self.create(name)
        out = self.w.batch_create_user(networkId=NET, users=[{"username": name.upper(), "securityGroupIds": [DEFAULT]}])
        self.assertEqual(out["successful"], [])
        self.assertEqual(out["failed"][0]["field"], "users[0].username")
        self.w.batch_delete_user(networkId=NET, userIds=[uid])
        (again,) = self.create(name)
        self.assertNotEqual(again, uid, "a deleted user's e-mail is invited again as a new user")

    def test_client_token_makes_a_retry_the_same_request(self):
        before = self.w.get_users_count(networkId=NET)
        token = uuid.uuid4().hex
        users = [{"username": uniq("retry"), "securityGroupIds": [DEFAULT]} for _ in range(3)]
        first = self.w.batch_create_user(networkId=NET, users=users, clientToken=token)
        second = self.w.batch_create_user(networkId=NET, users=users, clientToken=token)
        self.assertEqual([u["userId"] for u in first["successful"]], [u["userId"] for u in second["successful"]])
        self.assertEqual(len(second["successful"]), 3)
        after = self.w.get_users_count(networkId=NET)
        self.assertEqual(after["pending"], before["pending"] + 3)
        other = self.w.batch_create_user(networkId=NET, users=[{"username": uniq("retry"), "securityGroupIds": [DEFAULT]}], clientToken=uuid.uuid4().hex)
        self.assertNotEqual(other["successful"][0]["userId"], first["successful"][0]["userId"])

    def test_create_refuses_bad_requests(self):
        self.assertError("ValidationError", 422, self.raw.batch_create_user, networkId=NET, users=[], field="users")
        many = [{"username": f"u{i}@example.com", "securityGroupIds": [DEFAULT]} for i in range(51)]
        self.assertError("ValidationError", 422, self.raw.batch_create_user, networkId=NET, users=many, field="users")
        self.assertError("ValidationError", 422, self.raw.batch_create_user, networkId=NET, field="users")
        self.assertError("ValidationError", 422, self.raw.batch_create_user, networkId=NET, users=[{"securityGroupIds": [DEFAULT]}], field="users[0].username")
        self.assertError("ValidationError", 422, self.raw.batch_create_user, networkId=NET, users=[{"username": "a@example.com"}], field="users[0].securityGroupIds")
        self.assertError("ValidationError", 422, self.raw.batch_create_user, networkId=NET, users=[{"username": "a@example.com", "securityGroupIds": [DEFAULT]}],
                         clientToken="bad token!", field="clientToken")
        self.assertError("ValidationError", 422, self.raw.batch_create_user, networkId="123", users=[{"username": "a@example.com", "securityGroupIds": [DEFAULT]}], field="networkId")
        self.assertError("ResourceNotFoundError", 404, self.w.batch_create_user, networkId="12345678", users=[{"username": "a@example.com", "securityGroupIds": [DEFAULT]}])
        self.assertError("BadRequestError", 400, client(region="us-west-2").batch_create_user, networkId=NET, users=[{"username": "a@example.com", "securityGroupIds": [DEFAULT]}])

    def test_auth_errors(self):
        self.assertError("ForbiddenError", 403, client("chime").list_users, networkId=NET)
        self.assertError("UnauthorizedError", 401, client(secret="not-the-secret").get_users_count, networkId=NET)
        self.assertEqual(client("wickr").list_users(networkId=NET)["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertError("ResourceNotFoundError", 404, client(region="eu-west-2").list_users, networkId=NET)

    def test_get_user_errors_and_activity(self):
        self.assertError("ResourceNotFoundError", 404, self.w.get_user, networkId=NET, userId="1234567890")
        self.assertError("ValidationError", 422, self.raw.get_user, networkId=NET, userId="abc", field="userId")
        self.assertError("ResourceNotFoundError", 404, self.w.get_user, networkId="12345678", userId="1")
        got = self.w.get_user(networkId=NET, userId=ACTIVE)
        self.assertEqual(got["status"], 2)
        self.assertIsInstance(got["lastLogin"], int)
        self.assertEqual(got["lastActivity"], got["lastLogin"])
        later = self.w.get_user(networkId=NET, userId=ACTIVE, startTime=got["lastLogin"] + 60)
        self.assertNotIn("lastActivity", later)

    def test_list_filters_sorts_pages(self):
        tag = uuid.uuid4().hex[:6]
        names = [f"list{tag}.{c}@example.com" for c in "dbeac"]
        firsts = ["Zoe", "Yan", "Xia", "Will", "Val"]
        ids = []
        for n, f, g in zip(names, firsts, [DEFAULT, OTHER, DEFAULT, OTHER, DEFAULT]):
            ids += self.create(n, group=g, firstName=f, lastName="Tag" + tag)
        listed, token = [], None
        while True:
            kw = {"nextToken": token} if token else {}
            page = self.w.list_users(networkId=NET, username=f"list{tag}", sortFields="username", sortDirection="ASC", maxResults=2, **kw)
            self.assertLessEqual(len(page["users"]), 2)
            listed += [u["username"] for u in page["users"]]
            token = page.get("nextToken")
            if not token:
                break
        self.assertEqual(listed, sorted(names))
        default_desc = self.w.list_users(networkId=NET, username=f"LIST{tag}")["users"]
        self.assertEqual([u["username"] for u in default_desc], sorted(names, reverse=True), "by default username, descending; filters ignore case")
        by_first = self.w.list_users(networkId=NET, lastName="tag" + tag, sortFields="firstName", sortDirection="ASC")["users"]
        self.assertEqual([u["firstName"] for u in by_first], sorted(firsts))
        grp = self.w.list_users(networkId=NET, lastName="Tag" + tag, groupId=OTHER, sortFields="groupId+lastName")["users"]
        self.assertEqual(sorted(u["username"] for u in grp), sorted([names[1], names[3]]))
        self.assertEqual(self.w.list_users(networkId=NET, firstName="zo", lastName="Tag" + tag)["users"][0]["username"], names[0])
        self.assertEqual(self.w.list_users(networkId=NET, username=f"list{tag}", status=2)["users"], [])
        self.assertEqual(len(self.w.list_users(networkId=NET, username=f"list{tag}", status=1)["users"]), 5)
        active = self.w.list_users(networkId=NET, status=2, sortFields="status+username")["users"]
        self.assertIn(ACTIVE, [u["userId"] for u in active])
        full = self.w.get_paginator("list_users").paginate(networkId=NET, lastName="Tag" + tag, PaginationConfig={"PageSize": 3}).build_full_result()
        self.assertEqual(sorted(u["userId"] for u in full["users"]), sorted(ids))
        first = self.w.list_users(networkId=NET, maxResults=1, sortFields="firstName")
        self.assertError("ValidationError", 422, self.w.list_users, networkId=NET, nextToken=first["nextToken"], sortFields="lastName", field="nextToken")
        for kwargs, field in [({"maxResults": 0}, "maxResults"), ({"maxResults": 101}, "maxResults"), ({"sortFields": "email"}, "sortFields"),
                              ({"sortDirection": "UP"}, "sortDirection"), ({"nextToken": "garbage"}, "nextToken"),
                              ({"networkId": "1"}, "networkId")]:
            with self.subTest(kwargs=kwargs):
                args = {"networkId": NET, **kwargs}
                self.assertError("ValidationError", 422, self.raw.list_users, field=field, **args)
        self.assertError("ValidationError", 422, lambda: self.raw.list_users(networkId=NET, status=3), field="status")
        self.assertError("ResourceNotFoundError", 404, self.w.list_users, networkId="12345678")

    def test_update_user(self):
        name = uniq("upd")
        (uid,) = self.create(name, firstName="Old")
        out = self.w.update_user(networkId=NET, userId=uid, userDetails={"firstName": "New", "lastName": "Name", "securityGroupIds": [OTHER]})
        self.assertEqual((out["userId"], out["networkId"], out["firstName"], out["lastName"], out["securityGroupIds"], out["suspended"], out["status"]),
                         (uid, NET, "New", "Name", [OTHER], False, 1))
        self.assertIsInstance(out["modified"], int)
        self.assertIsInstance(out["inviteExpiration"], int)
        got = self.w.get_user(networkId=NET, userId=uid)
        self.assertEqual((got["firstName"], got["securityGroupIds"]), ("New", [OTHER]))
        same = self.w.update_user(networkId=NET, userId=uid, userDetails={"username": name.upper()})
        self.assertEqual(same["firstName"], "New", "the same username (any case) changes nothing")
        for details, field in [({"username": uniq("other")}, "userDetails.username"), ({"securityGroupIds": ["Nope"]}, "userDetails.securityGroupIds[0]"),
                               ({"securityGroupIds": []}, "userDetails.securityGroupIds"), ({"firstName": "x" * 257}, "userDetails.firstName"),
                               ({"inviteCode": "abc"}, "userDetails.inviteCode")]:
            with self.subTest(details=details):
                self.assertError("ValidationError", 422, self.raw.update_user, networkId=NET, userId=uid, userDetails=details, field=field)
        self.assertEqual(self.w.get_user(networkId=NET, userId=uid)["firstName"], "New", "a refused update changes nothing")
        self.assertError("ValidationError", 422, self.raw.update_user, networkId=NET, userDetails={"firstName": "x"}, field="userId")
        self.assertError("ValidationError", 422, self.raw.update_user, networkId=NET, userId="x1", field="userId")
        self.assertError("ResourceNotFoundError", 404, self.w.update_user, networkId=NET, userId="1234567899", userDetails={"firstName": "x"})
        self.assertError("ResourceNotFoundError", 404, self.w.update_user, networkId="12345678", userId=uid, userDetails={"firstName": "x"})

    def test_delete_users(self):
        a, b = self.create(uniq("del"), uniq("del"))
        before = self.w.get_users_count(networkId=NET)
        out = self.w.batch_delete_user(networkId=NET, userIds=[a, b, "1234567891", "bad", a])
        self.assertEqual([s["userId"] for s in out["successful"]], [a, b])
        failed = {f["userId"]: f for f in out["failed"]}
        self.assertEqual(set(failed), {"1234567891", "bad", a})
        self.assertEqual(failed["bad"]["field"], "userIds[3]")
        self.assertEqual(failed["1234567891"]["field"], "userIds[2]")
        self.assertEqual(self.w.get_users_count(networkId=NET)["pending"], before["pending"] - 2)
        # BatchUserErrorResponseItem requires userId: an empty id is failed with its (empty) userId.
        empty = self.raw.batch_delete_user(networkId=NET, userIds=[""])["failed"]
        self.assertEqual([(f.get("userId"), f["field"]) for f in empty], [("", "userIds[0]")])
        self.assertError("ResourceNotFoundError", 404, self.w.get_user, networkId=NET, userId=a)
        again = self.w.batch_delete_user(networkId=NET, userIds=[a])
        self.assertEqual((again["successful"], again["failed"][0]["userId"]), ([], a), "deletion is final")
        self.assertError("ValidationError", 422, self.raw.batch_delete_user, networkId=NET, userIds=[], field="userIds")
        self.assertError("ValidationError", 422, self.raw.batch_delete_user, networkId=NET, userIds=[str(i) for i in range(51)], field="userIds")
        self.assertError("ValidationError", 422, self.raw.batch_delete_user, networkId=NET, field="userIds")
        self.assertError("ResourceNotFoundError", 404, self.w.batch_delete_user, networkId="12345678", userIds=[a])

    def test_delete_retry_same_token(self):
        # A retry with the first request's X-Client-Token answers as the first did (and frees no seat twice).
        a, b = self.create(uniq("retry"), uniq("retry"))
        token = "delete-" + uuid.uuid4().hex
        first = self.w.batch_delete_user(networkId=NET, userIds=[a, b], clientToken=token)
        count = self.w.get_users_count(networkId=NET)
        again = self.w.batch_delete_user(networkId=NET, userIds=[a, b], clientToken=token)
        self.assertEqual((again["successful"], again["failed"]), (first["successful"], first["failed"]), again)
        self.assertEqual([s["userId"] for s in again["successful"]], [a, b])
        self.assertEqual(self.w.get_users_count(networkId=NET)["total"], count["total"])
        other = self.w.batch_delete_user(networkId=NET, userIds=[a], clientToken="another-" + uuid.uuid4().hex)
        self.assertEqual((other["successful"], other["failed"][0]["userId"]), ([], a), "another request finds the user deleted")

    def test_suspend_and_reinvite(self):
        (pending,) = self.create(uniq("susp"))
        out = self.w.batch_toggle_user_suspend_status(networkId=NET, suspend=True, userIds=[ACTIVE, pending])
        self.assertEqual([s["userId"] for s in out["successful"]], [ACTIVE])
        self.assertEqual((out["failed"][0]["userId"], out["failed"][0]["field"]), (pending, "suspend"))
        self.assertTrue(self.w.get_user(networkId=NET, userId=ACTIVE)["suspended"])
        self.assertEqual(self.w.list_users(networkId=NET, username="signed.in")["users"][0]["suspended"], True)
        out = self.w.batch_toggle_user_suspend_status(networkId=NET, suspend=False, userIds=[ACTIVE])
        self.assertEqual([s["userId"] for s in out["successful"]], [ACTIVE])
        self.assertFalse(self.w.get_user(networkId=NET, userId=ACTIVE)["suspended"])
        self.assertError("ValidationError", 422, self.raw.batch_toggle_user_suspend_status, networkId=NET, userIds=[ACTIVE], field="suspend")
        self.assertError("ValidationError", 422, self.raw.batch_toggle_user_suspend_status, networkId=NET, suspend=True, userIds=[], field="userIds")
        self.assertError("ResourceNotFoundError", 404, self.w.batch_toggle_user_suspend_status, networkId="12345678", suspend=True, userIds=[ACTIVE])

        out = self.w.batch_reinvite_user(networkId=NET, userIds=[pending, ACTIVE, "1234567892"])
        self.assertEqual([s["userId"] for s in out["successful"]], [pending])
        self.assertEqual({f["userId"] for f in out["failed"]}, {ACTIVE, "1234567892"})
        self.assertError("ValidationError", 422, self.raw.batch_reinvite_user, networkId=NET, userIds=[], field="userIds")
        self.assertError("ResourceNotFoundError", 404, self.w.batch_reinvite_user, networkId="12345678", userIds=[pending])

    def test_lookup_unames(self):
        name = uniq("look")
        self.create(name)
        out = self.w.batch_lookup_user_uname(networkId=NET, unames=[uname(name), "0" * 64])
        self.assertEqual(out["successful"], [{"uname": uname(name), "username": name.lower()}])
        self.assertEqual((out["failed"][0]["uname"], out["failed"][0]["field"]), ("0" * 64, "unames[1]"))
        empty = self.w.batch_lookup_user_uname(networkId=NET, unames=[""])["failed"]  # uname is required in the failed item
        self.assertEqual([(f.get("uname"), f["field"]) for f in empty], [("", "unames[0]")])
        self.assertError("ValidationError", 422, self.raw.batch_lookup_user_uname, networkId=NET, unames=[], field="unames")
        self.assertError("ValidationError", 422, self.raw.batch_lookup_user_uname, networkId=NET, unames=["a"] * 51, field="unames")
        self.assertError("ResourceNotFoundError", 404, self.w.batch_lookup_user_uname, networkId="12345678", unames=[uname(name)])

    def test_users_count(self):
        c = self.w.get_users_count(networkId=NET)
        self.assertEqual(c["total"], c["pending"] + c["active"])
        self.assertGreaterEqual(c["active"], 1)
        self.assertEqual((c["rejected"], c["remaining"]), (0, 0), "a Premium network cannot take the trial")
        std = self.create_network("Counting")
        got = self.w.get_users_count(networkId=std)
        got.pop("ResponseMetadata")
        self.assertEqual(got, {"pending": 0, "active": 0, "rejected": 0, "remaining": 30, "total": 0})
        self.assertError("ResourceNotFoundError", 404, self.w.get_users_count, networkId="12345678")
        self.assertError("ValidationError", 422, self.raw.get_users_count, networkId="x", field="networkId")

    def test_trial_cap(self):
        nid, group = os.environ["WICKR_TRIAL_NETWORK"], os.environ["WICKR_TRIAL_GROUP"]
        out = self.w.batch_create_user(networkId=nid, users=[{"username": f"t{i}@example.com", "securityGroupIds": [group]} for i in range(30)])
        self.assertEqual(len(out["successful"]), 30)
        self.assertEqual(self.w.get_users_count(networkId=nid)["remaining"], 0)
        self.assertError("ValidationError", 422, self.w.batch_create_user, networkId=nid, users=[{"username": "t31@example.com", "securityGroupIds": [group]}], field="users")
        self.w.batch_delete_user(networkId=nid, userIds=[out["successful"][0]["userId"]])
        self.assertEqual(self.w.get_users_count(networkId=nid)["remaining"], 1)
        self.assertEqual(len(self.w.batch_create_user(networkId=nid, users=[{"username": "t31@example.com", "securityGroupIds": [group]}])["successful"]), 1)


if __name__ == "__main__":
    unittest.main()
