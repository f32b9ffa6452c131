"""The Teams adapter at its real boundary: the real app serves /api/messages on 127.0.0.1 and receives
activities signed by a fake Bot Framework (tests/fake_teams.py), whose OpenID metadata publishes the test
key, so JWT validation is on; every reply and post goes to the fake's Bot Connector and is recorded."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from adapters.runtime import Running, start_platforms
from adapters.teams.adapter import TeamsAdapter
from adapters.teams.manifest import manifest, package
from bot.app import App, build_app, build_registry
from bot.config import load_settings
from tests import fake_teams as ft
from tests.fakes import FakeClock
from tests.harness import ClockedHarness

ANA, BOB, CAROL = (
    "aaaaaaaa-0000-4000-8000-00000000a0a0",
    "bbbbbbbb-0000-4000-8000-00000000b0b0",
    "cccccccc-0000-4000-8000-00000000c0c0",
)
RULE = '"first Tuesday of every month, 12:00 to 13:00, America/New_York"'


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass
class TeamsWorld:
    fake: ft.FakeTeams
    app: App
    running: Running
    clock: FakeClock

    @property
    def adapter(self) -> TeamsAdapter:
        return self.running.adapters["teams"]  # type: ignore[return-value]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.running.port}/api/messages"

    def user(self, object_id: str) -> ft.User:
        return self.fake.users[object_id]

    async def send(self, activity: dict[str, Any], **kw: Any) -> int:
        status = await self.fake.deliver(self.url, activity, **kw)
        await self.adapter.drain()
        return status

    async def say(self, who: str, words: str, **kw: Any) -> dict[str, Any]:
        activity = self.fake.activity(self.user(who), words, **kw)
        assert await self.send(activity) == 200
        return activity

    async def run_until(self, when: datetime) -> None:
        await ClockedHarness(self.app, self.clock, None).run_until(when)

    async def count(self, table: str) -> int:
        return await self.app.store.run(lambda s: s.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar())

    def cards(self, kind: str | None = None) -> list[dict[str, Any]]:
        found = []
        for call in self.fake.sent(kind):
            activity = call.body.get("activity", call.body)
            found += [a["content"] for a in activity.get("attachments") or []]
        return found


@pytest.fixture
async def teams(database_url: str, tmp_path: Path) -> AsyncIterator[TeamsWorld]:
    async with ft.FakeTeams() as fake:
        fake.add_user(ANA, "Ana Admin")
        fake.add_user(BOB, "Bob Member")
        fake.add_user(CAROL, "Carol Noapp", installed=False)
        settings = load_settings(
            _env_file=None,
            database_url=database_url,
            data_dir=tmp_path / "data",
            admins=f"teams:{ANA}",
            timezone="America/New_York",
            port=0,
            teams_notice_channel_id=ft.NOTICES,
            **fake.settings(),
        )
        clock = FakeClock(utc(2026, 2, 20, 15, 0))
        app = build_app(settings, clock=clock)
        running = await start_platforms(app)
        assert set(running.adapters) == {"teams"} and running.http is not None
        try:
            yield TeamsWorld(fake, app, running, clock)
        finally:
            await running.stop()
            app.close()


SHARE = (
    'practice share --title "Budget office hours" --what "Weekly office hours for department heads." '
    "--attribution named"
)


async def test_a_command_in_a_channel_is_answered_in_its_thread_and_private_answers_go_to_the_personal_chat(
    teams: TeamsWorld,
) -> None:
    asked = await teams.say(ANA, SHARE)
    [reply] = teams.fake.sent("reply")
    assert reply.path == f"{ft.CHANNEL};messageid=1" and reply.body["replyToId"] == asked["id"]
    assert "Saved P1" in teams.fake.texts("reply")[0]
    assert await teams.count("practice") == 1

    await teams.say(BOB, "practice search office hours")
    [chat] = teams.fake.sent("chat")  # Bob's personal chat with the bot, made for the private answer
    assert chat.body["members"] == [{"id": teams.user(BOB).teams_id}] and chat.body["tenantId"] == ft.TENANT
    [private] = [c for c in teams.fake.sent("send") if c.path == f"a:personal-{BOB}"]
    found = json.dumps(private.body)
    assert "Budget office hours" in found and "Ana Admin" in found  # credited by the Teams name
    assert "personal chat" in teams.fake.texts("reply")[-1]  # a note in the thread, not the answer
    # Carol has not added copbot as a personal app: told how, and her private answer is not posted publicly
    await teams.say(CAROL, "practice search office hours")
    said = teams.fake.texts("reply")[-1]
    assert "add copbot as a personal app" in said and "Budget office hours" not in said


async def test_anything_in_the_personal_chat_is_a_command_answered_there(teams: TeamsWorld) -> None:
    await teams.say(BOB, "help", conversation_type="personal")
    [reply] = teams.fake.sent("reply")
    assert reply.path == f"a:personal-{BOB}"
    assert "practice" in teams.fake.texts("reply")[0]
    await teams.say(BOB, "practise serch budget", conversation_type="personal")
    assert "practice search" in teams.fake.texts("reply")[-1]  # the nearest command is suggested


async def test_a_card_button_runs_its_command_as_the_member_who_pressed_it(teams: TeamsWorld) -> None:
    await teams.say(ANA, 'network create "Chiefs of Staff"', conversation_type="personal")
    await teams.say(BOB, "network join chiefs-of-staff", conversation_type="personal")
    await teams.say(
        ANA,
        'convening schedule chiefs-of-staff --title "Spring convening" --start "2026-04-14 10:00" '
        "--duration 2h --tz America/New_York",
        conversation_type="personal",
    )
    shown = await teams.say(BOB, "convening show 1", conversation_type="personal")
    card = teams.cards("reply")[-1]
    assert card["type"] == "AdaptiveCard" and card["fallbackText"]
    buttons = [a for a in json.loads(json.dumps(card["actions"])) if a["type"] == "Action.Submit"]
    going = next(b for b in buttons if b["title"] == "Going")
    assert going["data"] == {"copbot_command": "convening rsvp 1 going"}
    await teams.send(
        teams.fake.activity(
            teams.user(BOB), conversation_type="personal", value=going["data"], reply_to=str(shown["id"])
        )
    )
    rows = await teams.app.store.run(lambda s: s.execute(text("SELECT answer FROM rsvp")).all())
    assert [r[0] for r in rows] == ["going"]
    # a calendar file: a Teams bot cannot attach it without SharePoint, so it is shown in the message
    await teams.say(BOB, "convening ics 1", conversation_type="personal")
    shown_file = teams.fake.texts("reply")[-1]
    assert "convening-1.ics" in shown_file and "BEGIN:VCALENDAR" in shown_file


async def test_a_form_is_a_card_and_a_mistake_is_shown_on_that_card_until_it_is_right(
    teams: TeamsWorld,
) -> None:
    await teams.say(BOB, "practice share", conversation_type="personal")
    card = teams.cards("reply")[-1]
    inputs = {e["id"]: e for e in card["body"] if str(e.get("type", "")).startswith("Input.")}
    assert {"title", "what", "attribution"} <= set(inputs) and all(e["label"] for e in inputs.values())
    submit = card["actions"][0]
    assert submit["data"]["copbot_form"] == "practice share"
    card_id = "card-42"
    values = {"title": "Budget town halls", "what": "We moved hearings online.", "attribution": "role"}
    await teams.send(
        teams.fake.activity(
            teams.user(BOB),
            conversation_type="personal",
            value={**submit["data"], **values, "role_description": ""},
            reply_to=card_id,
        )
    )
    assert await teams.count("practice") == 0
    [update] = teams.fake.sent("update")
    assert update.body["_activity"] == card_id
    fixed = update.body["attachments"][0]["content"]
    body = fixed["body"]
    where = next(n for n, e in enumerate(body) if e.get("id") == "role_description")
    assert body[where + 1]["text"].startswith("Error:")  # under the field to fix
    assert next(e for e in body if e.get("id") == "title")["value"] == "Budget town halls"  # as submitted
    await teams.send(
        teams.fake.activity(
            teams.user(BOB),
            conversation_type="personal",
            value={**submit["data"], **values, "role_description": "a budget director in a mid-size city"},
            reply_to=card_id,
        )
    )
    assert await teams.count("practice") == 1
    assert "sent" in teams.fake.texts("update")[-1]  # the card cannot be sent twice
    assert "Saved P1: Budget town halls" in teams.fake.texts("reply")[-1]


async def test_the_forum_thread_is_opened_by_the_scheduler_and_a_reply_in_it_is_recorded(
    teams: TeamsWorld,
) -> None:
    await teams.say(ANA, f"forum set --rule {RULE} --announce-days 5")
    await teams.say(BOB, "forum propose Onboarding a new mayor")
    await teams.run_until(utc(2026, 3, 3, 17, 0))
    posts = teams.fake.sent("post")
    assert len(posts) == 4 and all(p.body["channelData"]["channel"]["id"] == ft.CHANNEL for p in posts)
    assert all(p.body["activity"].get("summary") or p.body["activity"].get("text") for p in posts)
    assert "Onboarding a new mayor" in teams.fake.texts("post")[0]
    opened = await teams.app.store.run(
        lambda s: s.execute(
            text("SELECT thread_id FROM forum_occurrence WHERE thread_id IS NOT NULL AND thread_id <> ''")
        ).scalar()
    )
    assert opened  # the id Teams gave the opening post
    # Bob replies in the thread in Teams itself, without mentioning the bot
    await teams.say(
        BOB,
        "We paired each new director with a peer mentor.",
        conversation_id=f"{ft.CHANNEL};messageid={opened}",
        mention_bot=False,
    )
    assert await teams.count("forum_reply") == 1
    # Ana captures Bob's reply as a practice: Bob is asked first, in his personal chat, and answers by button
    await teams.say(ANA, "forum capture R1", conversation_type="personal")
    await teams.run_until(teams.clock())
    [ask] = [c for c in teams.fake.sent("send") if "would like to save" in json.dumps(c.body)]
    assert ask.path == f"a:personal-{BOB}" and await teams.count("practice") == 0
    named = next(a for a in ask.body["attachments"][0]["content"]["actions"] if a["title"] == "Named")
    await teams.send(
        teams.fake.activity(
            teams.user(BOB), conversation_type="personal", value=named["data"], reply_to="ask"
        )
    )
    assert await teams.count("practice") == 1
    await teams.run_until(utc(2026, 3, 3, 19, 0))
    wrap = [c for c in teams.fake.sent("send") if c.path == f"{ft.CHANNEL};messageid={opened}"]
    assert len(wrap) == 1 and "Took part: 1 member." in json.dumps(wrap[0].body)
    # Bob's practice is captured already, so he gets no invitation to write it up
    assert not [c for c in teams.fake.sent("send") if "Write it up" in json.dumps(c.body)]


async def test_a_reminder_comes_by_personal_chat_and_a_member_without_the_app_is_reported(
    teams: TeamsWorld,
) -> None:
    await teams.say(ANA, 'network create "Chiefs of Staff"', conversation_type="personal")
    for who in (BOB, CAROL):
        await teams.say(who, "network join chiefs-of-staff", conversation_type="personal")
    await teams.say(
        ANA,
        'convening schedule chiefs-of-staff --title "Spring convening" --start "2026-03-10 10:00" '
        "--duration 2h --tz America/New_York",
        conversation_type="personal",
    )
    for who in (BOB, CAROL):
        await teams.say(who, "convening rsvp 1 going", conversation_type="personal")
    await teams.run_until(utc(2026, 3, 10, 13, 0))
    reminders = [c for c in teams.fake.sent("send") if "Reminder: Spring convening" in json.dumps(c.body)]
    assert reminders and {c.path for c in reminders} == {f"a:personal-{BOB}"}
    assert len(reminders) == len({json.dumps(c.body) for c in reminders})  # no reminder twice
    # Carol has no personal chat with copbot: what was meant for her comes as a mention in the notice channel
    notices = [c.body["activity"] for c in teams.fake.sent("post") if c.path == ft.NOTICES]
    assert len([n for n in notices if "Reminder: Spring convening" in json.dumps(n)]) == len(reminders)
    assert all(n["entities"][0]["mentioned"]["id"] == teams.user(CAROL).teams_id for n in notices)
    assert all("<at>Carol Noapp</at>" in n["text"] for n in notices)
    hinted = ["add copbot as a personal app" in json.dumps(n) for n in notices]
    assert hinted[0] and not any(hinted[1:])  # how to get them privately: said once
    unreachable = await teams.app.store.run(
        lambda s: s.execute(text("SELECT platform, workspace, user_id FROM unreachable_member")).all()
    )
    assert [tuple(r) for r in unreachable] == [("teams", ft.TENANT, CAROL)]
    await teams.say(ANA, "schedule unreachable", conversation_type="personal")
    assert "Carol" in teams.fake.texts("reply")[-1] or CAROL in teams.fake.texts("reply")[-1]
    # Carol adds copbot as a personal app: she is welcomed and off the list
    assert await teams.send(teams.fake.installed(teams.user(CAROL))) == 200
    assert (
        "Say help" in teams.fake.texts("send")[-1]
        and teams.fake.sent("send")[-1].path == f"a:personal-{CAROL}"
    )
    assert await teams.count("unreachable_member") == 0


async def test_a_429_is_waited_out_once_and_the_message_sent_once(teams: TeamsWorld) -> None:
    teams.fake.limit("reply", times=1, retry_after=0)
    await teams.say(BOB, "help", conversation_type="personal")
    assert len(teams.fake.refused) == 1 and len(teams.fake.sent("reply")) == 1
    teams.fake.limit("reply", times=2, retry_after=0)  # a second 429 in a row: given up here, not doubled
    await teams.say(BOB, "help", conversation_type="personal")
    assert len(teams.fake.refused) == 3 and len(teams.fake.sent("reply")) == 1


@pytest.mark.parametrize(
    "token",
    [None, "not-a-jwt", "forged", "wrong-audience", "wrong-issuer", "expired", "other-service-url"],
)
async def test_a_missing_or_bad_token_gets_401_and_changes_nothing(
    teams: TeamsWorld, token: str | None
) -> None:
    fake = teams.fake
    tokens = {
        "forged": lambda: fake.token(**fake.forged_token()),
        "wrong-audience": lambda: fake.token(audience="someone-elses-bot"),
        "wrong-issuer": lambda: fake.token(issuer="https://evil.example"),
        "expired": lambda: fake.token(expires_in=-3600),
        "other-service-url": lambda: fake.token(service_url="https://elsewhere.example/"),
    }
    raw = tokens[token]() if token in tokens else token
    activity = fake.activity(fake.users[ANA], SHARE)
    assert await teams.send(activity, token=raw) == 401
    assert await teams.count("practice") == 0 and fake.calls == []
    assert await teams.count("processed_event") == 0  # not even claimed: the good copy would still count


async def test_an_activity_from_another_tenant_is_refused_and_changes_nothing(teams: TeamsWorld) -> None:
    activity = teams.fake.activity(teams.user(ANA), SHARE, tenant=ft.OTHER_TENANT)
    assert await teams.send(activity) == 403
    assert await teams.count("practice") == 0 and teams.fake.calls == []


async def test_an_activity_delivered_twice_acts_once(teams: TeamsWorld) -> None:
    activity = teams.fake.activity(teams.user(ANA), SHARE)
    assert await teams.send(activity) == 200
    assert await teams.send(activity) == 200
    assert await teams.count("practice") == 1 and len(teams.fake.sent("reply")) == 1


async def test_members_of_the_coordinator_group_are_coordinators(database_url: str, tmp_path: Path) -> None:
    async with ft.FakeTeams() as fake:
        fake.add_user(BOB, "Bob Member")
        fake.groups["group-coordinators"] = {BOB}
        settings = load_settings(
            _env_file=None,
            database_url=database_url,
            data_dir=tmp_path,
            port=0,
            teams_coordinator_groups="group-coordinators",
            **fake.settings(),
        )
        app = build_app(settings, clock=FakeClock(utc(2026, 2, 20, 15, 0)))
        running = await start_platforms(app)
        world = TeamsWorld(fake, app, running, FakeClock(utc(2026, 2, 20, 15, 0)))
        try:
            await world.say(BOB, 'network create "Chiefs of Staff"', conversation_type="personal")
            assert await world.count("network") == 1
            fake.groups.clear()
            world.adapter._groups.clear()  # the ten-minute memory of group membership, as if it had passed
            await world.say(BOB, 'network create "Finance Directors"', conversation_type="personal")
            assert await world.count("network") == 1
            assert "coordinator" in fake.texts("reply")[-1]
        finally:
            await running.stop()
            app.close()


def test_the_app_package_has_the_manifest_two_icons_and_a_command_list_from_the_registry() -> None:
    registry = build_registry()
    found = manifest(registry, app_id=ft.APP_ID, website="https://copbot.example.gov")
    commands = found["bots"][0]["commandLists"][0]["commands"]
    assert 1 <= len(commands) <= 10 and commands[0]["title"] == "help"
    assert all(c["title"] in registry.commands for c in commands)
    assert found["permissions"] == ["identity", "messageTeamMembers"]
    assert found["bots"][0]["botId"] == ft.APP_ID
    with zipfile.ZipFile(io.BytesIO(package(found))) as z:
        assert sorted(z.namelist()) == ["color.png", "manifest.json", "outline.png"]
        assert json.loads(z.read("manifest.json")) == found
        for name, size in (("color.png", 192), ("outline.png", 32)):
            png = z.read(name)
            assert png.startswith(b"\x89PNG") and struct.unpack(">II", png[16:24]) == (size, size)
    with pytest.raises(ValueError, match="https"):
        manifest(registry, app_id=ft.APP_ID, website="http://copbot.example.gov")


def test_each_cloud_has_its_endpoints_and_each_can_be_overridden() -> None:
    from adapters.teams.cloud import cloud_of

    gov = cloud_of(load_settings(_env_file=None, teams_cloud="GCC High"))
    assert gov.login_url == "https://login.microsoftonline.us" and gov.issuer == "https://api.botframework.us"
    assert "gov.teams.microsoft.us" in gov.service_url
    assert "dod.teams.microsoft.us" in cloud_of(load_settings(_env_file=None, teams_cloud="dod")).service_url
    assert "gcc.teams" in cloud_of(load_settings(_env_file=None, teams_cloud="gcc")).service_url
    local = cloud_of(
        load_settings(_env_file=None, teams_cloud="gcch", teams_login_url="http://127.0.0.1:1/login")
    )
    assert local.login_url == "http://127.0.0.1:1/login"
    from bot.config import ConfigError

    with pytest.raises(ConfigError, match="TEAMS_CLOUD"):
        load_settings(_env_file=None, teams_cloud="mars")


async def test_a_mentioned_member_is_that_member_of_this_tenant(teams: TeamsWorld) -> None:
    bob = teams.user(BOB)
    await teams.say(ANA, f"role grant <at>{bob.name}</at> coordinator", mentions=(bob,))
    assert "Bob Member" in teams.fake.texts("send")[-1]  # the answer, in Ana's personal chat
    rows = await teams.app.store.run(
        lambda s: s.execute(text("SELECT platform, workspace, user_id, role FROM role_grant")).all()
    )
    assert [tuple(r)[:3] for r in rows] == [("teams", ft.TENANT, BOB)]


@pytest.mark.usefixtures("sqlite_url")
async def test_copbot_run_with_teams_settings_serves_teams_at_api_messages(
    tmp_path: Path, sqlite_url: str
) -> None:
    """The real entry point: `copbot run --demo` with TEAMS_* set serves /api/messages on PORT, the demo
    clock works from Teams, and no secret reaches the log."""
    import asyncio
    import os
    import signal
    import socket

    from tests.processes import start_copbot

    async with ft.FakeTeams() as fake:
        ana = fake.add_user(ANA, "Ana Admin")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("COPBOT_", "DATABASE_URL", "SLACK_", "DISCORD_", "TEAMS_"))
        }
        env.update({k.upper(): v for k, v in fake.settings().items()})
        env.update(
            DATABASE_URL=sqlite_url,
            COPBOT_DATA_DIR=str(tmp_path),
            HOST="127.0.0.1",
            PORT=str(port),
            COPBOT_ADMINS=f"teams:{ANA}",
        )
        proc = await start_copbot("run", "--demo", env=env, cwd=tmp_path)
        try:
            url = f"http://127.0.0.1:{port}/api/messages"
            activity = fake.activity(ana, "clock set 2029-06-15 09:00", conversation_type="personal")
            assert await fake.deliver(url, activity) == 200
            await fake.wait_for(lambda: fake.sent("reply"), timeout=15)
            assert "Set the clock. It is now Fri 15 Jun 2029, 09:00 EDT." in fake.texts("reply")[0]
            assert await fake.deliver(url, fake.activity(ana, "help"), token=None) == 401
        finally:
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 30) == 0
        err = (await proc.stderr.read()).decode() if proc.stderr else ""
        assert ft.APP_PASSWORD not in err and "Bearer" not in err


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"type": "message", "from": "ana"}'])
async def test_a_signed_but_unreadable_activity_gets_400_and_a_forged_one_401(
    teams: TeamsWorld, body: bytes
) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        for token, status in (
            (teams.fake.token(), 400),
            (teams.fake.token(**teams.fake.forged_token()), 401),
        ):
            async with http.post(
                teams.url,
                data=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            ) as r:
                assert r.status == status
    assert teams.fake.calls == [] and await teams.count("processed_event") == 0


def test_a_long_list_is_cut_to_fit_teams_message_size_and_says_how_many_more() -> None:
    from adapters.teams.render import message
    from bot.messages import Choice, Item, Reply

    items = tuple(
        Item(
            f"Practice {n}",
            "x" * 1500,
            (("Level", "local"),),
            f"P{n}",
            (Choice("Endorse", f"practice endorse P{n}"),),
        )
        for n in range(1, 41)
    )
    activity = message(Reply("40 practices", items=items), "America/New_York")
    assert len(json.dumps(activity).encode()) < 28_000
    card = json.dumps(activity["attachments"][0]["content"])
    assert "Practice 1" in card and "more." in card and "Practice 40" not in card
    assert (
        "Practice 40" in activity["summary"] or len(activity["summary"]) <= 2000
    )  # the text fallback, clipped


def _certificate_pem() -> tuple[bytes, Any]:
    """A self-signed certificate and its key, as an administrator would upload to the app registration."""
    from datetime import timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "copbot")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ) + cert.public_bytes(serialization.Encoding.PEM)
    return pem, cert


async def test_a_certificate_can_stand_in_for_the_secret(database_url: str, tmp_path: Path) -> None:
    pem, cert = _certificate_pem()
    (tmp_path / "copbot-teams.pem").write_bytes(pem)
    async with ft.FakeTeams() as fake:
        fake.certificate, fake.password = cert, ""
        bob = fake.add_user(BOB, "Bob Member")
        settings = load_settings(
            _env_file=None,
            database_url=database_url,
            data_dir=tmp_path,
            port=0,
            **{**fake.settings(), "teams_app_password": ""},
            teams_app_certificate=str(tmp_path / "copbot-teams.pem"),
        )
        app = build_app(settings, clock=FakeClock(utc(2026, 2, 20, 15, 0)))
        running = await start_platforms(app)
        try:
            url = f"http://127.0.0.1:{running.port}/api/messages"
            assert await fake.deliver(url, fake.activity(bob, "help", conversation_type="personal")) == 200
            await running.adapters["teams"].drain()  # type: ignore[attr-defined]
            assert fake.token_requests == ["certificate"] and "practice" in fake.texts("reply")[0]
        finally:
            await running.stop()
            app.close()


async def test_credentials_the_login_refuses_stop_the_start_with_one_line_naming_the_settings(
    database_url: str, tmp_path: Path
) -> None:
    from bot.errors import StartError

    async with ft.FakeTeams() as fake:
        settings = load_settings(
            _env_file=None,
            database_url=database_url,
            data_dir=tmp_path,
            port=0,
            **{**fake.settings(), "teams_app_password": "not-the-secret"},
        )
        app = build_app(settings)
        try:
            with pytest.raises(StartError, match="TEAMS_APP_PASSWORD") as refused:
                await start_platforms(app)
            assert "not-the-secret" not in str(refused.value)
        finally:
            app.close()


async def test_a_scheduled_post_throttled_twice_is_sent_later_once(teams: TeamsWorld) -> None:
    await teams.say(ANA, f"forum set --rule {RULE} --announce-days 5")
    teams.fake.limit("create", times=2, retry_after=0)  # the announcement: 429, waited out, 429 again
    await teams.run_until(utc(2026, 3, 3, 17, 0))
    assert len(teams.fake.refused) == 2
    posts = teams.fake.texts("post")
    assert len(posts) == 4 and len(set(posts)) == 4  # each post once, the announcement after the pause


def test_copbot_teams_manifest_writes_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    monkeypatch.setenv("TEAMS_APP_ID", ft.APP_ID)
    monkeypatch.setenv("COPBOT_PUBLIC_URL", "https://copbot.example.gov")
    assert main(["teams", "manifest", "--out", "pkg.zip", "--app-version", "1.2.3"]) == 0
    assert "suggested commands: help" in capsys.readouterr().out
    with zipfile.ZipFile(tmp_path / "pkg.zip") as z:
        found = json.loads(z.read("manifest.json"))
    assert found["version"] == "1.2.3" and found["developer"]["websiteUrl"] == "https://copbot.example.gov"
    assert main(["teams", "manifest", "--website", "http://insecure.example"]) == 2
    assert "https" in capsys.readouterr().err
