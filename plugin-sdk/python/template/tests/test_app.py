"""Native tests: python -m unittest discover -s tests (no wasm needed)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import app  # noqa: E402  (registers the plugin's tools)
from berth_sdk import testing  # noqa: E402


class AppTests(unittest.TestCase):
    def test_manifest(self):
        testing.validate()
        tool = testing.manifest()["tools"][0]
        self.assertEqual(tool["name"], "greet")
        self.assertEqual(tool["input_schema"]["required"], ["name"])

    def test_greet(self):
        self.assertEqual(app.greet("x"), "Hello, x!")
        self.assertEqual(testing.call("greet", {"name": "x"}).text, "Hello, x!")


if __name__ == "__main__":
    unittest.main()
