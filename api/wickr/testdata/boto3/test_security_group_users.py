"""ListSecurityGroupUsers through boto3, and the users of a deleted group moving to the default
group. The users are written through the roster decider by the Go setup (seedGroupUsers)."""

import os
import unittest

from belfry_wickr import WickrTestCase, client

NID, FIELD, DEFAULT = os.environ["NETWORK_ID"], os.environ["FIELD_GROUP_ID"], os.environ["DEFAULT_GROUP_ID"]


class GroupUsers(WickrTestCase):
    def users(self, group, **kw):
        return self.w.list_security_group_users(networkId=NID, groupId=group, **kw)

    def test_list_sort_page(self):
        self.assertEqual([u["username"] for u in self.users(FIELD, sortDirection="ASC")["users"]],
                         ["alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"])
        self.assertEqual([u["username"] for u in self.users(FIELD)["users"]][0], "dave@example.com", "DESC by default")
        self.assertEqual([u["lastName"] for u in self.users(FIELD, sortFields="lastName", sortDirection="ASC")["users"]],
                         ["Adams", "Xu", "Young", "Zimmer"])
        self.assertEqual([u["firstName"] for u in self.users(FIELD, sortFields="firstName+lastName", sortDirection="ASC")["users"]],
                         ["Alice", "Bob", "Carol", "Dave"])
        u = self.users(FIELD, sortDirection="ASC", maxResults=1)["users"][0]
        self.assertEqual((u["userId"], u["securityGroups"], u["status"], u["suspended"]), ("1001", [FIELD], 1, False))
        self.assertEqual(len(u["uname"]), 64)
        seen, token = [], None
        while True:
            page = self.users(FIELD, maxResults=3, sortFields="username", sortDirection="ASC", **({"nextToken": token} if token else {}))
            seen += [x["userId"] for x in page["users"]]
            token = page.get("nextToken")
            if not token:
                break
        self.assertEqual(seen, ["1001", "1002", "1003", "2001"])
        names = [x["username"] for x in self.w.get_paginator("list_security_group_users").paginate(
            networkId=NID, groupId=DEFAULT, PaginationConfig={"PageSize": 1}).build_full_result()["users"]]
        self.assertEqual(names[-1:], ["erin@example.com"])
        for kwargs, field in [({"sortFields": "age"}, "sortFields"), ({"maxResults": 101}, "maxResults"), ({"nextToken": "zz"}, "nextToken"),
                              ({"sortDirection": "SIDEWAYS"}, "sortDirection")]:
            with self.subTest(kwargs=kwargs):
                self.assertError("ValidationError", 422, self.raw.list_security_group_users, networkId=NID, groupId=FIELD, field=field, **kwargs)
        self.assertError("ResourceNotFoundError", 404, self.w.list_security_group_users, networkId=NID, groupId="nope")
        self.assertError("ResourceNotFoundError", 404, self.w.list_security_group_users, networkId="99999999", groupId=FIELD)
        self.assertError("ValidationError", 422, self.raw.list_security_group_users, networkId="x", groupId=FIELD, field="networkId")
        self.assertError("ForbiddenError", 403, client("chime").list_security_group_users, networkId=NID, groupId=FIELD)

    def test_zz_delete_moves_users(self):  # runs last: it deletes the group
        counts = {g["id"]: g["activeMembers"] for g in self.w.list_security_groups(networkId=NID)["securityGroups"]}
        self.assertEqual((counts[FIELD], counts[DEFAULT]), (4, 1))
        self.w.delete_security_group(networkId=NID, groupId=FIELD)
        moved = self.users(DEFAULT, maxResults=100, sortDirection="ASC")["users"]
        self.assertEqual([u["userId"] for u in moved], ["1001", "1002", "1003", "2001", "1004"], "by username")
        self.assertTrue(all(u["securityGroups"] == [DEFAULT] for u in moved))
        self.assertEqual(self.w.get_security_group(networkId=NID, groupId=DEFAULT)["securityGroup"]["activeMembers"], 5)
        self.assertError("ResourceNotFoundError", 404, self.users, FIELD)


if __name__ == "__main__":
    unittest.main()
