import unittest

from acme_ini import missing_keys


class MissingKeysTest(unittest.TestCase):
    def test_reports_only_missing(self):
        text = "[db]\nhost = x\n"
        self.assertEqual(missing_keys(text, ["db.host", "db.port"]), ["db.port"])
