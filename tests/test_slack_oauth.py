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
from adapters.slack.installations import authorize_url
from bot.app import App, build_app
from bot.config import load_settings
from bot.errors import StartError
from tests import fake_slack as fs
from tests.fakes import FakeClock
from tests.test_slack_adapter import utc

CITY, COUNTY, UNINSTALLED = "T0CITYHALL", "T0COUNTY1", "T0NOTHERE"
HREF = re.compile(r'<a href="([^"]+)"')


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
        return html.unescape(HREF.search(page).group(1)), cookie  # type: ignore[union-attr]

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
    oauth = json.loads(capsys.readouterr().out)["oauth_config"]
    assert oauth["redirect_urls"] == ["https://copbot.example.gov/slack/oauth_redirect"]
    monkeypatch.delenv("SLACK_CLIENT_ID")
    monkeypatch.delenv("SLACK_CLIENT_SECRET")
    assert main(["slack", "manifest"]) == 0
    assert "redirect_urls" not in json.loads(capsys.readouterr().out)["oauth_config"]
