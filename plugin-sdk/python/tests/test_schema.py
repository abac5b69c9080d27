"""Type hints to JSON Schema, and docstrings to descriptions."""

import enum
import unittest
from dataclasses import dataclass, field
from typing import Annotated, Any, List, Literal, NotRequired, Optional, TypedDict, Union

from berth_sdk import DeclarationError, Field, testing, tool
from berth_sdk._schema import parse_docstring


def schema_of(fn, **options):
    with testing.isolated(name="t"):
        tool(**options)(fn)
        return testing.manifest()["tools"][0]


class Color(enum.Enum):
    """A colour."""

    RED = "red"
    GREEN = "green"


@dataclass
class Point:
    """A point.

    Attributes:
        x: Horizontal.
        y: Vertical.
    """

    x: float
    y: float = 0.0


@dataclass
class Shape:
    name: str
    points: list[Point]
    tags: list[str] = field(default_factory=list)
    parent: Optional["Shape"] = None


class Movie(TypedDict):
    title: str
    year: NotRequired[int]


class ScalarTests(unittest.TestCase):
    def test_scalars_and_rules_of_the_rust_sdk(self):
        def f(s: str, i: int, x: float, b: bool, n: None) -> str:
            """Scalars."""
            return ""

        t = schema_of(f)
        schema = t["input_schema"]
        self.assertEqual(schema["$schema"], "https://json-schema.org/draft/2020-12/schema")
        self.assertEqual(schema["type"], "object")
        self.assertIs(schema["additionalProperties"], False)
        self.assertEqual(schema["required"], ["s", "i", "x", "b", "n"])
        self.assertEqual(
            schema["properties"],
            {"s": {"type": "string"}, "i": {"type": "integer"}, "x": {"type": "number"},
             "b": {"type": "boolean"}, "n": {"type": "null"}})
        self.assertIsNone(t["output_schema"], "str is not an object")

    def test_no_parameters_gives_empty_properties(self):
        def f() -> None:
            """Nothing."""

        schema = schema_of(f)["input_schema"]
        self.assertEqual(schema["properties"], {})
        self.assertNotIn("required", schema)

    def test_optional_and_defaults_are_not_required(self):
        def f(a: Optional[str], b: int | None, c: int = 3, d: str = None) -> str:
            """Optionals."""
            return ""

        schema = schema_of(f)["input_schema"]
        self.assertNotIn("required", schema)
        self.assertEqual(schema["properties"]["a"], {"type": ["string", "null"]})
        self.assertEqual(schema["properties"]["b"], {"type": ["integer", "null"]})
        self.assertEqual(schema["properties"]["c"], {"type": "integer", "default": 3})
        self.assertEqual(schema["properties"]["d"], {"type": ["string", "null"]})

    def test_containers_literal_enum_union(self):
        def f(a: list[int], b: dict[str, float], c: Literal["x", "y"], d: Color,
              e: List[str], f: Union[int, str], g: Any, h: tuple[int, str],
              i: Optional[Literal[1, 2]]) -> str:
            """Containers."""
            return ""

        p = schema_of(f)["input_schema"]["properties"]
        self.assertEqual(p["a"], {"type": "array", "items": {"type": "integer"}})
        self.assertEqual(p["b"], {"type": "object", "additionalProperties": {"type": "number"}})
        self.assertEqual(p["c"], {"type": "string", "enum": ["x", "y"]})
        self.assertEqual(p["d"], {"type": "string", "enum": ["red", "green"],
                                  "description": "A colour."})
        self.assertEqual(p["e"], {"type": "array", "items": {"type": "string"}})
        self.assertEqual(p["f"], {"anyOf": [{"type": "integer"}, {"type": "string"}]})
        self.assertEqual(p["g"], {})
        self.assertEqual(p["h"]["prefixItems"], [{"type": "integer"}, {"type": "string"}])
        self.assertEqual(p["i"], {"type": ["integer", "null"], "enum": [1, 2, None]})

    def test_annotated_descriptions_and_field_keywords(self):
        def f(a: Annotated[str, "The a."],
              b: Annotated[int, Field("The b.", minimum=1, maximum=10)] = 5,
              c: Annotated[str, Field(min_length=2, pattern="^x")] = "xx") -> str:
            """Annotated."""
            return ""

        p = schema_of(f)["input_schema"]["properties"]
        self.assertEqual(p["a"], {"type": "string", "description": "The a."})
        self.assertEqual(p["b"], {"type": "integer", "description": "The b.", "minimum": 1,
                                  "maximum": 10, "default": 5})
        self.assertEqual(p["c"], {"type": "string", "minLength": 2, "pattern": "^x",
                                  "default": "xx"})

    def test_dataclasses_and_typeddicts_go_to_defs(self):
        def f(shape: Shape, movie: Movie) -> str:
            """Nested."""
            return ""

        schema = schema_of(f)["input_schema"]
        self.assertEqual(schema["properties"]["shape"], {"$ref": "#/$defs/Shape"})
        defs = schema["$defs"]
        self.assertEqual(defs["Shape"]["required"], ["name", "points"])
        self.assertIs(defs["Shape"]["additionalProperties"], False)
        self.assertEqual(defs["Shape"]["properties"]["points"],
                         {"type": "array", "items": {"$ref": "#/$defs/Point"}})
        self.assertEqual(defs["Shape"]["properties"]["parent"]["anyOf"][0],
                         {"$ref": "#/$defs/Shape"})
        self.assertEqual(defs["Point"]["description"], "A point.")
        self.assertEqual(defs["Point"]["properties"]["x"],
                         {"type": "number", "description": "Horizontal."})
        self.assertEqual(defs["Movie"]["required"], ["title"])
        self.assertNotIn("description", defs["Shape"], "the invented dataclass doc is dropped")

    def test_decoding_reuses_the_fields_and_shares_no_default(self):
        made = []

        def new_list():
            made.append(1)
            return []

        @dataclass
        class Bag:
            items: list[str] = field(default_factory=new_list)

        def add(bag: Bag) -> int:
            """Adds."""
            bag.items.append("x")
            return len(bag.items)

        with testing.isolated(name="t"):
            tool(add)
            schema = testing.manifest()["tools"][0]["input_schema"]
            self.assertEqual(schema["$defs"]["Bag"]["properties"]["items"]["default"], [])
            schema["$defs"]["Bag"]["properties"]["items"]["default"].append("changed")
            made.clear()
            self.assertEqual(testing.call("add", {"bag": {}}).text, "1")
            self.assertEqual(testing.call("add", {"bag": {}}).text, "1")
            self.assertEqual(len(made), 2, "only Bag() runs the factory, not the decoding")
        self.assertEqual(schema_of(add)["input_schema"]["$defs"]["Bag"]["properties"]["items"]
                         ["default"], [])

    def test_output_schema_from_return_type(self):
        def a() -> Point:
            """Dataclass."""
            return Point(1)

        def b() -> dict[str, int]:
            """Dict."""
            return {}

        def c() -> list[int]:
            """List."""
            return []

        out = schema_of(a)["output_schema"]
        self.assertEqual(out["type"], "object")
        self.assertEqual(out["required"], ["x"])
        self.assertNotIn("$defs", out)
        self.assertEqual(schema_of(b)["output_schema"]["additionalProperties"],
                         {"type": "integer"})
        self.assertIsNone(schema_of(c)["output_schema"])

    def test_unmappable_hint_is_a_declaration_error(self):
        import datetime

        def f(when: datetime.date) -> str:
            """Dates."""
            return ""

        with self.assertRaises(DeclarationError) as caught:
            schema_of(f)
        message = str(caught.exception)
        self.assertIn("parameter `when`", message)
        self.assertIn("date", message)
        self.assertIn("tool `f`", message)

    def test_hand_given_schema(self):
        def f(args: dict) -> str:
            """Raw."""
            return str(sorted(args))

        given = {"type": "object", "properties": {"q": {"type": "string"}}}
        with testing.isolated(name="t"):
            tool(input_schema=given)(f)
            self.assertEqual(testing.manifest()["tools"][0]["input_schema"], given)
            self.assertEqual(testing.call("f", {"q": "x", "z": 1}).text, "['q', 'z']")
        with self.assertRaises(DeclarationError) as caught:
            schema_of(f, input_schema={"type": "array"})
        self.assertIn("\"type\": \"object\"", str(caught.exception))


class DocstringTests(unittest.TestCase):
    def test_first_paragraph_and_args(self):
        summary, params = parse_docstring("""Does a thing
        across two lines.

        More detail that is not the description.

        Args:
            a: The a,
                continued.
            b (int): The b.

        Returns:
            nothing: not a parameter.
        """)
        self.assertEqual(summary, "Does a thing across two lines.")
        self.assertEqual(params, {"a": "The a, continued.", "b": "The b."})

    def test_descriptions_reach_the_manifest(self):
        def f(text: str, times: int = 2) -> str:
            """Repeats text.

            Args:
                text: What to repeat.
                times: How often.
            """
            return text * times

        t = schema_of(f, title="Repeat", read_only=True, idempotent=True)
        self.assertEqual(t["description"], "Repeats text.")
        self.assertEqual(t["title"], "Repeat")
        self.assertEqual(t["annotations"], {"read_only": True, "destructive": None,
                                            "idempotent": True, "open_world": None})
        self.assertEqual(t["input_schema"]["properties"]["text"]["description"],
                         "What to repeat.")


if __name__ == "__main__":
    unittest.main()
