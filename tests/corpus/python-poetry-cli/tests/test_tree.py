import os
import tempfile
import unittest

from dirtree.tree import render


class RenderTest(unittest.TestCase):
    def test_nested(self):
        with tempfile.TemporaryDirectory() as root:
            os.makedirs(os.path.join(root, "a", "b"))
            open(os.path.join(root, "z.txt"), "w").close()
            self.assertEqual(render(root), ["├── a", "│   └── b", "└── z.txt"])
