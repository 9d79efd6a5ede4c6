"""The stand-in for the bots' client of the boto3 tests (cmd/belfry's wickr_bots_test.go serves it at
BELFRY_BOT_CLIENT_URL): bot sign-in, and a network's security groups for the bots' groupId."""

import json
import os
import urllib.error
import urllib.request


def _call(method, path, body=None):
    req = urllib.request.Request(os.environ["BELFRY_BOT_CLIENT_URL"] + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as resp:
            data = resp.read()
            return resp.status, json.loads(data) if data else None
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def sign_in(network_id, bot_id, password):
    """A bot signs in with its password: the HTTP status (204, or 403)."""
    return _call("POST", "/bots/signin", {"networkId": network_id, "botId": bot_id, "password": password})[0]


def groups(network_id):
    """The network's security group ids, the default first."""
    return _call("GET", f"/networks/{network_id}/groups")[1]["groups"]


def add_group(network_id):
    """Adds a security group to the network; its id."""
    return _call("POST", f"/networks/{network_id}/groups", {})[1]["id"]


def register_retention_bot(network_id, password):
    """The data-retention bot registers with its challenge: (status, its generated password or the error)."""
    status, body = _call("POST", "/retention/register", {"networkId": network_id, "password": password})
    return status, body["password"] if status == 200 else body
