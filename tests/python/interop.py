"""Drive `berth serve` with the official Python MCP SDK's stdio client.

Usage: interop.py BERTH_BINARY PLUGINS_DIR. Exits non-zero (with the reason) on any
mismatch; prints `interop ok` when every check passed.
"""

import asyncio
import base64
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def main(binary: str, plugins: str) -> None:
    params = StdioServerParameters(command=binary, args=["serve", "--plugins", plugins])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            assert init.server_info.name == "berth", init
            assert init.capabilities.tools is not None, init

            tools = await session.list_tools()
            names = {tool.name for tool in tools.tools}
            assert "echo_echo" in names, names
            echo = next(t for t in tools.tools if t.name == "echo_echo")
            assert echo.input_schema["properties"]["text"]["type"] == "string", echo

            result = await session.call_tool("echo_echo", {"text": "from python"})
            assert not result.is_error, result
            assert result.content[0].text == "from python", result

            result = await session.call_tool("echo_fail", {"message": "expected"})
            assert result.is_error, result

            resources = await session.list_resources()
            uris = {str(r.uri) for r in resources.resources}
            assert "echo://hello" in uris, uris
            read = await session.read_resource("echo://hello")
            assert read.contents[0].text == "hello from echo", read
            read = await session.read_resource("echo://bytes")
            assert base64.b64decode(read.contents[0].blob) == bytes(range(256)), read

            templates = await session.list_resource_templates()
            assert templates.resource_templates[0].uri_template == "echo://items/{id}", templates
            read = await session.read_resource("echo://items/7")
            assert read.contents[0].text == "item 7", read
    print("interop ok")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
