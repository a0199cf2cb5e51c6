import unittest

from app import app


class StatusTest(unittest.TestCase):
    def test_round_trip(self):
        client = app.test_client()
        client.put("/status/infra", json={"status": "green"})
        self.assertEqual(client.get("/status/infra").get_json()["status"], "green")

    def test_unknown_team(self):
        self.assertEqual(app.test_client().get("/status/nobody").status_code, 404)
