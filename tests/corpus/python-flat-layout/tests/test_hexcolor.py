import unittest

from hexcolor import to_hex, to_rgb


class RoundTripTest(unittest.TestCase):
    def test_short_form(self):
        self.assertEqual(to_rgb("#f80"), (255, 136, 0))

    def test_round_trip(self):
        self.assertEqual(to_hex(to_rgb("#12abef")), "#12abef")
