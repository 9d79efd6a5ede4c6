"""SSO through boto3 (guide §4): RegisterOidcConfigTest (discovery against a real OpenID provider,
zitadel/oidc's example OP started by the Go test at OIDC_ISSUER), RegisterOidcConfig and GetOidcInfo
(also its token members: an authorization code, obtained through the OP's login page for its client
"web" and OIDC_REDIRECT_URI, exchanged for tokenInfo), with every error the model names for them.
The client secret never comes back in clear."""

import base64
import hashlib
import http.cookiejar
import os
import secrets
import unittest
import urllib.parse
import urllib.request

from belfry_wickr import WickrTestCase, client, with_members

ISSUER = os.environ["OIDC_ISSUER"]
REDIRECT = os.environ["OIDC_REDIRECT_URI"]


class _Redirected(Exception):
    def __init__(self, url):
        super().__init__(url)
        self.url = url


class _StopAt(urllib.request.HTTPRedirectHandler):
    """Follows redirects as a browser would, up to the client's redirect URI (nothing listens there)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if newurl.startswith(REDIRECT):
            raise _Redirected(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def auth_code():
    """Signs the example OP's user in through its login page for client "web" (code flow with PKCE,
    S256) and returns the authorization code and the PKCE verifier."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _StopAt())
    query = urllib.parse.urlencode({"client_id": "web", "redirect_uri": REDIRECT, "response_type": "code", "scope": "openid email",
                                    "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"})
    login = browser.open(ISSUER + "auth?" + query)
    request_id = urllib.parse.parse_qs(urllib.parse.urlparse(login.geturl()).query)["authRequestID"][0]
    form = urllib.parse.urlencode({"username": "test-user@127.0.0.1", "password": "verysecure", "id": request_id}).encode()
    try:
        browser.open(ISSUER + "login/username", form)
    except _Redirected as r:
        return urllib.parse.parse_qs(urllib.parse.urlparse(r.url).query)["code"][0], verifier
    raise AssertionError("the provider did not redirect to the client with a code")


class SSO(WickrTestCase):
    def setUp(self):
        super().setUp()
        self.nid = self.create_network("SSO", "PREMIUM")

    def test_discovery(self):
        out = self.w.register_oidc_config_test(networkId=self.nid, issuer=ISSUER, scopes="openid profile email")
        self.assertEqual(out["issuer"], ISSUER)
        self.assertEqual(out["authorizationEndpoint"], ISSUER + "auth")
        self.assertTrue(out["tokenEndpoint"].startswith(ISSUER))
        self.assertTrue(out["userinfoEndpoint"].startswith(ISSUER))
        self.assertTrue(out["endSessionEndpoint"].startswith(ISSUER))
        self.assertTrue(out["revocationEndpoint"].startswith(ISSUER))
        self.assertIn("code", out["responseTypesSupported"])
        self.assertIn("openid", out["scopesSupported"])
        self.assertIn("authorization_code", out["grantTypesSupported"])
        self.assertIn("refresh_token", out["grantTypesSupported"])
        self.assertIn("client_secret_basic", out["tokenEndpointAuthMethodsSupported"])
        self.assertFalse(out["microsoftMultiRefreshToken"])
        with self.assertRaises(Exception):
            self.w.get_oidc_info(networkId=self.nid)  # a test stores nothing

    def test_discovery_errors(self):
        for kwargs, field in [
            ({"issuer": "http://127.0.0.1:1/"}, "issuer"),  # nothing listens
            ({"issuer": ISSUER + "elsewhere/"}, "issuer"),  # no discovery document there
            ({"issuer": ISSUER.rstrip("/")}, "issuer"),  # the document names another issuer
            ({"issuer": "http://idp.example.com/"}, "issuer"),  # http only on loopback
            ({"issuer": "not a url"}, "issuer"),
            ({"scopes": "profile email"}, "scopes"),  # openid is required
            ({"scopes": "openid wickr:admin"}, "scopes"),  # not supported by the provider
            ({"certificate": "not a PEM"}, "certificate"),
            ({"extraAuthParams": "%zz"}, "extraAuthParams"),
            ({"issuer": None}, "issuer"),
            ({"scopes": None}, "scopes"),
        ]:
            kw = {"issuer": ISSUER, "scopes": "openid"}
            kw.update(kwargs)
            kw = {k: v for k, v in kw.items() if v is not None}
            with self.subTest(kwargs=kwargs):
                self.assertError("ValidationError", 422, lambda: self.raw.register_oidc_config_test(networkId=self.nid, **kw), field=field)
        self.assertError("ResourceNotFoundError", 404, self.w.register_oidc_config_test, networkId="12345678", issuer=ISSUER, scopes="openid")
        self.assertError("ForbiddenError", 403, client("chime").register_oidc_config_test, networkId=self.nid, issuer=ISSUER, scopes="openid")
        self.assertError("UnauthorizedError", 401, client(secret="x").register_oidc_config_test, networkId=self.nid, issuer=ISSUER, scopes="openid")

    def test_register_and_get(self):
        out = self.w.register_oidc_config(networkId=self.nid, companyId="UE1-Demo_Net", issuer=ISSUER, scopes="openid profile email offline_access",
                                          userId="web", secret="s3cr3t-value", customUsername="upn", extraAuthParams="prompt=login",
                                          ssoTokenBufferMinutes=5)
        self.assertEqual((out["companyId"], out["issuer"], out["clientId"], out["userId"]), ("UE1-Demo_Net", ISSUER, "web", "web"))
        self.assertEqual(out["secret"], "****")
        self.assertEqual(out["clientSecret"], "****")
        self.assertEqual(out["applicationId"], 1)
        self.assertEqual(out["ssoTokenBufferMinutes"], 5)
        self.assertTrue(out["redirectUrl"].endswith(f"/wickr/networks/{self.nid}/oidc/callback"))
        info = self.w.get_oidc_info(networkId=self.nid)["openidConnectInfo"]
        self.assertEqual((info["companyId"], info["scopes"], info["customUsername"], info["extraAuthParams"]),
                         ("UE1-Demo_Net", "openid profile email offline_access", "upn", "prompt=login"))
        self.assertEqual(info["secret"], "****")
        self.assertNotIn("s3cr3t-value", str(info))
        # Without a secret the one set stays; the grace period of guide §4.3 is Belfry's member.
        c = with_members(client(), "RegisterOidcConfig", tokenRefreshGraceMinutes=30)
        out = c.register_oidc_config(networkId=self.nid, companyId="UE1-Demo_Net", issuer=ISSUER, scopes="openid", userId="web")
        self.assertEqual(out["secret"], "****")
        self.assertEqual(self.w.get_oidc_info(networkId=self.nid)["openidConnectInfo"]["scopes"], "openid")

    def test_token_exchange(self):
        """GetOidcInfo with the model's token members exchanges an authorization code at the provider
        and answers tokenInfo; the client and the provider default to the network's configuration."""
        self.w.register_oidc_config(networkId=self.nid, companyId="Tokens", issuer=ISSUER, scopes="openid email", userId="web", secret="secret")
        code, verifier = auth_code()
        out = self.w.get_oidc_info(networkId=self.nid, code=code, grantType="authorization_code", redirectUri=REDIRECT, codeVerifier=verifier)
        self.assertEqual(out["openidConnectInfo"]["companyId"], "Tokens")
        tok = out["tokenInfo"]
        self.assertTrue(tok["accessToken"])
        self.assertEqual(tok["idToken"].count("."), 2)  # a JWT
        self.assertEqual(tok["tokenType"].lower(), "bearer")
        self.assertIsInstance(tok["expiresIn"], int)
        self.assertGreater(tok["expiresIn"], 0)
        self.assertEqual(tok["codeVerifier"], verifier)
        self.assertEqual(tok["codeChallenge"], base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode())
        used = {"code": code, "grantType": "authorization_code", "redirectUri": REDIRECT, "codeVerifier": verifier}
        self.assertError("ValidationError", 422, lambda: self.w.get_oidc_info(networkId=self.nid, **used), field="code")  # a code is used once
        # A configuration not saved yet: the provider and the client in the request.
        fresh = self.create_network("Fresh", "PREMIUM")
        code, verifier = auth_code()
        out = self.w.get_oidc_info(networkId=fresh, code=code, redirectUri=REDIRECT, codeVerifier=verifier, clientId="web", clientSecret="secret",
                                   url=ISSUER)
        self.assertNotIn("openidConnectInfo", out)
        self.assertTrue(out["tokenInfo"]["accessToken"])
        for kwargs, field in [
            ({"grantType": "password"}, "grantType"),
            ({"code": None}, "code"),
            ({"url": None}, "url"),  # no configuration to take the provider from
            ({"clientId": None}, "clientId"),
            ({"redirectUri": None}, "redirectUri"),
            ({"url": "not a url"}, "url"),
            ({"certificate": "not a PEM"}, "certificate"),
        ]:
            kw = {"code": "x", "redirectUri": REDIRECT, "clientId": "web", "clientSecret": "secret", "url": ISSUER}
            kw.update(kwargs)
            kw = {k: v for k, v in kw.items() if v is not None}
            with self.subTest(kwargs=kwargs):
                self.assertError("ValidationError", 422, lambda: self.w.get_oidc_info(networkId=fresh, **kw), field=field)
        code, verifier = auth_code()
        wrong = {"code": code, "redirectUri": REDIRECT, "codeVerifier": verifier, "clientId": "web", "clientSecret": "wrong", "url": ISSUER}
        self.assertError("ValidationError", 422, lambda: self.w.get_oidc_info(networkId=fresh, **wrong), field="clientSecret")
        self.assertError("ResourceNotFoundError", 404,
                         lambda: self.w.get_oidc_info(networkId="12345678", code="x", url=ISSUER, clientId="web", redirectUri=REDIRECT))

    def test_company_ids_are_unique(self):
        other = self.create_network("Other", "PREMIUM")
        self.w.register_oidc_config(networkId=self.nid, companyId="Acme", issuer=ISSUER, scopes="openid", userId="web")
        self.assertError("ValidationError", 422, self.w.register_oidc_config, networkId=other, companyId="ACME", issuer=ISSUER, scopes="openid",
                         userId="web", field="companyId")
        self.w.register_oidc_config(networkId=self.nid, companyId="Acme_2", issuer=ISSUER, scopes="openid", userId="web")
        self.w.register_oidc_config(networkId=other, companyId="acme", issuer=ISSUER, scopes="openid", userId="web")  # released
        self.assertEqual(self.w.get_oidc_info(networkId=other)["openidConnectInfo"]["companyId"], "acme")

    def test_register_errors(self):
        base = {"companyId": "Corp", "issuer": ISSUER, "scopes": "openid", "userId": "web"}
        for kwargs, field in [
            ({"companyId": "has space"}, "companyId"), ({"companyId": ""}, "companyId"), ({"companyId": None}, "companyId"),
            ({"issuer": "ftp://x"}, "issuer"), ({"issuer": None}, "issuer"), ({"scopes": "email"}, "scopes"), ({"scopes": None}, "scopes"),
            ({"userId": None}, "userId"), ({"customUsername": "a b"}, "customUsername"), ({"ssoTokenBufferMinutes": -1}, "ssoTokenBufferMinutes"),
            ({"extraAuthParams": "%zz"}, "extraAuthParams"), ({"ssoTokenBufferMinutes": "five"}, "ssoTokenBufferMinutes"),
            ({"ssoTokenBufferMinutes": 2**31}, "ssoTokenBufferMinutes"),  # a 32-bit Integer
        ]:
            kw = dict(base)
            kw.update(kwargs)
            kw = {k: v for k, v in kw.items() if v is not None}
            with self.subTest(kwargs=kwargs):
                self.assertError("ValidationError", 422, lambda: self.raw.register_oidc_config(networkId=self.nid, **kw), field=field)
        c = with_members(client(validate=False), "RegisterOidcConfig", tokenRefreshGraceMinutes=45)
        self.assertError("ValidationError", 422, c.register_oidc_config, networkId=self.nid, field="tokenRefreshGraceMinutes", **base)
        self.assertError("ResourceNotFoundError", 404, self.w.get_oidc_info, networkId=self.nid)  # nothing was saved
        self.assertError("ResourceNotFoundError", 404, self.w.register_oidc_config, networkId="12345678", **base)
        self.assertError("ResourceNotFoundError", 404, client(region="eu-west-2").register_oidc_config, networkId=self.nid, **base)
        self.assertError("ValidationError", 422, self.raw.get_oidc_info, networkId="x", field="networkId")
        self.assertError("ForbiddenError", 403, client("chime").get_oidc_info, networkId=self.nid)
        self.assertError("UnauthorizedError", 401, client(secret="x").register_oidc_config, networkId=self.nid, **base)


if __name__ == "__main__":
    unittest.main()
