"""Slack installed by OAuth in several workspaces (issue 15), at the real boundary: the real app in HTTP mode
on 127.0.0.1, workspaces installed through its /slack/install page, the fake Slack's authorize page and its
/slack/oauth_redirect (the state cookie carried back as a browser would), then signed requests from each.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from adapters.runtime import Running, start_platforms
from adapters.slack.adapter import NOT_INSTALLED
from adapters.slack.install_page import SCOPE_WORDS, install_page
from adapters.slack.installations import authorize_url
from adapters.slack.render import BOT_SCOPES
from bot.app import App, build_app
from bot.config import load_settings
from bot.errors import StartError
from bot.messages import Reply
from tests import fake_slack as fs
from tests.browser import axe_violations, browser_page
from tests.fakes import FakeClock
from tests.harness import ClockedHarness
from tests.test_slack_adapter import utc

CITY, COUNTY, UNINSTALLED = "T0CITYHALL", "T0COUNTY1", "T0NOTHERE"
ADD_TO_SLACK = re.compile(r'<a class="button primary" id="add-to-slack" href="([^"]+)"')


@dataclass
class Installed:
    fake: fs.FakeSlack
    app: App
    running: Running
    http: aiohttp.ClientSession
    key: str

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.running.port}"

    async def install_page(self, team: str) -> tuple[str, str]:
        """GET /slack/install?team=...: the page's authorize link and the state cookie it set."""
        async with self.http.get(f"{self.base}/slack/install", params={"team": team}) as r:
            assert r.status == 200, await r.text()
            page = await r.text()
            cookie = r.headers["Set-Cookie"].split(";")[0]
        assert "Add to Slack" in page
        return html.unescape(ADD_TO_SLACK.search(page).group(1)), cookie  # type: ignore[union-attr]

    async def install(self, team: str, *, with_cookie: bool = True) -> tuple[int, str]:
        """The whole install as a browser does it; returns the redirect page's status and text."""
        link, cookie = await self.install_page(team)
        async with self.http.get(link, allow_redirects=False) as r:  # the installer clicks Allow on Slack
            assert r.status == 302
            back = r.headers["Location"]
        assert back.startswith(f"{self.base}/slack/oauth_redirect?")
        headers = {"Cookie": cookie} if with_cookie else {}
        async with self.http.get(back, headers=headers, allow_redirects=False) as r:
            return r.status, await r.text()

    async def send(self, request: fs.Request) -> tuple[int, str]:
        async with self.http.post(
            f"{self.base}/slack/events",
            data=request.body.encode(),
            headers={"Content-Type": request.content_type, **fs.sign(request.body)},
        ) as r:
            return r.status, await r.text()

    async def rows(self, sql: str) -> list[Any]:
        return await self.app.store.run(lambda s: list(s.execute(text(sql)).all()))


def _settings(database_url: str, tmp_path: Path, fake: fs.FakeSlack, **more: Any) -> Any:
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": tmp_path / "data",
        "admins": "",
        "timezone": "America/New_York",
        "slack_client_id": fs.CLIENT_ID,
        "slack_client_secret": fs.CLIENT_SECRET,
        "slack_signing_secret": fs.SIGNING_SECRET,
        "slack_api_base_url": fake.base_url,
        "port": 0,
        **more,
    }
    return load_settings(_env_file=None, **values)


@asynccontextmanager
async def installed_world(database_url: str, tmp_path: Path, admins: str = "") -> AsyncIterator[Installed]:
    fake = await fs.FakeSlack().start()
    key = Fernet.generate_key().decode()
    app = build_app(
        _settings(database_url, tmp_path, fake, slack_token_key=key, admins=admins),
        clock=FakeClock(utc(2026, 2, 20, 15)),
    )
    running = await start_platforms(app, http=True)
    assert fake.calls == []  # OAuth mode has no token of its own to ask auth.test about
    fake.redirect_uri = f"http://127.0.0.1:{running.port}/slack/oauth_redirect"
    http = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())  # cookies are sent by hand
    try:
        yield Installed(fake, app, running, http, key)
    finally:
        await http.close()
        await running.stop()
        app.close()
        await fake.stop()


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[Installed]:
    async with installed_world(database_url, tmp_path) as w:
        yield w


async def test_two_workspaces_install_and_each_is_answered_with_its_own_token(world: Installed) -> None:
    world.fake.add_user("U0CITY", "Carla", tz="America/Chicago")
    world.fake.add_user("U0COUNTY", "Dev", tz="America/Denver")
    for team in (CITY, COUNTY):
        status, page = await world.install(team)
        assert status == 200 and "Thank you" in page, page
    assert [c["team"] for c in world.fake.authorize_requests] == [CITY, COUNTY]
    city, county = world.fake.token_of(CITY), world.fake.token_of(COUNTY)
    assert city != county
    rows = await world.rows("SELECT team_id, enterprise_id, is_enterprise_install FROM slack_installation")
    assert sorted(tuple(r) for r in rows) == [(CITY, "", False), (COUNTY, "", False)]

    for team, user, token in ((CITY, "U0CITY", city), (COUNTY, "U0COUNTY", county)):
        world.fake.calls.clear()
        status, _ = await world.send(fs.slash_command("help", team=team, user=user, user_name=user.lower()))
        assert status == 200
        await world.running.adapters["slack"].drain()  # type: ignore[attr-defined]
        replies = world.fake.tokens_used("chat.postEphemeral")
        assert replies == [token], world.fake.calls
        used = {c.token for c in world.fake.calls}
        assert used == {token}, [(c.method, c.token) for c in world.fake.calls]
        assert world.fake.tokens_used("users.info") == [token]  # the member's name, from their workspace
    # each member is known in their own workspace, their time zone learned from their own profile
    zones = await world.rows(
        "SELECT m.workspace, m.user_id, p.platform_timezone FROM member m JOIN member_profile p ON p.member_id = m.id ORDER BY m.user_id"
    )
    assert [tuple(z) for z in zones] == [
        (CITY, "U0CITY", "America/Chicago"),
        (COUNTY, "U0COUNTY", "America/Denver"),
    ]


async def test_a_workspace_that_did_not_install_is_refused_without_effect(world: Installed) -> None:
    assert (await world.install(CITY))[0] == 200
    world.fake.add_user("U0BOB", "Bob")
    world.fake.calls.clear()
    status, body = await world.send(
        fs.slash_command(
            "role grant <@U0BOB> admin", team=UNINSTALLED, response_url=world.fake.response_url()
        )
    )
    assert status == 200 and body == ""
    status, body = await world.send(fs.app_mention(f"<@{fs.BOT_USER}> help", team=UNINSTALLED))
    assert status == 200
    await world.running.adapters["slack"].drain()  # type: ignore[attr-defined]
    assert [r.get("text") for r in world.fake.responses] == [NOT_INSTALLED]
    assert [c.method for c in world.fake.calls] == ["response_url"]  # no Web API call, with any token
    for table in ("member", "role_grant", "audit_log"):
        assert (await world.rows(f"SELECT COUNT(*) FROM {table}"))[0][0] == 0, table


async def test_an_admin_of_one_workspace_is_nobody_special_in_another(
    database_url: str, tmp_path: Path
) -> None:
    async with installed_world(database_url, tmp_path, admins=f"slack:{CITY}:U0ANA") as world:
        world.fake.add_user("U0ANA", "Ana")
        world.fake.add_user("U0BOB", "Bob")
        for team in (CITY, COUNTY):
            assert (await world.install(team))[0] == 200
        grant = "role grant <@U0BOB|bob> coordinator"
        for team in (COUNTY, CITY):
            assert (
                await world.send(fs.slash_command(grant, team=team, response_url=world.fake.response_url()))
            )[0] == 200
            await world.running.adapters["slack"].drain()  # type: ignore[attr-defined]
        county, city = (r["text"] for r in world.fake.responses)
        assert "is now coordinator" not in county and "is now coordinator" in city, (county, city)
        grants = await world.rows("SELECT workspace, user_id FROM role_grant")
        assert [tuple(g) for g in grants] == [(CITY, "U0BOB")]


async def test_an_uninstalled_workspace_is_refused_and_the_other_untouched(world: Installed) -> None:
    world.fake.add_user("U0CITY", "Carla")
    world.fake.add_user("U0COUNTY", "Dev")
    for team in (CITY, COUNTY):
        assert (await world.install(team))[0] == 200
    await world.send(fs.slash_command("help", team=CITY, user="U0CITY"))  # served, and its token cached
    await world.running.adapters["slack"].drain()  # type: ignore[attr-defined]
    assert world.fake.tokens_used("chat.postEphemeral") == [world.fake.token_of(CITY)]
    status, _ = await world.send(fs.event_callback({"type": "app_uninstalled"}, team=CITY))
    assert status == 200
    rows = await world.rows("SELECT team_id FROM slack_installation")
    assert [r[0] for r in rows] == [COUNTY]
    members = await world.rows("SELECT workspace, user_id FROM member")
    assert [tuple(m) for m in members] == [(CITY, "U0CITY")]  # nothing else is lost
    world.fake.calls.clear()
    await world.send(
        fs.slash_command("help", team=CITY, user="U0CITY", response_url=world.fake.response_url())
    )
    await world.send(fs.slash_command("help", team=COUNTY, user="U0COUNTY"))
    await world.running.adapters["slack"].drain()  # type: ignore[attr-defined]
    assert [r.get("text") for r in world.fake.responses] == [NOT_INSTALLED]
    assert world.fake.tokens_used("chat.postEphemeral") == [world.fake.token_of(COUNTY)]
    # a revoked bot token removes that installation too
    event = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": [fs.BOT_USER]}}
    assert (await world.send(fs.event_callback(event, team=COUNTY)))[0] == 200
    assert await world.rows("SELECT team_id FROM slack_installation") == []


async def test_an_expiring_token_is_rotated_at_the_api_base_url_and_kept(world: Installed) -> None:
    world.fake.expires_in = 600  # under bolt's 2 hours: the next request refreshes it first
    world.fake.add_user("U0CITY", "Carla")
    assert (await world.install(CITY))[0] == 200
    first = world.fake.token_of(CITY)
    world.fake.expires_in = 12 * 3600
    await world.send(fs.slash_command("help", team=CITY, user="U0CITY"))
    await world.running.adapters["slack"].drain()  # type: ignore[attr-defined]
    refreshes = [a for a in world.fake.called("oauth.v2.access") if a.get("grant_type") == "refresh_token"]
    assert len(refreshes) == 1  # at the fake (SLACK_API_BASE_URL), not slack.com
    newest = list(world.fake.tokens)[-1]
    assert newest != first and world.fake.tokens[newest]["team_id"] == CITY
    assert world.fake.tokens_used("chat.postEphemeral") == [newest]
    secret = (await world.rows("SELECT secret FROM slack_installation"))[0][0]
    assert newest in Fernet(world.key.encode()).decrypt(secret.encode()).decode()  # kept for next time
    await world.send(fs.slash_command("help", team=CITY, user="U0CITY"))
    await world.running.adapters["slack"].drain()  # type: ignore[attr-defined]
    assert len([a for a in world.fake.called("oauth.v2.access") if a.get("grant_type")]) == 1


async def test_an_installation_row_holds_no_plaintext_token(world: Installed) -> None:
    assert (await world.install(CITY))[0] == 200
    token = world.fake.token_of(CITY)
    rows = await world.rows("SELECT * FROM slack_installation")
    assert len(rows) == 1
    stored = " ".join(str(v) for v in rows[0])
    assert token not in stored and token.split("-")[-1] not in stored.split()
    secret = rows[0]._mapping["secret"]
    assert token in Fernet(world.key.encode()).decrypt(secret.encode()).decode()  # encrypted, not lost
    assert Fernet.generate_key() != world.key.encode()


async def test_the_install_needs_its_state_cookie_and_a_state_is_used_once(world: Installed) -> None:
    status, page = await world.install(CITY, with_cookie=False)
    assert status == 400 and "Thank you" not in page
    assert (await world.rows("SELECT COUNT(*) FROM slack_installation"))[0][0] == 0
    assert world.fake.called("oauth.v2.access") == []  # no code was exchanged for a token
    # the browser's state, replayed after a completed install, is refused
    link, cookie = await world.install_page(CITY)
    async with world.http.get(link, allow_redirects=False) as r:
        back = r.headers["Location"]
    async with world.http.get(back, headers={"Cookie": cookie}) as r:
        assert r.status == 200
    async with world.http.get(back, headers={"Cookie": cookie}) as r:
        assert r.status != 200
    assert len(world.fake.called("oauth.v2.access")) == 1


async def test_the_authorize_link_and_token_exchange_follow_the_api_base_url_host(world: Installed) -> None:
    link, _ = await world.install_page(CITY)
    assert link.startswith(f"http://127.0.0.1:{world.fake.port}/oauth/v2/authorize?")
    query = parse_qs(urlsplit(link).query)
    assert query["client_id"] == [fs.CLIENT_ID] and "commands" in query["scope"][0].split(",")
    assert (await world.install(CITY))[0] == 200
    assert len(world.fake.called("oauth.v2.access")) == 1  # the code was exchanged at the fake, not slack.com
    assert authorize_url("https://slack-gov.com/api/") == "https://slack-gov.com/oauth/v2/authorize"
    assert authorize_url("https://slack.com/api/") == "https://slack.com/oauth/v2/authorize"


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({}, "SLACK_TOKEN_KEY is required"),
        ({"slack_token_key": "not-a-key"}, "SLACK_TOKEN_KEY is not a Fernet key"),
        ({"slack_client_secret": ""}, "needs both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET"),
        ({"slack_bot_token": fs.BOT_TOKEN, "slack_token_key": "k"}, "not both"),
        ({"admins": "slack:U0ANA", "slack_token_key": "k"}, "'slack:U0ANA' names no workspace"),
    ],
)
async def test_oauth_mode_refuses_to_start_without_what_it_needs(
    database_url: str, tmp_path: Path, settings: dict[str, Any], says: str
) -> None:
    fake = await fs.FakeSlack().start()
    app = build_app(
        _settings(database_url, tmp_path, fake, **settings), clock=FakeClock(utc(2026, 2, 20, 15))
    )
    try:
        with pytest.raises(StartError) as raised:
            await start_platforms(app, http=True)
        message = str(raised.value)
        assert says in message and "\n" not in message
        assert fs.CLIENT_SECRET not in message
    finally:
        app.close()
        await fake.stop()


def test_the_manifest_in_oauth_mode_names_the_redirect_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    monkeypatch.setenv("COPBOT_PUBLIC_URL", "https://copbot.example.gov")
    monkeypatch.setenv("SLACK_CLIENT_ID", fs.CLIENT_ID)
    monkeypatch.setenv("SLACK_CLIENT_SECRET", fs.CLIENT_SECRET)
    assert main(["slack", "manifest"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["oauth_config"]["redirect_urls"] == ["https://copbot.example.gov/slack/oauth_redirect"]
    assert printed["settings"]["org_deploy_enabled"] is True  # Enterprise Grid orgs may install org-wide
    monkeypatch.delenv("SLACK_CLIENT_ID")
    monkeypatch.delenv("SLACK_CLIENT_SECRET")
    assert main(["slack", "manifest"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert "redirect_urls" not in printed["oauth_config"]
    assert printed["settings"]["org_deploy_enabled"] is False


# ---- what copbot posts on its own, in each workspace with that workspace's token ----------------------


async def _two_installed(world: Installed) -> None:
    world.fake.add_user("U0CITY", "Carla", tz="America/Chicago")
    world.fake.add_user("U0COUNTY", "Dev", tz="America/Denver")
    for team in (CITY, COUNTY):
        assert (await world.install(team))[0] == 200


async def _cop(world: Installed, text_: str, team: str, user: str) -> None:
    status, _ = await world.send(
        fs.slash_command(
            text_, team=team, user=user, user_name=user.lower(), response_url=world.fake.response_url()
        )
    )
    assert status == 200
    await world.running.adapters["slack"].drain()  # type: ignore[attr-defined]


async def _run_until(world: Installed, when: Any) -> None:
    await ClockedHarness(world.app, world.app.services.clock, None).run_until(when)
    await world.running.adapters["slack"].drain()  # type: ignore[attr-defined]


async def _city_forum(world: Installed) -> None:
    """The city's admin sets the forum, its main channel in the city's workspace."""
    await _cop(
        world,
        'forum set --rule "first Tuesday of every month, 12:00 to 13:00" --channel C0CITYFORUM',
        CITY,
        "U0CITY",
    )


async def _records_day(world: Installed) -> None:
    """Convening 1 of the Clerks network (created first), on March 10, 2026."""
    await _cop(
        world,
        'convening schedule clerks --title "Records day" --start "March 10 2026 10:00 Central"',
        CITY,
        "U0CITY",
    )


async def _county_coordinator(world: Installed) -> None:
    """The city's admin makes the county's member a coordinator, by stable id: a mention typed in the city
    means a city member."""
    await _cop(world, f"role grant slack:{COUNTY}:U0COUNTY coordinator", CITY, "U0CITY")


@pytest.fixture
async def city_admin_world(database_url: str, tmp_path: Path) -> AsyncIterator[Installed]:
    async with installed_world(database_url, tmp_path, admins=f"slack:{CITY}:U0CITY") as w:
        await _two_installed(w)
        yield w


async def test_the_forum_posts_in_its_channel_with_that_workspaces_token(city_admin_world: Installed) -> None:
    world = city_admin_world
    await _city_forum(world)
    world.fake.calls.clear()
    await _run_until(world, utc(2026, 3, 3, 18))  # announced, reminded, opened, wrapped up
    posts = [
        c
        for c in world.fake.calls
        if c.method == "chat.postMessage" and c.args.get("channel") == "C0CITYFORUM"
    ]
    assert len(posts) >= 3, [(c.method, c.args.get("channel")) for c in world.fake.calls]
    assert {c.token for c in posts} == {world.fake.token_of(CITY)}
    assert world.fake.token_of(COUNTY) not in {c.token for c in world.fake.calls}


async def test_a_dm_copbot_sends_goes_through_the_members_own_workspace(city_admin_world: Installed) -> None:
    world = city_admin_world
    await _cop(world, 'network create "Clerks"', CITY, "U0CITY")
    await _cop(world, "network join clerks", COUNTY, "U0COUNTY")  # a member of the other workspace
    await _records_day(world)
    await _cop(world, "convening rsvp 1 going", COUNTY, "U0COUNTY")
    await _run_until(world, utc(2026, 3, 10, 15))  # the reminders a week, a day and an hour before
    opened = [
        c for c in world.fake.calls if c.method == "conversations.open" and c.args.get("users") == "U0COUNTY"
    ]
    dms = [
        c for c in world.fake.calls if c.method == "chat.postMessage" and c.args.get("channel") == "D0COUNTY"
    ]
    # told of the new convening, then reminded a week, a day and an hour before: all in their own workspace
    assert opened and len(dms) == 4 and all("Records day" in c.args["text"] for c in dms)
    assert {c.token for c in opened + dms} == {world.fake.token_of(COUNTY)}


async def test_a_practice_shared_in_one_workspace_is_found_from_the_other(
    city_admin_world: Installed,
) -> None:
    world = city_admin_world
    await _cop(
        world,
        'practice share --title "Open records office hours" --what "Weekly hours for records requests." --attribution named',
        CITY,
        "U0CITY",
    )
    world.fake.responses.clear()
    await _cop(world, "practice search records", COUNTY, "U0COUNTY")
    found = json.dumps(world.fake.responses)
    assert "Open records office hours" in found and "Carla" in found


async def test_after_an_uninstall_nothing_more_is_posted_there_and_the_other_goes_on(
    city_admin_world: Installed,
) -> None:
    world = city_admin_world
    await _city_forum(world)
    await _cop(world, 'network create "Clerks"', CITY, "U0CITY")
    await _cop(world, "network join clerks", COUNTY, "U0COUNTY")
    await _records_day(world)
    await _cop(world, "convening rsvp 1 going", COUNTY, "U0COUNTY")
    assert (await world.send(fs.event_callback({"type": "app_uninstalled"}, team=CITY)))[0] == 200
    world.fake.calls.clear()
    await _run_until(world, utc(2026, 3, 10, 15))
    assert not [c for c in world.fake.calls if c.args.get("channel") == "C0CITYFORUM"]  # not installed there
    assert world.fake.token_of(CITY) not in {c.token for c in world.fake.calls}
    assert [
        c for c in world.fake.calls if c.method == "chat.postMessage" and c.args.get("channel") == "D0COUNTY"
    ]
    failed = await world.rows(
        "SELECT last_error FROM planned_post WHERE state = 'failed' AND kind LIKE 'forum.%'"
    )
    assert failed and all("not installed" in r[0] for r in failed)


# ---- Enterprise Grid: one org-wide install serves every workspace of the org --------------------------

STATE_ORG, AGENCY_A, AGENCY_B, OTHER_ORG = "E0STATEGOV", "T0TRANSPORT", "T0HEALTH", "E0ELSEWHERE"


async def _grid(world: Installed, text_: str, team: str, user: str, org: str = STATE_ORG) -> tuple[int, str]:
    answer = await world.send(
        fs.slash_command(
            text_,
            team=team,
            user=user,
            user_name=user.lower(),
            enterprise=org,
            org_wide=True,
            response_url=world.fake.response_url(),
        )
    )
    await world.running.adapters["slack"].drain()  # type: ignore[attr-defined]
    return answer


async def test_an_org_wide_install_serves_each_workspace_of_the_org_as_one_member(world: Installed) -> None:
    world.fake.add_user("U0DIRECTOR", "Dana", tz="America/Los_Angeles")
    status, page = await world.install(STATE_ORG)  # the org's admin installs org-wide
    assert status == 200 and "Thank you" in page, page
    rows = await world.rows("SELECT team_id, enterprise_id, is_enterprise_install FROM slack_installation")
    assert [tuple(r) for r in rows] == [("", STATE_ORG, True)]
    org_token = world.fake.token_of(STATE_ORG)

    # Dana shares a practice from one workspace of the org and finds it as hers from another: Slack keeps
    # her user id across the org, and copbot knows her as one member of the org
    world.fake.calls.clear()
    share = 'practice share --title "Shared fleet calendar" --what "One calendar for every vehicle." --attribution named'
    assert (await _grid(world, share, AGENCY_A, "U0DIRECTOR"))[0] == 200
    world.fake.responses.clear()
    assert (await _grid(world, "practice mine", AGENCY_B, "U0DIRECTOR"))[0] == 200
    assert "Shared fleet calendar" in json.dumps(world.fake.responses)
    used = {c.token for c in world.fake.calls if c.method != "response_url"}
    assert used == {org_token}  # both answered with the org's one token
    members = await world.rows("SELECT platform, workspace, user_id FROM member WHERE platform = 'slack'")
    assert [tuple(m) for m in members] == [("slack", STATE_ORG, "U0DIRECTOR")]

    # a DM copbot starts on its own reaches her through the org's token
    messenger = world.app.scheduler.messengers["slack"]
    await messenger.send_dm("U0DIRECTOR", Reply("Your network meets on Tuesday."), workspace=STATE_ORG)
    dm = [
        c
        for c in world.fake.calls
        if c.method == "chat.postMessage" and c.args.get("channel") == "D0DIRECTOR"
    ]
    assert dm and dm[-1].token == org_token


async def test_another_org_is_refused_by_an_org_wide_install(world: Installed) -> None:
    assert (await world.install(STATE_ORG))[0] == 200
    world.fake.calls.clear()
    status, _ = await _grid(world, "practice mine", "T0STRANGER", "U0STRANGER", org=OTHER_ORG)
    assert status == 200
    assert [r.get("text") for r in world.fake.responses] == [NOT_INSTALLED]
    assert [c.method for c in world.fake.calls] == ["response_url"]  # no Web API call, with any token
    assert await world.rows("SELECT id FROM member WHERE platform = 'slack'") == []


# ---- the install page ----------------------------------------------------------------------------------


async def test_the_install_page_says_in_plain_words_what_copbot_may_do(world: Installed) -> None:
    async with world.http.get(f"{world.base}/slack/install") as r:
        assert r.status == 200 and r.headers["Cache-Control"] == "no-store"
        page = html.unescape(await r.text())
    assert "<h1>Add copbot to your Slack workspace</h1>" in page
    allowed = page.split("<h2>What copbot will be allowed to do</h2>")[1].split("<h2>")[0]
    for scope in BOT_SCOPES:  # every permission asked for is explained, none by its code name
        assert SCOPE_WORDS[scope] in allowed
        assert ":" not in scope or scope not in allowed
    assert "direct messages between people" in page and "public record" in page
    link = ADD_TO_SLACK.search(page)
    assert link is not None and link.group(1).startswith(
        f"http://127.0.0.1:{world.fake.port}/oauth/v2/authorize?"
    )
    assert (
        f"Slack (127.0.0.1:{world.fake.port})" in page
    )  # names where the button goes (slack-gov.com for GovSlack)
    with pytest.raises(ValueError, match="plain words"):
        install_page("https://slack.com/oauth/v2/authorize", ("admin",), "slack.com")


async def test_the_install_page_passes_an_accessibility_check_in_a_browser(world: Installed) -> None:
    async with browser_page(world.base) as page:
        await page.goto("/slack/install")
        assert await page.title() == "Add copbot to Slack · copbot"
        assert await axe_violations(page) == []
        await page.keyboard.press("Tab")  # the only link on the page is reachable from the keyboard
        assert await page.evaluate("document.activeElement.id") == "add-to-slack"


# ---- one forum, posted in each workspace that set a channel for it ------------------------------------

VILLAGE = "T0VILLAGE"  # installed, sets no forum channel: nothing is posted there


def _said_in(world: Installed, channel: str) -> list[tuple[str, str]]:
    """What copbot posted in a channel: (the first words of each message, the token it was posted with)."""
    return [
        (str(c.args.get("text", ""))[:30], c.token)
        for c in world.fake.calls
        if c.method == "chat.postMessage" and c.args.get("channel") == channel
    ]


async def test_the_forum_is_posted_once_in_each_workspace_that_set_a_channel(
    city_admin_world: Installed,
) -> None:
    world = city_admin_world
    assert (await world.install(VILLAGE))[0] == 200
    await _city_forum(world)
    await _county_coordinator(world)
    world.fake.responses.clear()
    await _cop(world, "forum channel #C0COUNTYFORUM", COUNTY, "U0COUNTY")
    said = json.dumps(world.fake.responses)
    assert "#C0COUNTYFORUM (this workspace)" in said and "#C0CITYFORUM" in said, said
    world.fake.calls.clear()

    await _run_until(world, utc(2026, 3, 3, 17, 1))  # announced, reminded twice, the threads open
    ((ts,),) = await world.rows("SELECT thread_id FROM forum_thread")  # the county's own thread
    # a county member replies in the county's own thread: it counts for the one forum
    reply = fs.message(
        "We moved our budget hearing online and attendance doubled.",
        user="U0COUNTY",
        channel="C0COUNTYFORUM",
        channel_type="channel",
        ts="1800000000.000100",
        thread_ts=ts,
        team=COUNTY,
    )
    assert (await world.send(reply))[0] == 200
    await world.running.adapters["slack"].drain()  # type: ignore[attr-defined]
    await _run_until(world, utc(2026, 3, 3, 18, 1))  # the wrap-ups

    city, county = world.fake.token_of(CITY), world.fake.token_of(COUNTY)
    steps = (
        "Monthly open forum",
        "Reminder: the open forum starts tomorrow",
        "Reminder: the open forum starts in one hour",
        "The open forum is open",
        "Thank you all. Wrap-up",
    )
    for channel, token in (("C0CITYFORUM", city), ("C0COUNTYFORUM", county)):
        posted = [
            (c.args["text"], c.token)
            for c in world.fake.calls
            if c.method == "chat.postMessage" and c.args.get("channel") == channel
        ]
        assert len(posted) == len(steps), posted  # each post once, in its order
        assert all(text.startswith(step) for (text, _), step in zip(posted, steps, strict=True)), posted
        assert {t for _, t in posted} == {token}  # each workspace's posts with its own token
    wrapups = [
        c.args["text"]
        for c in world.fake.calls
        if c.method == "chat.postMessage" and "Wrap-up" in c.args["text"]
    ]
    assert len(wrapups) == 2 and all("Took part: 1 member" in w for w in wrapups), wrapups
    assert world.fake.token_of(VILLAGE) not in {c.token for c in world.fake.calls}  # set no channel: nothing
    replies = await world.rows(
        "SELECT m.workspace, r.text FROM forum_reply r JOIN member m ON m.id = r.member_id"
    )
    assert [tuple(r) for r in replies] == [
        (COUNTY, "We moved our budget hearing online and attendance doubled.")
    ]


async def test_a_workspace_that_stops_its_forum_channel_gets_nothing_more(
    city_admin_world: Installed,
) -> None:
    world = city_admin_world
    await _city_forum(world)
    await _county_coordinator(world)
    await _cop(world, "forum channel C0COUNTYFORUM", COUNTY, "U0COUNTY")
    world.fake.responses.clear()
    await _cop(world, "forum channel off", COUNTY, "U0COUNTY")
    assert "no longer posted in this workspace" in json.dumps(world.fake.responses)
    world.fake.responses.clear()
    await _cop(world, "forum channel off", CITY, "U0CITY")  # the main channel cannot be switched off
    assert "main channel" in json.dumps(world.fake.responses)
    # the county's admin-less member cannot set one either: roles are per workspace member
    world.fake.responses.clear()
    await _cop(world, "forum channel C0SOMEWHERE", COUNTY, "U0OTHER")
    assert "Only coordinators can use forum channel" in json.dumps(world.fake.responses)
    world.fake.calls.clear()
    await _run_until(world, utc(2026, 3, 3, 18, 1))
    assert _said_in(world, "C0COUNTYFORUM") == [] and _said_in(world, "C0SOMEWHERE") == []
    assert len(_said_in(world, "C0CITYFORUM")) == 5


async def test_app_home_opens_in_each_workspace_with_its_own_token(city_admin_world: Installed) -> None:
    world = city_admin_world
    for team, user in ((CITY, "U0CITY"), (COUNTY, "U0COUNTY")):
        world.fake.calls.clear()
        assert (await world.send(fs.home_opened(user=user, team=team)))[0] == 200
        await world.running.adapters["slack"].drain()  # type: ignore[attr-defined]
        published = [c for c in world.fake.calls if c.method == "views.publish"]
        assert [(c.args.get("user_id"), c.token) for c in published] == [(user, world.fake.token_of(team))]


async def test_a_slack_connect_guest_is_reminded_through_the_installation_they_came_through(
    city_admin_world: Installed,
) -> None:
    world = city_admin_world
    partner = "T0PARTNER"  # has not installed copbot; shares #C0SHARED with the city

    async def guest(words: str) -> None:
        mention = fs.app_mention(
            f"<@{fs.BOT_USER}> {words}",
            user="U0PAT",
            channel="C0SHARED",
            team=CITY,
            user_team=partner,
            user_name="Pat",
        )
        assert (await world.send(mention))[0] == 200
        await world.running.adapters["slack"].drain()  # type: ignore[attr-defined]

    await _cop(world, 'network create "Clerks"', CITY, "U0CITY")
    await _records_day(world)
    await guest("network join clerks")
    await guest("convening rsvp 1 going")
    world.fake.calls.clear()
    await _run_until(world, utc(2026, 3, 10, 15))  # the reminders a week, a day and an hour before
    dms = [c for c in world.fake.calls if c.method == "chat.postMessage" and c.args.get("channel") == "D0PAT"]
    assert len(dms) == 3 and all("Records day" in c.args["text"] for c in dms), dms
    assert {c.token for c in dms} == {world.fake.token_of(CITY)}
    members = await world.rows("SELECT workspace, user_id FROM member WHERE user_id = 'U0PAT'")
    assert [tuple(m) for m in members] == [(partner, "U0PAT")]  # a member of their own workspace


async def test_the_digest_is_posted_in_each_workspace_that_set_a_channel_with_the_same_picks(
    city_admin_world: Installed,
) -> None:
    world = city_admin_world
    await _cop(
        world, 'resource digest --channel C0CITYLEARN --rule "every Monday at 9:00" --count 2', CITY, "U0CITY"
    )
    await _county_coordinator(world)
    world.fake.responses.clear()
    await _cop(world, "resource channel #C0COUNTYLEARN", COUNTY, "U0COUNTY")
    assert "#C0COUNTYLEARN (this workspace)" in json.dumps(world.fake.responses)
    world.fake.calls.clear()
    await _run_until(world, utc(2026, 2, 23, 14, 1))  # Monday 9:00 in New York
    posts = {
        c.args["channel"]: (c.args["text"], c.token, json.dumps(c.args.get("blocks")))
        for c in world.fake.calls
        if c.method == "chat.postMessage"
    }
    assert set(posts) == {"C0CITYLEARN", "C0COUNTYLEARN"}, posts
    assert posts["C0CITYLEARN"][1] == world.fake.token_of(CITY)
    assert posts["C0COUNTYLEARN"][1] == world.fake.token_of(COUNTY)
    assert posts["C0CITYLEARN"][0].startswith("Resource digest for 2026-02-23: 2 resources")
    assert posts["C0CITYLEARN"][0] == posts["C0COUNTYLEARN"][0]
    assert posts["C0CITYLEARN"][2] == posts["C0COUNTYLEARN"][2]  # the same two resources in both

    await _cop(world, "resource channel off", COUNTY, "U0COUNTY")
    world.fake.calls.clear()
    await _run_until(world, utc(2026, 3, 2, 14, 1))  # the next Monday: the city only
    assert [c.args["channel"] for c in world.fake.calls if c.method == "chat.postMessage"] == ["C0CITYLEARN"]


async def test_moving_the_digest_to_a_workspace_with_its_own_channel_posts_there_once(
    city_admin_world: Installed,
) -> None:
    world = city_admin_world
    await _cop(
        world, 'resource digest --channel C0CITYLEARN --rule "every Monday at 9:00" --count 2', CITY, "U0CITY"
    )
    await _county_coordinator(world)
    await _cop(world, "resource channel #C0COUNTYLEARN", COUNTY, "U0COUNTY")
    await _cop(world, "resource digest --channel C0COUNTYMAIN", COUNTY, "U0COUNTY")  # the main one moves
    world.fake.calls.clear()
    await _run_until(world, utc(2026, 2, 23, 14, 1))
    posted = [(c.args["channel"], c.token) for c in world.fake.calls if c.method == "chat.postMessage"]
    assert posted == [("C0COUNTYMAIN", world.fake.token_of(COUNTY))]  # not also in its old own channel
