"""Calls, results and errors, through `berth_sdk.testing` as the host would make them."""

import enum
import unittest
from dataclasses import dataclass
from typing import Optional

from berth_sdk import (
    CallError, Completions, Context, Event, Folder, Message, PromptError, PromptResult,
    ResourceContents, ResourceError, ToolError, ToolOutput, client, completion, config, log,
    needs, on_event, plugin, progress, prompt, resource, resource_template, resources,
    testing, tool,
)


class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


@dataclass
class Item:
    name: str
    count: int = 1


class Base(unittest.TestCase):
    def setUp(self):
        self.scope = testing.isolated(name="demo", version="1.2.3", description="Demo")
        self.registry = self.scope.__enter__()
        testing.reset()

    def tearDown(self):
        self.scope.__exit__(None, None, None)
        testing.reset()


class ResultTests(Base):
    def test_return_types(self):
        @tool
        def text() -> str:
            """Text."""
            return "hi"

        @tool
        def nothing() -> None:
            """Nothing."""

        @tool
        def obj() -> Item:
            """Dataclass."""
            return Item("a", 2)

        @tool
        def numbers() -> list:
            """List."""
            return [1, 2.5, Mode.FAST]

        self.assertEqual(testing.call("text"),
                         {"content": [{"type": "text", "text": "hi"}], "isError": False})
        self.assertEqual(testing.call("nothing")["content"], [])
        result = testing.call("obj")
        self.assertEqual(result.text, '{"name":"a","count":2}')
        self.assertEqual(result.structured, {"name": "a", "count": 2})
        result = testing.call("numbers")
        self.assertEqual(result.json(), [1, 2.5, "fast"])
        self.assertNotIn("structuredContent", result, "only objects are structured")

    def test_rich_output(self):
        @tool
        def rich() -> ToolOutput:
            """Rich."""
            return (ToolOutput("caption").image(b"\x89PNG", "image/png")
                    .audio(b"RIFF", "audio/wav")
                    .resource_link("demo://x", "x", mime_type="text/plain")
                    .embedded_resource("demo://y", text="why")
                    .structured({"ok": True}))

        result = testing.call("rich")
        kinds = [b["type"] for b in result["content"]]
        self.assertEqual(kinds, ["text", "image", "audio", "resource_link", "resource"])
        self.assertEqual(result["content"][1]["data"], "iVBORw==")
        self.assertEqual(result["content"][4]["resource"], {"uri": "demo://y", "text": "why"})
        self.assertEqual(result.structured, {"ok": True})

    def test_arguments_are_decoded(self):
        @tool
        def use(items: list[Item], mode: Mode, limit: Optional[int] = None,
                ratio: float = 0.5) -> str:
            """Decodes."""
            return f"{items[0].name}:{items[0].count}:{mode.name}:{limit}:{ratio}"

        self.assertEqual(testing.call("use", {"items": [{"name": "a"}], "mode": "slow",
                                              "ratio": 2}).text, "a:1:SLOW:None:2.0")

    def test_invalid_arguments_name_the_field(self):
        @tool
        def use(items: list[Item], mode: Mode) -> str:
            """Decodes."""
            return ""

        cases = [
            ({"items": [], "mode": "medium"}, 'mode: expected one of "fast", "slow"'),
            ({"items": [{"name": 1}], "mode": "fast"}, "items[0].name: expected a string"),
            ({"items": [{"name": "a", "x": 1}], "mode": "fast"}, "items[0].x: unknown field"),
            ({"items": []}, "missing field `mode`"),
            ({"items": [], "mode": "fast", "extra": 1}, "unknown field `extra`"),
        ]
        for args, expected in cases:
            with self.assertRaises(CallError) as caught:
                testing.call("use", args)
            self.assertEqual(caught.exception.kind, "invalid_arguments")
            self.assertIn(expected, caught.exception.message)

    def test_errors_map_like_the_rust_sdk(self):
        @tool
        def seen() -> str:
            """Model-visible error."""
            raise ToolError("try again")

        @tool
        def bad_args() -> str:
            """Invalid arguments."""
            raise ToolError.invalid_arguments("no good")

        @tool
        def failed() -> str:
            """Failed."""
            raise ToolError.failed("broken")

        @tool
        def crash() -> str:
            """Plain exception."""
            raise KeyError("k")

        @tool
        def unserializable() -> dict:
            """A set."""
            return {"s": {1}}

        result = testing.call("seen")
        self.assertTrue(result.is_error)
        self.assertEqual(result.text, "try again")
        for name, kind, text in [
            ("bad_args", "invalid_arguments", "no good"),
            ("failed", "failed", "broken"),
            ("crash", "failed", "tool `crash` raised KeyError: 'k'"),
            ("unserializable", "failed",
             "tool `unserializable` returned a value that cannot be sent as JSON: an object "
             "of type set (at `s`) is not JSON-serializable"),
            ("nope", "unknown_tool", "plugin `demo` has no tool `nope`"),
        ]:
            with self.assertRaises(CallError) as caught:
                testing.call(name)
            self.assertEqual((caught.exception.kind, caught.exception.message[:len(text)]),
                             (kind, text))

    def test_context_and_progress(self):
        @tool
        def who(ctx: Context, n: int) -> str:
            """Context."""
            ctx.report_progress(1, 2, "half")
            progress.report(2, 2)
            return f"{ctx.client_name}:{n}"

        self.assertNotIn("ctx", testing.manifest()["tools"][0]["input_schema"]["properties"])
        result = testing.call("who", {"n": 3}, context=Context(client_name="c"))
        self.assertEqual(result.text, "c:3")
        self.assertEqual(progress.take_for_test(), [(1.0, 2.0, "half"), (2.0, 2.0, None)])

    def test_config_log_and_change_notices(self):
        @tool
        def setting() -> str:
            """Config."""
            log.info("reading", key="greeting", n=1)
            resources.changed("demo://x")
            return f"{config.get('greeting', 'none')} {config.entries()}"

        config.set_for_test("greeting", "hey")
        self.assertEqual(testing.call("setting").text, "hey [('greeting', 'hey')]")
        self.assertEqual(log.take_for_test(), [("info", "reading", {"key": "greeting", "n": "1"})])
        self.assertEqual(resources.take_changed_for_test(), ["demo://x"])

    def test_client_requests(self):
        @tool
        def ask() -> str:
            """Sampling."""
            try:
                return client.sample("hi", max_tokens=5).text
            except client.ClientError as error:
                return error.kind

        self.assertEqual(testing.call("ask").text, "unavailable")
        client.set_sample_for_test(lambda request: request["messages"][0].text.upper())
        self.assertEqual(testing.call("ask").text, "HI")

        @dataclass
        class Form:
            name: str
            age: int = 0

        client.set_elicit_for_test(lambda message, schema: {"name": "Ann"})
        answer = client.elicit("Who?", Form)
        self.assertEqual(answer.content, Form("Ann"))


class ManifestTests(Base):
    def test_manifest_plugin_info_and_overrides(self):
        @tool
        def a() -> str:
            """A."""
            return ""

        m = testing.manifest()
        self.assertEqual((m["name"], m["version"], m["description"]), ("demo", "1.2.3", "Demo"))
        plugin(name="renamed", description="Other")
        m = testing.manifest()
        self.assertEqual((m["name"], m["version"], m["description"]),
                         ("renamed", "1.2.3", "Other"))
        testing.validate()


class ResourceTests(Base):
    def test_static_and_template_resources(self):
        @resource("demo://guide", mime_type="text/markdown", title="Guide")
        def guide() -> str:
            """The guide."""
            return "# Guide"

        @resource("demo://logo")
        def logo() -> bytes:
            return b"\x00\x01"

        @resource_template("demo://items/{id}{?format}", mime_type="text/plain")
        def item(id: int, format: Optional[str] = None) -> str:
            """One item."""
            if id > 5:
                raise ResourceError.not_found(f"no item {id}")
            return f"item {id} as {format}"

        m = testing.manifest()
        self.assertEqual(m["resources"][0], {"uri": "demo://guide", "name": "guide",
                                             "title": "Guide", "description": "The guide.",
                                             "mime_type": "text/markdown"})
        self.assertEqual(m["resource_templates"][0]["uri_template"], "demo://items/{id}{?format}")
        self.assertEqual(testing.read("demo://guide"),
                         [{"uri": "demo://guide", "mimeType": "text/markdown", "text": "# Guide"}])
        self.assertEqual(testing.read("demo://logo"), [{"uri": "demo://logo", "blob": "AAE="}])
        self.assertEqual(testing.read("demo://items/3?format=md")[0]["text"], "item 3 as md")
        self.assertEqual(testing.read("demo://items/4")[0]["text"], "item 4 as None")
        for uri, kind in [("demo://items/9", "not_found"), ("demo://items/x", "not_found"),
                          ("demo://other", "not_found")]:
            with self.assertRaises(CallError) as caught:
                testing.read(uri)
            self.assertEqual(caught.exception.kind, kind)

    def test_returned_contents(self):
        @resource_template("demo://many/{name}")
        def many(name: str) -> list:
            return [ResourceContents(f"demo://many/{name}", text="a", mime_type="text/plain"),
                    {"name": name}]

        self.assertEqual(testing.read("demo://many/n%20m")[1],
                         {"uri": "demo://many/n%20m", "mimeType": "application/json",
                          "text": '{"name":"n m"}'})

    def test_optional_template_variable_without_default(self):
        @resource_template("demo://opt/{id}{?format}")
        def opt(id: str, format: Optional[str]) -> str:
            return f"{id} as {format}"

        self.assertEqual(testing.read("demo://opt/a")[0]["text"], "a as None")
        self.assertEqual(testing.read("demo://opt/a?format=md")[0]["text"], "a as md")


class PromptTests(Base):
    def test_prompts_and_completion(self):
        @prompt(title="Summarise")
        def summarise(uri: str, length: Optional[str] = None) -> str:
            """Asks for a summary.

            Args:
                uri: The document.
                length: How long.
            """
            return f"Summarise {uri} in {length or 'one paragraph'}."

        @prompt
        def chat(topic: str) -> PromptResult:
            """A conversation."""
            if topic == "bad":
                raise PromptError.invalid_arguments("not that topic")
            return PromptResult([Message.user(f"Tell me about {topic}"),
                                 Message.assistant("Sure.")], description="About " + topic)

        @completion(prompt="summarise", argument="length")
        def lengths(value: str, chosen: dict) -> Completions:
            return Completions.matching(["one sentence", "one paragraph", "one page"], value)

        self.assertEqual(testing.list_prompts()[0]["arguments"], [
            {"name": "uri", "description": "The document.", "required": True},
            {"name": "length", "description": "How long.", "required": False}])
        self.assertEqual(testing.get_prompt("summarise", {"uri": "u"})["messages"],
                         [{"role": "user", "content": {"type": "text",
                                                       "text": "Summarise u in one paragraph."}}])
        result = testing.get_prompt("chat", {"topic": "tea"})
        self.assertEqual(result["description"], "About tea")
        self.assertEqual([m["role"] for m in result["messages"]], ["user", "assistant"])
        for name, args, kind in [("chat", {"topic": "bad"}, "invalid_arguments"),
                                 ("chat", {}, "invalid_arguments"),
                                 ("chat", {"topic": "a", "x": "b"}, "invalid_arguments"),
                                 ("nope", {}, "unknown_prompt")]:
            with self.assertRaises(CallError) as caught:
                testing.get_prompt(name, args)
            self.assertEqual(caught.exception.kind, kind)
        self.assertEqual(testing.complete(prompt="summarise", argument="length", value="one p"),
                         {"values": ["one paragraph", "one page"], "total": 2, "hasMore": False})
        self.assertEqual(testing.complete(prompt="summarise", argument="uri", value="x")["values"],
                         [])
        testing.validate()

    def test_completion_results_are_capped(self):
        @prompt
        def p(a: str) -> str:
            """P."""
            return a

        @completion(prompt="p")
        def many(argument: str) -> list:
            return [f"{argument}{i}" for i in range(150)]

        out = testing.complete(prompt="p", argument="a")
        self.assertEqual((len(out["values"]), out["total"], out["hasMore"]), (100, 150, True))


class HookAndNeedsTests(Base):
    def test_events_and_needs(self):
        seen = []

        @on_event("tool_called")
        def calls(event: Event) -> None:
            seen.append((event.kind, event.tool, event.outcome))

        @on_event
        def everything(event: Event) -> None:
            seen.append(("all", event.kind))

        needs(folders=["/data", Folder("/out", write=True, reason="writes reports")],
              env=["LANG"], network=["https://api.example.com"])
        self.assertEqual(len(testing.interests()), 7)
        testing.on_event(Event("tool_called", plugin="p", tool="t", outcome="success"))
        testing.on_event(Event("config_applied"))
        self.assertEqual(seen, [("tool_called", "t", "success"), ("all", "tool_called"),
                                ("all", "config_applied")])
        self.assertEqual(testing.needs(), {
            "folders": [{"path": "/data", "write": False, "reason": ""},
                        {"path": "/out", "write": True, "reason": "writes reports"}],
            "env": ["LANG"], "network": ["https://api.example.com"]})


if __name__ == "__main__":
    unittest.main()
