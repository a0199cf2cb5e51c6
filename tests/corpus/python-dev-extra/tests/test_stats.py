import unittest

from wordstat import stats


class StatsTest(unittest.TestCase):
    def test_counts(self):
        self.assertEqual(stats("a bb\nccc\n"), (2, 3, "ccc"))

    def test_empty(self):
        self.assertEqual(stats(""), (0, 0, ""))
