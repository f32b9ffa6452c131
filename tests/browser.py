"""A real browser for the web pages' tests: Debian's chromium driven by Playwright, and axe-core from npm.

`./dev setup` installs both (dev: browser_setup). A missing browser or axe-core fails the test that needs
it with a line saying how to install it: these tests never skip.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from playwright.async_api import Page, async_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SCREENSHOTS = ROOT / "docs" / "screenshots"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# The flags a sandboxed root process on a closed network needs (no background calls to Google's hosts).
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@asynccontextmanager
async def browser_page(base_url: str) -> AsyncIterator[Page]:
    assert CHROMIUM.exists(), "Debian's chromium is missing: run ./dev setup (it installs it)"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        try:
            # axe-core is injected into pages whose Content-Security-Policy allows no script at all.
            context = await browser.new_context(base_url=base_url, bypass_csp=True, accept_downloads=True)
            page = await context.new_page()
            yield page
        finally:
            await browser.close()


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """What axe-core finds on the page against WCAG 2.1 A and AA, as (rule, help, nodes) dicts."""
    assert AXE.exists(), "axe-core is missing: run ./dev setup (it runs npm install)"
    await page.add_script_tag(content=AXE.read_text())
    result = await page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_AA
    )
    return [
        {"rule": v["id"], "help": v["help"], "nodes": [n["html"][:200] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]


async def screenshot(page: Page, name: str, *, readme: bool = False) -> Path:
    """A full-page screenshot into tests/artifacts/ (and docs/screenshots/ for README's pictures)."""
    ARTIFACTS.mkdir(exist_ok=True)
    safe = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    path = ARTIFACTS / f"{safe}.png"
    await page.screenshot(path=str(path), full_page=True)
    if readme:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / f"{safe}.png"), full_page=False)
    return path
