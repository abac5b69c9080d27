"""Declarations the SDK refuses, at decoration time, naming the function and the fix."""

import unittest
from typing import Optional

from berth_sdk import (
    DeclarationError, completion, needs, on_event, prompt, resource, resource_template,
    testing, tool,
)


class DeclarationTests(unittest.TestCase):
    def refused(self, declare, *fragments):
        with testing.isolated(name="t"):
            with self.assertRaises(DeclarationError) as caught:
                declare()
                testing.validate()
        for fragment in fragments:
            self.assertIn(fragment, str(caught.exception))
        return str(caught.exception)

    def test_bad_tool_name(self):
        def declare():
            @tool(name="has space")
            def f() -> str:
                """F."""
                return ""

        message = self.refused(declare, "`has space`", "[a-zA-Z0-9_-]", "@tool(name=")
        self.assertIn("test_declarations.py:", message, "names the file and line")

    def test_duplicate_tool(self):
        def declare():
            @tool
            def f() -> str:
                """F."""
                return ""

            @tool(name="f")
            def g() -> str:
                """G."""
                return ""

        self.refused(declare, "already declared", "function `", "g")

    def test_missing_docstring_and_hint(self):
        def no_doc():
            @tool
            def f() -> str:
                return ""

        def no_hint():
            @tool
            def f(x) -> str:
                """F."""
                return ""

        self.refused(no_doc, "no docstring")
        self.refused(no_hint, "parameter `x` has no type hint")

    def test_unmappable_type_and_async(self):
        def bad_type():
            @tool
            def f(x: complex) -> str:
                """F."""
                return ""

        def bad_key():
            @tool
            def f(x: dict[int, str]) -> str:
                """F."""
                return ""

        def is_async():
            @tool
            async def f() -> str:
                """F."""
                return ""

        self.refused(bad_type, "parameter `x`", "complex", "no JSON Schema mapping")
        self.refused(bad_key, "dict[str, ...]")
        self.refused(is_async, "async def")

    def test_bad_schemas(self):
        def not_object():
            @tool(input_schema={"type": "string"})
            def f(args: dict) -> str:
                """F."""
                return ""

        def bad_output():
            @tool(output_schema={"type": "array"})
            def f() -> list:
                """F."""
                return []

        self.refused(not_object, "input_schema", "\"type\": \"object\"")
        self.refused(bad_output, "output_schema")

    def test_resources_templates_prompts(self):
        def template_param_mismatch():
            @resource_template("x://items/{id}")
            def item(name: str) -> str:
                return ""

        def template_missing_param():
            @resource_template("x://items/{id}/{sub}")
            def item(id: str) -> str:
                return ""

        def bad_template():
            @resource_template("x://items/{id*}")
            def item(id: str) -> str:
                return ""

        def resource_with_params():
            @resource("x://a")
            def a(x: str) -> str:
                return ""

        def resource_without_uri():
            @resource
            def a() -> str:
                return ""

        def prompt_int():
            @prompt
            def p(n: int) -> str:
                """P."""
                return ""

        self.refused(template_param_mismatch, "parameter `name` is not a variable")
        self.refused(template_missing_param, "variable `sub` has no parameter")
        self.refused(bad_template, "value modifier")
        self.refused(resource_with_params, "takes no parameters")
        self.refused(resource_without_uri, "@resource needs the URI")
        self.refused(prompt_int, "`str` or `Optional[str]`")

    def test_completion_and_events_and_needs(self):
        def unknown_prompt():
            @completion(prompt="nope")
            def c(value: str) -> list:
                return []

        def bad_param():
            @completion(prompt="p")
            def c(text: str) -> list:
                return []

        def bad_kind():
            @on_event("tool_finished")
            def h(event) -> None:
                pass

        def relative_folder():
            needs(folders=["data"])

        self.refused(unknown_prompt, "no prompt `nope`")
        self.refused(bad_param, "parameter `text`", "`value`")
        self.refused(bad_kind, "unknown event kind `tool_finished`", "tool_called")
        self.refused(relative_folder, "absolute sandbox path")

    def test_plugin_name(self):
        with testing.isolated(name="bad.name"):
            with self.assertRaises(DeclarationError) as caught:
                testing.validate()
            self.assertIn("plugin(name=", str(caught.exception))
        with testing.isolated(name="p" * 30):
            @tool(name="t" * 40)
            def f() -> Optional[str]:
                """F."""

            with self.assertRaises(DeclarationError) as caught:
                testing.validate()
            self.assertIn("longer than 64", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
