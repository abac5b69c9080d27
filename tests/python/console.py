"""Drive Berth's operator console in headless Chromium (Debian's /usr/bin/chromium, through
Playwright) while an MCP client is connected, and check what an operator sees and does.

Usage: console.py BASE_URL PLUGINS_DIR ADMIN_TOKEN READER_TOKEN SCREENSHOT FLIP_TWO_WASM
(PLUGINS_DIR serves `flip` 1.0.0 as flip.wasm; FLIP_TWO_WASM is its 2.0.0). Exits non-zero
(with the reason) on any mismatch; prints `console ok` and a JSON line of timings.
"""

import asyncio
import json
import os
import shutil
import sys
import time

import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from playwright.async_api import async_playwright

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # This machine's network is closed: without these Chromium keeps trying Google's hosts.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def check(condition, message):
    if not condition:
        raise SystemExit(f"console check failed: {message}")


async def sign_in(browser, base, token):
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{base}/console")
    check(page.url.endswith("/console/login"), f"not sent to sign in: {page.url}")
    await page.fill("input[name=token]", token)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/console")
    return page


async def tool_names(session):
    return {tool.name for tool in (await session.list_tools()).tools}


async def admin_text_is(locator, expected):
    try:
        return (await locator.inner_text(timeout=500)).strip() == expected
    except Exception:
        return False


async def count_at_least(locator, wanted):
    return await locator.count() >= wanted


async def wait_until(predicate, seconds, what):
    deadline = time.monotonic() + seconds
    while True:
        if await predicate():
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"console check failed: {what} within {seconds} s")
        await asyncio.sleep(0.05)


async def main(base, plugins, admin_token, reader_token, screenshot, flip_two):
    timings = {}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)

        # A wrong token is refused on the sign-in page.
        context = await browser.new_context()
        page = await context.new_page()
        await page.goto(f"{base}/console/login")
        await page.fill("input[name=token]", "berth_not_a_real_token")
        await page.click("button[type=submit]")
        check(await page.locator("#problem").count() == 1, "a wrong token got no explanation")
        await context.close()

        # Read-only: sees the plugins, has no buttons, and cannot act even by hand.
        reader = await sign_in(browser, base, reader_token)
        rows = await reader.locator("#plugins tr[data-plugin]").evaluate_all(
            "rows => rows.map(r => r.dataset.plugin)"
        )
        check({"text", "json"} <= set(rows), f"plugin table: {rows}")
        check(await reader.locator("button[data-action]").count() == 0, "read-only user sees actions")
        status = await reader.evaluate(
            """async () => {
                const csrf = document.querySelector('input[name=csrf]').value;
                const r = await fetch('/console/plugins/text/disable', {
                    method: 'POST', body: new URLSearchParams({ csrf }) });
                return r.status;
            }"""
        )
        check(status == 403, f"a read-only disable answered {status}")

        # Admin, with an MCP client connected beside the console.
        admin = await sign_in(browser, base, admin_token)
        # Selectors, not `wait_for_function`: a string predicate is evaluated with `eval` in
        # the page whenever it has to poll, which the console's CSP (rightly) refuses.
        await admin.wait_for_selector("body[data-feed=open]", state="attached")
        headers = {"Authorization": f"Bearer {admin_token}"}
        async with httpx2.AsyncClient(headers=headers, timeout=60) as http, streamable_http_client(
            f"{base}/mcp", http_client=http
        ) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                check("text_count" in await tool_names(session), "the client does not see text_count")
                result = await session.call_tool("text_count", {"text": "seen by the console"})
                check(not result.is_error, f"text_count failed: {result}")

                # The session shows with its identity and protocol version.
                await admin.wait_for_selector(
                    "#sessions td:has-text('alice') ~ td:has-text('2025-11-25')", timeout=5000
                )

                # A new build of a plugin file shows in the feed within 2 s.
                target = os.path.join(plugins, "berth_plugin_json.wasm")
                temporary = os.path.join(plugins, ".json.partial")
                shutil.copyfile(target, temporary)
                replaced = time.monotonic()
                os.rename(temporary, target)
                await admin.wait_for_selector("#feed li[data-kind=plugin_reloaded]", timeout=2000)
                timings["reload_to_feed_ms"] = round((time.monotonic() - replaced) * 1000)

                # Reloading from the console loads the file again: a second reload event.
                await admin.click("tr[data-plugin=json] button[data-action=reload]")
                await admin.wait_for_url(f"{base}/console")
                reloads = admin.locator("#feed li[data-kind=plugin_reloaded]")
                await wait_until(
                    lambda: count_at_least(reloads, 2), 2, "a second reload in the feed"
                )

                # A new build of `flip`, then a roll-back to the build before it.
                flip = os.path.join(plugins, "flip.wasm")
                shutil.copyfile(flip_two, temporary)
                os.rename(temporary, flip)
                version = admin.locator("tr[data-plugin=flip] td").nth(1)
                await wait_until(
                    lambda: admin_text_is(version, "2.0.0"), 10, "flip 2.0.0 in the plugins table"
                )
                rollback = admin.locator("tr[data-plugin=flip] button[data-action=rollback]")
                await rollback.wait_for(timeout=10000)
                check("1.0.0" in await rollback.inner_text(), "the roll-back does not name 1.0.0")
                await rollback.click()
                await admin.wait_for_url(f"{base}/console")
                await wait_until(
                    lambda: admin_text_is(version, "1.0.0"), 5, "flip back at 1.0.0 after the roll-back"
                )

                # The tools table counts the call (refreshed every 2 s).
                await admin.wait_for_selector("#tools tr[data-tool='text/count']", timeout=5000)

                # Disabling `text` from the console removes its tools from the client's list.
                clicked = time.monotonic()
                await admin.click("tr[data-plugin=text] button[data-action=disable]")
                await admin.wait_for_url(f"{base}/console")

                async def text_gone():
                    return "text_count" not in await tool_names(session)

                await wait_until(text_gone, 2, "text_count left the client's tools/list")
                timings["disable_to_tools_list_ms"] = round((time.monotonic() - clicked) * 1000)
                state = await admin.locator("tr[data-plugin=text] td").nth(5).inner_text()
                check(state == "disabled", f"text's state shows {state!r}")
                # The page that opened after the action shows it in the feed's backlog.
                await admin.wait_for_selector("#feed li[data-kind=plugin_unloaded]", timeout=2000)
                await admin.screenshot(path=screenshot, full_page=True)

                # And enabling it brings them back.
                await admin.click("tr[data-plugin=text] button[data-action=enable]")

                async def text_back():
                    return "text_count" in await tool_names(session)

                await wait_until(text_back, 5, "text_count came back")

        # No secret reaches a page.
        html = await admin.content()
        for secret in (admin_token, reader_token):
            check(secret not in html, "a token appears in the console's page")
        await browser.close()
    print("console ok")
    print(json.dumps(timings))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:7]))
