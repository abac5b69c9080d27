"""Native tests of the units plugin (no wasm): python3 -m unittest discover -s tests
from plugins/units, with the SDK importable (installed, or on PYTHONPATH)."""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
# Without an installed SDK, use the one in this repository.
sys.path.append(os.path.join(HERE, "..", "..", "..", "plugin-sdk", "python"))

import app  # noqa: E402  (registers the plugin)
from berth_sdk import testing  # noqa: E402


class UnitsTests(unittest.TestCase):
    def convert(self, value, from_unit, to_unit):
        return testing.call("convert", {"value": value, "from_unit": from_unit,
                                        "to_unit": to_unit})

    def test_manifest(self):
        testing.validate()
        m = testing.manifest()
        self.assertEqual(m["name"], "units")
        self.assertEqual([t["name"] for t in m["tools"]], ["convert", "units"])
        schema = m["tools"][0]["input_schema"]
        self.assertEqual(schema["required"], ["value", "from_unit", "to_unit"])
        self.assertEqual(schema["properties"]["value"]["type"], "number")
        self.assertEqual(m["tools"][0]["output_schema"]["properties"]["result"]["type"],
                         "number")
        kind = m["tools"][1]["input_schema"]["properties"]["kind"]
        self.assertIn("temperature", kind["enum"])

    def test_conversions(self):
        cases = [
            (1, "mi", "km", 1.609344),
            (1, "miles", "kilometres", 1.609344),
            (100, "C", "F", 212.0),
            (32, "°F", "celsius", 0.0),
            (0, "C", "K", 273.15),
            (1, "GiB", "MB", 1073.741824),
            (8, "bit", "B", 1.0),
            (1, "gal", "l", 3.785411784),
            (90, "min", "h", 1.5),
            (1, "lb", "g", 453.59237),
        ]
        for value, src, dst, expected in cases:
            result = self.convert(value, src, dst)
            self.assertFalse(result.is_error, result.text)
            self.assertAlmostEqual(result.structured["result"], expected, places=9,
                                   msg=f"{value} {src} -> {dst}")
        self.assertEqual(self.convert(1, "mi", "km").structured["text"], "1 mi = 1.609344 km")

    def test_unknown_unit_lists_close_matches(self):
        result = self.convert(1, "kilometrs", "m")
        self.assertTrue(result.is_error)
        self.assertIn("Unknown source unit `kilometrs`", result.text)
        self.assertIn("km", result.text)

    def test_incompatible_units(self):
        result = self.convert(1, "kg", "km")
        self.assertTrue(result.is_error)
        self.assertIn("Cannot convert mass (`kg`) to length (`km`)", result.text)

    def test_below_absolute_zero(self):
        self.assertIn("below absolute zero", self.convert(-300, "C", "K").text)

    def test_units_listing(self):
        all_units = testing.call("units").structured["units"]
        self.assertEqual({u["kind"] for u in all_units},
                         {"length", "mass", "temperature", "volume", "time", "data"})
        temps = testing.call("units", {"kind": "temperature"}).structured["units"]
        self.assertEqual([u["symbol"] for u in temps], ["C", "F", "K"])
        with self.assertRaises(testing.CallError):
            testing.call("units", {"kind": "speed"})

    def test_resource_template_prompt_completion(self):
        table = testing.read("units://kinds/length")[0]
        self.assertEqual(table["mimeType"], "text/markdown")
        self.assertIn("| `mi` |", table["text"])
        with self.assertRaises(testing.CallError) as caught:
            testing.read("units://kinds/speed")
        self.assertEqual(caught.exception.kind, "not_found")
        self.assertEqual(testing.complete(template="units://kinds/{kind}", argument="kind",
                                          value="m")["values"], ["mass"])
        prompt = testing.get_prompt("convert_recipe", {"recipe": "2 cups flour"})
        self.assertIn("2 cups flour", prompt["messages"][0]["content"]["text"])
        self.assertIn("metric", prompt["messages"][0]["content"]["text"])


if __name__ == "__main__":
    unittest.main()
