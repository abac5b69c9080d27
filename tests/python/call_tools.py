"""Serve a plugin folder with `berth serve` and call tools through the official Python MCP
SDK's stdio client.

Usage: call_tools.py BERTH_BINARY PLUGINS_DIR CALLS_JSON, where CALLS_JSON is a JSON list
of `[tool, arguments]` pairs. Prints one JSON object on stdout: `tools` (every listed tool
with its input schema), `results` (per call: `is_error`, the text of its content blocks
and its structured content, in call order) and `templates` (resource template URIs). The
caller asserts on it, so this script checks nothing but that the session works.
"""

import asyncio
import json
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def main(binary: str, plugins: str, calls: list) -> None:
    params = StdioServerParameters(command=binary, args=["serve", "--plugins", plugins])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = await session.list_tools()
            templates = await session.list_resource_templates()
            results = []
            for name, arguments in calls:
                result = await session.call_tool(name, arguments)
                results.append(
                    {
                        "tool": name,
                        "is_error": bool(result.is_error),
                        "text": [getattr(block, "text", None) for block in result.content],
                        "structured": result.structured_content,
                    }
                )
    print(
        json.dumps(
            {
                "tools": {tool.name: tool.input_schema for tool in tools.tools},
                "templates": [t.uri_template for t in templates.resource_templates],
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3])))
