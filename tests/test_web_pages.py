"""The web pages (adapters/web/), at their real boundary: HTTP to `copbot serve`'s server on a free port,
and a real browser (Debian's chromium) with axe-core checking every page against WCAG 2.1 AA.

The world: the Digital Leaders network (open) coordinated by Cora, the invite-only Cabinet with Ana in
it, a convening of each, a practice Ana shared by name and one Bea shared anonymously.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Page

from adapters.runtime import Running, start_platforms
from bot.config import Settings
from bot.messages import Member
from tests import fake_slack as fs
from tests.browser import axe_violations, browser_page, screenshot
from tests.community_year import seed_year
from tests.convening_world import START, ConvBot, digital_leaders, schedule
from tests.test_slack_adapter import slack_world

ANON_AUTHOR = "Beatrix"  # Bea's display name: it must be on no page of her anonymous practice


@dataclass
class Web:
    bot: ConvBot
    running: Running
    base: str
    dl_convening: int
    cabinet_convening: int

    async def link(self, who: str) -> str:
        reply = await self.bot.ok("me web", who)
        found = re.search(r"(http://\S+/signin/\S+)", reply.text)
        assert found, reply.text
        return found.group(1)

    async def signed_in(self, who: str) -> aiohttp.ClientSession:
        """A client holding `who`'s session cookie, signed in through the link's button."""
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        async with http.post(await self.link(who), allow_redirects=False) as r:
            assert r.status == 303, await r.text()
        return http


@asynccontextmanager
async def web_world(settings: Settings) -> AsyncIterator[Web]:
    async with digital_leaders(settings.model_copy(update={"port": 0}), members=("ana", "bob")) as bot:
        await bot.ok('network create "Cabinet" --policy invite')
        await bot.ok("network coordinator add cabinet @cora")
        await bot.ok("network invite cabinet @ana", "cora")
        await bot.ok("network join cabinet", "ana")
        await bot.ok('me set --role "Chief of Staff"', "ana")
        await bot.ok(
            'practice share --title "Budget town halls on Zoom" --what "We moved budget hearings online and '
            'turnout tripled." --attribution named --tags budgeting --frameworks adaptive-leadership',
            "ana",
        )
        beatrix = Member("console", "bea", ANON_AUTHOR)
        await bot.ok(
            'practice share --title "Quiet budget cuts" --what "We asked every department for a budget '
            'scenario before the hearings." --attribution anonymous --tags budgeting',
            beatrix,
        )
        dl = await schedule(bot)
        cab = await bot.ok(
            f'convening schedule cabinet --title "Secret reshuffle" --start "{START}" --place https://meet.example/c',
            "cora",
        )
        cab_id = int(cab.text.split("convening ")[1].split(" ")[0])
        running = await start_platforms(bot.app, http=True)
        try:
            yield Web(bot, running, f"http://127.0.0.1:{running.port}", dl, cab_id)
        finally:
            await running.stop()


@pytest.fixture
async def web(settings: Settings) -> AsyncIterator[Web]:
    async with web_world(settings) as world:
        yield world


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with http.get(url) as r:
        return r.status, await r.text()


# ---- sign-in ----------------------------------------------------------------------------------------


async def test_a_sign_in_link_works_once_and_not_after_ten_minutes(web: Web) -> None:
    link = await web.link("ana")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        status, page = await _get(http, link)  # looking at the link (a link preview does) spends nothing
        assert status == 200 and "Sign in as Ana" in page
        async with http.post(link, allow_redirects=False) as r:
            assert r.status == 303
            cookie = r.cookies["copbot_session"]
            assert cookie["httponly"] and cookie["samesite"] == "Lax"
        status, page = await _get(http, web.base + "/me")
        assert status == 200 and "Signed in as <strong>Ana</strong>" in page
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as other:
        async with other.post(link, allow_redirects=False) as r:  # the same link again
            assert r.status == 410 and "already used" in await r.text()
        late = await web.link("ana")
        web.bot.clock.advance(minutes=11)
        async with other.post(late, allow_redirects=False) as r:
            body = await r.text()
            assert r.status == 410 and "expired" in body and "me web" in body
        status, _ = await _get(other, web.base + "/me")
        assert status == 401


async def test_pages_are_for_members_and_sign_out_ends_the_session(web: Web) -> None:
    async with aiohttp.ClientSession() as visitor:
        for path in ("/me", "/practices", "/practices/1", "/forum", "/convenings", "/resources"):
            status, page = await _get(visitor, web.base + path)
            assert status == 401 and "me web" in page and "Budget town halls" not in page, path
    http = await web.signed_in("ana")
    try:
        status, page = await _get(http, web.base + "/")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf
        async with http.post(web.base + "/signout", data={"csrf": csrf.group(1)}, allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/signin?out=1"
        status, _ = await _get(http, web.base + "/me")
        assert status == 401
    finally:
        await http.close()


async def test_a_form_without_the_sessions_token_changes_nothing(web: Web) -> None:
    http = await web.signed_in("bob")
    try:
        async with http.post(
            web.base + "/act", data={"command": "practice endorse P1", "back": "/practices/1"}
        ) as r:
            assert r.status == 400 and "out of date" in await r.text()
        assert await web.bot.count("practice_endorsement") == 0
    finally:
        await http.close()


async def test_forgetting_a_member_ends_their_sessions(web: Web) -> None:
    http = await web.signed_in("bob")
    try:
        assert (await _get(http, web.base + "/me"))[0] == 200
        await web.bot.ok("me forget --confirm", "bob")
        assert (await _get(http, web.base + "/me"))[0] == 401
        assert await web.bot.count("web_session") == 0  # Bob's was the only session
        assert await web.bot.count("web_signin") == 0  # and his the only link
    finally:
        await http.close()


# ---- what pages show --------------------------------------------------------------------------------


async def test_the_library_searches_with_filters_and_credits_as_authors_chose(web: Web) -> None:
    http = await web.signed_in("bob")
    try:
        status, page = await _get(http, web.base + "/practices?q=budget&tag=budgeting")
        assert status == 200
        assert "Budget town halls on Zoom" in page and "Quiet budget cuts" in page
        assert 'href="/practices/1"' in page and 'href="/practices/2"' in page
        assert ANON_AUTHOR not in page and "Chatham House" in page
        status, page = await _get(http, web.base + "/practices?framework=adaptive-leadership")
        assert "Budget town halls on Zoom" in page and "Quiet budget cuts" not in page
        status, page = await _get(http, web.base + "/practices/2")
        assert status == 200 and ANON_AUTHOR not in page and "console:bea" not in page
        status, page = await _get(http, web.base + "/practices?page=two")
        assert status == 400 and "page: expected a whole number" in page and "?page=2" in page
        status, page = await _get(http, web.base + "/practices/999")
        assert status == 404 and "P999" in page
        status, page = await _get(http, web.base + "/no/such/page")
        assert status == 404 and "There is no page at this address" in page
    finally:
        await http.close()


async def test_a_closed_networks_convenings_are_not_shown_to_others(web: Web) -> None:
    bob = await web.signed_in("bob")
    ana = await web.signed_in("ana")
    try:
        status, page = await _get(bob, web.base + "/networks/cabinet/convenings")
        assert status == 400 and "Secret reshuffle" not in page and "closed network" in page
        status, page = await _get(bob, web.base + f"/convenings/{web.cabinet_convening}")
        assert status == 404 and "Secret reshuffle" not in page and "meet.example/c" not in page
        status, page = await _get(bob, web.base + f"/convenings/{web.cabinet_convening}.ics")
        assert status == 404 and "BEGIN:VCALENDAR" not in page
        status, page = await _get(ana, web.base + "/networks/cabinet/convenings")
        assert status == 200 and "Secret reshuffle" in page
    finally:
        await bob.close()
        await ana.close()


async def test_a_published_library_is_readable_without_signing_in_and_nothing_else_is(web: Web) -> None:
    refused = await web.bot.fails("web publish library on", "bob")
    assert "coordinator" in refused
    await web.bot.ok("web publish library on")  # the community's admin
    async with aiohttp.ClientSession() as visitor:
        status, page = await _get(visitor, web.base + "/practices?q=budget")
        assert status == 200 and "Quiet budget cuts" in page and ANON_AUTHOR not in page
        assert 'action="/act"' not in page  # nothing to press for a visitor
        status, page = await _get(visitor, web.base + "/practices/1")
        assert status == 200 and 'property="og:title" content="Budget town halls on Zoom"' in page
        for path in ("/me", "/forum", "/convenings", f"/convenings/{web.dl_convening}"):
            assert (await _get(visitor, web.base + path))[0] == 401, path
        async with visitor.post(web.base + "/act", data={"command": "practice endorse P1"}) as r:
            assert "sign in" in (await r.text()).lower()
    assert await web.bot.count("practice_endorsement") == 0
    await web.bot.ok("web publish library off")
    async with aiohttp.ClientSession() as visitor:
        assert (await _get(visitor, web.base + "/practices"))[0] == 401


# ---- in a real browser ------------------------------------------------------------------------------


async def test_a_member_signs_in_from_the_console_finds_endorses_rsvps_downloads_and_signs_out(
    web: Web,
) -> None:
    link = await web.link("bob")
    seen: list[str] = []
    async with browser_page(web.base) as page:
        await page.goto(link)
        await page.get_by_role("button", name="Sign in as Bob").click()
        await page.wait_for_url(web.base + "/")
        await page.get_by_role("link", name="Practice library").click()
        await page.get_by_label("Words").fill("budget")
        await page.get_by_role("button", name="Search").click()
        await page.wait_for_url(re.compile(r".*/practices\?q=budget.*"))
        seen.append(await page.content())
        await page.get_by_role("link", name="Quiet budget cuts").click()
        seen.append(await page.content())
        await page.get_by_role("button", name="Endorse").click()
        await page.get_by_role("status").wait_for()
        assert "endorse" in (await page.get_by_role("status").inner_text()).lower()
        seen.append(await page.content())
        await page.goto(f"/convenings/{web.dl_convening}")
        await page.get_by_role("button", name="Going").click()
        status = await page.get_by_role("status").inner_text()
        assert "going" in status.lower()
        async with page.expect_download() as download_info:
            await page.get_by_role("link", name="Calendar file").click()
        download = await download_info.value
        assert download.suggested_filename.endswith(".ics")
        assert Path(await download.path()).read_text().startswith("BEGIN:VCALENDAR")
        await page.get_by_role("button", name="Sign out").click()
        await page.wait_for_url(re.compile(r".*/signin\?out=1"))
        await page.goto("/me")
        assert "Please sign in" in await page.content()
    assert await web.bot.count("practice_endorsement") == 1
    assert all(ANON_AUTHOR not in html for html in seen)


async def test_a_slack_member_signs_in_through_the_link_copbot_answers_with(
    database_url: str, tmp_path: Path
) -> None:
    async with slack_world(database_url, tmp_path) as slack:
        await slack.cop("me web", channel="D0ANA")  # in the member's DM with copbot: the link comes there
        dm = [
            c.args
            for c in slack.fake.calls
            if c.method == "chat.postMessage" and c.args["channel"] == "D0ANA"
        ]
        assert len(dm) == 1, slack.fake.calls
        text = dm[0]["text"]
        link = re.search(r"(http://\S+/signin/[\w-]+)", text)
        assert link, text
        assert dm[0].get("unfurl_links") is False  # Slack itself does not fetch (and so spend) the link
        async with browser_page(f"http://127.0.0.1:{slack.running.port}") as page:
            await page.goto(link.group(1))
            await page.get_by_role("button", name="Sign in as Ana").click()
            await page.goto("/me")
            assert "Signed in as" in await page.content() and "Ana" in await page.content()
    assert fs.BOT_TOKEN not in text


PAGES = (
    "/",
    "/practices?q=budget",
    "/practices/1",
    "/resources",
    "/resources?area=systems-thinking",
    "/forum",
    "/convenings",
    "/networks/digital-leaders/convenings",
    "/convenings/{dl}",
    "/me",
    "/dashboard",
    "/dashboard?from=2026-13",
    "/practices?page=zero",
    "/no/such/page",
)


async def test_every_page_has_no_wcag_21_aa_violations(web: Web) -> None:
    await web.bot.ok('forum set --rule "first Tuesday of every month, 12:00 to 13:00"')
    await web.bot.ok("forum propose Keeping staff through a budget freeze", "ana")
    await web.bot.app.store.run(lambda s: seed_year(s, members=60, end=datetime(2027, 2, 15, 12, tzinfo=UTC)))
    found: dict[str, list[dict[str, object]]] = {}
    async with browser_page(web.base) as page:
        await page.goto("/signin")
        found["/signin (visitor)"] = await axe_violations(page)
        await page.goto(await web.link("root"))
        found["/signin/<link>"] = await axe_violations(page)
        await page.get_by_role("button", name=re.compile("Sign in as")).click()
        await page.wait_for_url(web.base + "/")
        for path in PAGES:
            url = path.format(dl=web.dl_convening)
            await page.goto(url)
            found[url] = await axe_violations(page)
            await screenshot(page, "web" + url, readme=url in ("/practices?q=budget", "/dashboard"))
    bad = {url: v for url, v in found.items() if v}
    assert not bad, bad


async def test_the_dashboard_is_for_coordinators_and_downloads_its_figures(web: Web) -> None:
    await web.bot.app.store.run(lambda s: seed_year(s, members=30, end=datetime(2027, 2, 15, 12, tzinfo=UTC)))
    member = await web.signed_in("bob")
    admin = await web.signed_in("root")
    try:
        status, page = await _get(member, web.base + "/dashboard")
        assert status == 403 and "coordinator" in page and "<svg" not in page
        status, page = await _get(admin, web.base + "/dashboard?from=2026-03&to=2027-02")
        assert status == 200 and page.count('role="img"') == 6 and page.count("<table") == 6
        assert "Practices shared per month, by framework" in page and "<caption>" in page
        async with admin.get(web.base + "/dashboard.csv?from=2026-03&to=2027-02") as r:
            assert r.status == 200 and r.headers["Content-Type"].startswith("text/csv")
            assert "copbot-figures-2026-03-to-2027-02.csv" in r.headers["Content-Disposition"]
            assert (await r.text()).startswith("chart,label,series,value")
        status, page = await _get(admin, web.base + "/dashboard?from=March")
        assert status == 400 and "2026-03" in page  # the example of a month
    finally:
        await member.close()
        await admin.close()


async def test_a_convening_page_adds_to_google_and_outlook_calendars_at_its_time(web: Web) -> None:
    http = await web.signed_in("bob")
    try:
        status, page = await _get(http, web.base + f"/convenings/{web.dl_convening}")
        assert status == 200
        # 10:00 Central on 14 March 2027 is 15:00 UTC; 90 minutes long
        assert "dates=20270314T150000Z%2F20270314T163000Z" in page and "text=Budget+season" in page
        assert "startdt=2027-03-14T15%3A00%3A00%2B00%3A00" in page
        assert f'href="/convenings/{web.dl_convening}.ics"' in page
    finally:
        await http.close()


async def test_a_button_that_opens_a_form_shows_it_and_a_mistake_is_shown_under_its_field(web: Web) -> None:
    async with browser_page(web.base) as page:
        await page.goto(await web.link("bob"))
        await page.get_by_role("button", name="Sign in as Bob").click()
        await page.wait_for_url(web.base + "/")
        await page.get_by_role("button", name="Share a practice").click()
        await page.get_by_label("Title").fill("Office hours for department heads")
        await page.get_by_label("What you did").fill("Weekly open office hours with the budget team.")
        await page.get_by_role("button", name=re.compile("Share|Submit")).last.click()
        error = page.locator(".field-error")
        await error.wait_for()
        assert "Error:" in await error.inner_text()
        field = page.locator("[aria-invalid=true]")
        described = await field.get_attribute("aria-describedby") or ""
        assert (await error.get_attribute("id") or "x") in described
        assert await page.get_by_label("Title").input_value() == "Office hours for department heads"
        await field.select_option("named")
        await page.get_by_role("button", name=re.compile("Share|Submit")).last.click()
        status = page.get_by_role("status")
        await status.wait_for()
        assert "Saved P3" in await status.inner_text()
    assert await web.bot.count("practice") == 3


async def tab_to(page: Page, text: str, most: int = 40) -> None:
    """Press Tab until the element with this text has the focus (fails after `most` presses)."""
    for _ in range(most):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.textContent.trim()") == text:
            return
    raise AssertionError(f"{text!r} cannot be reached with the Tab key")


async def test_pages_work_by_keyboard_alone_and_at_200_percent_zoom(web: Web) -> None:
    async with browser_page(web.base) as page:
        await page.goto(await web.link("bob"))
        await page.keyboard.press("Tab")  # the skip link first
        assert await page.evaluate("document.activeElement.textContent") == "Skip to the main content"
        await tab_to(page, "Sign in as Bob")
        await page.keyboard.press("Enter")
        await page.wait_for_url(web.base + "/")
        assert "Signed in as" in await page.content()
        await page.goto("/practices/1")
        await tab_to(page, "Endorse")
        await page.keyboard.press("Enter")
        await page.get_by_role("status").wait_for()
        # 200% zoom of a 1280-pixel window is a 640-pixel one at twice the pixels: nothing scrolls sideways
        await page.set_viewport_size({"width": 640, "height": 800})
        for path in ("/practices?q=budget", "/practices/1", f"/convenings/{web.dl_convening}", "/me"):
            await page.goto(path)
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, (path, overflow)
    assert await web.bot.count("practice_endorsement") == 1
