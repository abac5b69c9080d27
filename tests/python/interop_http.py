"""Drive `berth serve --http` with the official Python MCP SDK's Streamable HTTP client.

Usage: interop_http.py MCP_URL TOKEN. The token carries the `reader` role, which grants
the echo plugin's `echo` tool and its resources but not `add`. Prints `waiting for change`
once the session is set up, then expects `notifications/tools/list_changed` (the test
installs a plugin when it reads that line). Exits non-zero (with the reason) on any
mismatch; prints `interop ok` when every check passed.
"""

import asyncio
import sys

import httpx2
import mcp_types as types
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError


async def main(url: str, token: str) -> None:
    changed = asyncio.Event()

    async def on_message(message) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            changed.set()

    headers = {"Authorization": f"Bearer {token}"}
    async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write, message_handler=on_message) as session:
                init = await session.initialize()
                assert init.server_info.name == "berth", init

                tools = await session.list_tools()
                names = sorted(tool.name for tool in tools.tools)
                assert names == ["echo_echo"], f"the reader role shows only echo_echo: {names}"

                result = await session.call_tool("echo_echo", {"text": "from python over http"})
                assert not result.is_error, result
                assert result.content[0].text == "from python over http", result

                try:
                    await session.call_tool("echo_add", {"a": 1, "b": 2})
                    raise AssertionError("echo_add must be refused to the reader role")
                except MCPError as error:
                    # Answered as if echo_add did not exist: its role hides it.
                    assert error.code == -32602, error
                    assert "Unknown tool: echo_add" in error.message, error

                resources = await session.list_resources()
                uris = {str(r.uri) for r in resources.resources}
                assert "echo://hello" in uris, uris
                read = await session.read_resource("echo://hello")
                assert read.contents[0].text == "hello from echo", read

                print("waiting for change", flush=True)
                await asyncio.wait_for(changed.wait(), timeout=60)
    print("interop ok", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
