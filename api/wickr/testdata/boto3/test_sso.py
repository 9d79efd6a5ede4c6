"""SSO through boto3 (guide §4): RegisterOidcConfigTest (discovery against a real OpenID provider,
zitadel/oidc's example OP started by the Go test at OIDC_ISSUER), RegisterOidcConfig and GetOidcInfo,
with every error the model names for them. The client secret never comes back in clear."""

import os
import unittest

from belfry_wickr import WickrTestCase, client, with_members

ISSUER = os.environ["OIDC_ISSUER"]


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
