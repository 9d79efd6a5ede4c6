"""OpenTDF through boto3: RegisterOpentdfConfig (with dryRun) and GetOpentdfConfig, with every error
the model names for them. The client secret never comes back in clear."""

import unittest

from belfry_wickr import WickrTestCase, client

CFG = {"clientId": "wickr-tdf", "clientSecret": "tdf-s3cret", "domain": "tdf.example.com", "provider": "Virtru"}


class OpenTDF(WickrTestCase):
    def setUp(self):
        super().setUp()
        self.nid = self.create_network("TDF", "PREMIUM")

    def test_register_and_get(self):
        self.assertError("ResourceNotFoundError", 404, self.w.get_opentdf_config, networkId=self.nid)
        out = self.w.register_opentdf_config(networkId=self.nid, dryRun=True, **CFG)
        self.assertEqual((out["clientId"], out["domain"], out["provider"], out["clientSecret"]), ("wickr-tdf", "tdf.example.com", "Virtru", "****"))
        self.assertError("ResourceNotFoundError", 404, self.w.get_opentdf_config, networkId=self.nid)  # a dry run stores nothing
        out = self.w.register_opentdf_config(networkId=self.nid, **CFG)
        self.assertEqual(out["clientSecret"], "****")
        got = self.w.get_opentdf_config(networkId=self.nid)
        self.assertEqual((got["clientId"], got["domain"], got["provider"], got["clientSecret"]), ("wickr-tdf", "tdf.example.com", "Virtru", "****"))
        self.w.register_opentdf_config(networkId=self.nid, **dict(CFG, domain="tdf2.example.com"))
        self.assertEqual(self.w.get_opentdf_config(networkId=self.nid)["domain"], "tdf2.example.com")
        self.assertEqual(client("wickr").get_opentdf_config(networkId=self.nid)["domain"], "tdf2.example.com")

    def test_errors(self):
        for kwargs, field in [
            ({"provider": "Acme"}, "provider"), ({"domain": "not a host"}, "domain"), ({"clientId": " "}, "clientId"),
            ({"clientSecret": ""}, "clientSecret"), ({"clientId": None}, "clientId"), ({"clientSecret": None}, "clientSecret"),
            ({"domain": None}, "domain"), ({"provider": None}, "provider"), ({"domain": 7}, "domain"),
        ]:
            kw = dict(CFG)
            kw.update(kwargs)
            kw = {k: v for k, v in kw.items() if v is not None}
            for dry in (False, True):
                with self.subTest(kwargs=kwargs, dry=dry):
                    self.assertError("ValidationError", 422, lambda: self.raw.register_opentdf_config(networkId=self.nid, dryRun=dry, **kw), field=field)
        self.assertError("ValidationError", 422, lambda: self.raw.register_opentdf_config(networkId=self.nid, dryRun="maybe", **CFG), field="dryRun")
        self.assertError("ResourceNotFoundError", 404, self.w.get_opentdf_config, networkId=self.nid)
        self.assertError("ResourceNotFoundError", 404, self.w.register_opentdf_config, networkId="12345678", **CFG)
        self.assertError("ResourceNotFoundError", 404, client(region="eu-west-2").get_opentdf_config, networkId=self.nid)
        self.assertError("ValidationError", 422, self.raw.get_opentdf_config, networkId="1", field="networkId")
        self.assertError("ForbiddenError", 403, client("chime").register_opentdf_config, networkId=self.nid, **CFG)
        self.assertError("UnauthorizedError", 401, client(secret="x").get_opentdf_config, networkId=self.nid)


if __name__ == "__main__":
    unittest.main()
