"""The native kv stand-in: the host's semantics in memory."""

import unittest
from dataclasses import dataclass

from berth_sdk import KvError, kv, testing, tool


@dataclass
class Note:
    text: str


class KvTests(unittest.TestCase):
    def setUp(self):
        kv.clear_for_test()

    def test_values_counters_keys_batches(self):
        with testing.isolated(name="t", keyvalue=True):
            b = kv.open("notes")
            self.assertIsNone(b.get("missing"))
            self.assertEqual(b.get("missing", 7), 7)
            b.set("greeting", "hello")
            b.set("note", Note("x"))
            self.assertEqual(b.get("greeting"), "hello")
            self.assertEqual(b.get("note"), {"text": "x"})
            self.assertEqual(b.increment("visits"), 1)
            self.assertEqual(b.increment("visits", 5), 6)
            self.assertEqual(b.get("visits"), 6)
            self.assertEqual(b.keys(), ["greeting", "note", "visits"])
            self.assertTrue(b.exists("note"))
            b.delete("note")
            b.delete("note")
            self.assertFalse(b.exists("note"))
            b.set_many({"a": 1, "b": [2]})
            self.assertEqual(b.get_many(["a", "b", "zz"]), [1, [2], None])
            b.delete_many(["a", "b"])
            self.assertEqual(kv.keys("notes"), ["greeting", "visits"])
            self.assertEqual(kv.keys("other"), [], "buckets are separate")
            with self.assertRaises(KvError.Store):
                b.increment("greeting")
            with self.assertRaises(KvError.Encode):
                b.set("bad", {1, 2})

    def test_state_must_be_enabled(self):
        with testing.isolated(name="t", keyvalue=False):
            @tool
            def remember() -> str:
                """Uses state."""
                kv.open("b").set("k", 1)
                return "ok"

            with self.assertRaises(KvError.StateDisabled) as caught:
                kv.open("b")
            self.assertIn("keyvalue = true", str(caught.exception))
            self.assertIn("[tool.berth]", str(caught.exception))
            with self.assertRaises(testing.CallError) as caught:
                testing.call("remember")
            self.assertEqual(caught.exception.kind, "failed")
            self.assertIn("tool `remember`: this plugin was built without state",
                          caught.exception.message)

    def test_not_granted_names_the_bucket(self):
        error = KvError.NotGranted("notes")
        self.assertIsInstance(error, KvError)
        self.assertIn("`notes`", str(error))


if __name__ == "__main__":
    unittest.main()
