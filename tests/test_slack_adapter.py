"""The Slack adapter at its real boundary: the real app in HTTP mode on 127.0.0.1 receives signed requests
carrying Slack's payload shapes, and talks to a fake Slack Web API (tests/fake_slack.py) on a random port.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlencode

import aiohttp
import pytest
from slack_bolt.request.async_request import AsyncBoltRequest
from sqlalchemy import text

from adapters.runtime import Running, start_platforms
from adapters.slack.adapter import SlackAdapter
from bot.app import App, build_app
from bot.config import load_settings
from bot.messages import Reply
from tests import fake_slack as fs
from tests.fakes import FakeClock
from tests.harness import ClockedHarness
from tests.processes import start_copbot


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass
class SlackWorld:
    fake: fs.FakeSlack
    app: App
    running: Running
    clock: FakeClock
    http: aiohttp.ClientSession

    @property
    def adapter(self) -> SlackAdapter:
        return self.running.adapters["slack"]  # type: ignore[return-value]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.running.port}/slack/events"

    async def send(
        self,
        request: fs.Request,
        *,
        headers: dict[str, str] | None = None,
        signed: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        """POST a signed request; returns the status and body of the answer (the ack)."""
        sig = signed if signed is not None else fs.sign(request.body)
        async with self.http.post(
            self.url,
            data=request.body.encode(),
            headers={"Content-Type": request.content_type, **sig, **(headers or {})},
        ) as r:
            body = await r.text()
        return r.status, body

    async def settle(self) -> None:
        """Let the work that acknowledged requests started finish."""
        await self.adapter.drain()

    async def run_until(self, when: datetime) -> None:
        await ClockedHarness(self.app, self.clock, None).run_until(when)
        await self.settle()

    async def cop(
        self, text_: str, *, user: str = "U0ANA", name: str = "ana", channel: str = "C0GENERAL"
    ) -> None:
        status, _ = await self.send(
            fs.slash_command(
                text_, user=user, user_name=name, channel=channel, response_url=self.fake.response_url()
            )
        )
        assert status == 200
        await self.settle()

    def last_response(self) -> dict[str, Any]:
        assert self.fake.responses, "nothing was sent to the response_url"
        return self.fake.responses[-1]

    async def count(self, table: str) -> int:
        return await self.app.store.run(lambda s: s.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar())


@asynccontextmanager
async def slack_world(
    database_url: str, tmp_path: Path, *, admins: str = "slack:U0ANA", installed: dict[str, Any] | None = None
) -> AsyncIterator[SlackWorld]:
    """The real app in HTTP mode against a fake Slack; `installed` is what auth.test says the token serves."""
    fake = await fs.FakeSlack().start()
    fake.installed.update(installed or {})
    fake.add_user("U0ANA", "Ana", tz="America/Chicago")
    fake.add_user("U0BOB", "Bob", tz="Europe/London")
    settings = load_settings(
        _env_file=None,
        database_url=database_url,
        data_dir=tmp_path / "data",
        admins=admins,
        timezone="America/New_York",
        slack_bot_token=fs.BOT_TOKEN,
        slack_signing_secret=fs.SIGNING_SECRET,
        slack_api_base_url=fake.base_url,
        port=0,
    )
    clock = FakeClock(utc(2026, 2, 20, 15, 0))
    app = build_app(settings, clock=clock)
    running = await start_platforms(app, http=True)
    assert [c.method for c in fake.calls] == ["auth.test"]  # start-up learns the workspace it serves
    fake.calls.clear()  # tests look at what requests cause
    http = aiohttp.ClientSession()
    try:
        yield SlackWorld(fake, app, running, clock, http)
    finally:
        await http.close()
        await running.stop()
        app.close()
        await fake.stop()


@pytest.fixture
async def slack(database_url: str, tmp_path: Path) -> AsyncIterator[SlackWorld]:
    async with slack_world(database_url, tmp_path) as world:
        yield world


# ---- the signature, url_verification, acks --------------------------------------------------------------


async def test_url_verification_answers_the_challenge(slack: SlackWorld) -> None:
    status, body = await slack.send(fs.url_verification("abc123"))
    assert status == 200 and json.loads(body) == {"challenge": "abc123"}


async def test_forged_and_stale_requests_get_401_and_nothing_is_done(slack: SlackWorld) -> None:
    request = fs.slash_command(
        "practice share --title T --what W --attribution named", response_url=slack.fake.response_url()
    )
    forged = fs.sign(request.body, secret="not-the-secret")
    assert (await slack.send(request, signed=forged))[0] == 401
    stale = fs.sign(request.body, timestamp=int(time.time()) - 6 * 60)
    assert (await slack.send(request, signed=stale))[0] == 401
    event = fs.message("practice share --title T --what W --attribution named")
    assert (await slack.send(event, signed=fs.sign(event.body, secret="wrong")))[0] == 401
    await slack.settle()
    assert slack.fake.calls == [] and await slack.count("practice") == 0


def _form(**fields: str) -> fs.Request:
    return fs.Request(urlencode(fields), "application/x-www-form-urlencoded")


def _payload(value: Any) -> fs.Request:
    return _form(payload=value if isinstance(value, str) else json.dumps(value))


_USER = {"id": "U0ANA", "username": "ana", "team_id": fs.TEAM}
MALFORMED: dict[str, tuple[fs.Request | bytes, str]] = {
    "not UTF-8": (b"\xff\xfe\x00text=practice+share", "not UTF-8"),
    "not a form": (fs.Request("this is not a form", "application/x-www-form-urlencoded"), "has no type"),
    "a slash command without its user": (
        _form(
            command="/cop",
            text="practice share --title T --what W --attribution named",
            channel_id="C0GENERAL",
        ),
        "no user_id",
    ),
    "a payload that is not JSON": (_payload("{not json"), "not valid JSON"),
    "JSON that is a list": (fs.Request("[1, 2, 3]", "application/json"), "not a Slack form or JSON object"),
    "a payload that is a list": (_payload([{"type": "block_actions"}]), "not a Slack form or JSON object"),
    "a payload without a type": (_payload({"user": _USER, "actions": [{"value": "help"}]}), "no type"),
    "a user that is a string": (
        _payload(
            {
                "type": "block_actions",
                "user": "U0ANA",
                "actions": [
                    {
                        "action_id": "copbot:1",
                        "value": "practice share --title T --what W --attribution named",
                    }
                ],
            }
        ),
        "user is not an object",
    ),
    "actions that are not objects": (
        _payload({"type": "block_actions", "user": _USER, "actions": ["help"]}),
        "actions is not a list of objects",
    ),
    "an event that is a string": (
        fs.Request(
            json.dumps(
                {"type": "event_callback", "event_id": "Ev0BAD1", "team_id": fs.TEAM, "event": "message"}
            ),
            "application/json",
        ),
        "event is not an object",
    ),
    "message text that is a number": (
        fs.Request(
            json.dumps(
                {
                    "type": "event_callback",
                    "event_id": "Ev0BAD2",
                    "team_id": fs.TEAM,
                    "event": {
                        "type": "message",
                        "channel_type": "im",
                        "user": "U0ANA",
                        "channel": "D0ANA",
                        "text": 42,
                        "ts": "1.2",
                    },
                }
            ),
            "application/json",
        ),
        "event.text is not a string",
    ),
    "a modal without its view": (_payload({"type": "view_submission", "user": _USER}), "view is missing"),
}


@pytest.mark.parametrize("kind", list(MALFORMED))
async def test_a_malformed_but_signed_request_gets_400_naming_the_problem(
    slack: SlackWorld, kind: str
) -> None:
    request, reason = MALFORMED[kind]
    raw = request if isinstance(request, bytes) else request.body.encode()
    content_type = "application/x-www-form-urlencoded" if isinstance(request, bytes) else request.content_type
    headers = {"Content-Type": content_type, **fs.sign(raw)}
    async with slack.http.post(slack.url, data=raw, headers=headers) as r:
        status, body = r.status, await r.text()
    await slack.settle()
    assert (status, reason in body) == (400, True), (status, body)
    assert slack.fake.calls == [] and slack.fake.responses == [] and await slack.count("practice") == 0


async def test_slacks_unsigned_ssl_check_is_acknowledged_and_nothing_more(slack: SlackWorld) -> None:
    check = _form(ssl_check="1", token="deprecated-verification-token")
    headers = {"Content-Type": check.content_type}  # no signature
    async with slack.http.post(slack.url, data=check.body.encode(), headers=headers) as r:
        assert r.status == 200
    forged = _form(
        ssl_check="1",
        command="/cop",
        user_id="U0ANA",
        channel_id="C0GENERAL",
        text="practice share --title T --what W --attribution named",
    )
    assert (await slack.send(forged, signed={}))[0] == 200
    await slack.settle()
    assert slack.fake.calls == [] and slack.fake.responses == []


async def test_a_body_over_a_mebibyte_is_refused_unread(slack: SlackWorld) -> None:
    request = fs.slash_command("practice share --title T --attribution named --what " + "x" * 1_100_000)
    assert (await slack.send(request))[0] == 413
    await slack.settle()
    assert slack.fake.calls == [] and await slack.count("practice") == 0


async def test_a_replayed_slash_command_or_button_acts_once(slack: SlackWorld) -> None:
    command = fs.slash_command(
        "practice share --title Once --what W --attribution named", response_url=slack.fake.response_url()
    )
    signed = fs.sign(command.body)
    assert [(await slack.send(command, signed=signed))[0] for _ in range(3)] == [200, 200, 200]
    await slack.settle()
    assert await slack.count("practice") == 1 and len(slack.fake.responses) == 1
    button = fs.block_action(
        "practice endorse P1", user="U0BOB", name="bob", response_url=slack.fake.response_url()
    )
    signed = fs.sign(button.body)
    for _ in range(2):
        assert (await slack.send(button, signed=signed))[0] == 200
    await slack.settle()
    assert await slack.count("practice_endorsement") == 1 and len(slack.fake.responses) == 2
    # The same command typed again is a new request (Slack gives it a new trigger id): it runs.
    await slack.cop("practice share --title Once --what W --attribution named")
    assert await slack.count("practice") == 2


async def test_a_refused_request_is_logged_without_its_body(
    slack: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # the default LOG_LEVEL
    words, user = "our confidential restructuring plan", "U0WHISTLE"
    request = fs.slash_command(words, user=user, user_name="whistle")
    assert (await slack.send(request, signed=fs.sign(request.body, secret="not-the-secret")))[0] == 401
    malformed = _form(command="/cop", text=words, user_name=user)
    assert (await slack.send(malformed))[0] == 400
    # bolt itself logs the whole body of a request whose signature fails (at INFO); whichever way a request
    # reaches it, that line leaves the body out.
    forged = AsyncBoltRequest(
        body=request.body,
        headers={"content-type": request.content_type, **fs.sign(request.body, secret="not-the-secret")},
    )
    assert (await slack.adapter.bolt.async_dispatch(forged)).status == 401
    await slack.settle()
    assert "Invalid request signature detected" in caplog.text and "request body not logged" in caplog.text
    assert "refused a malformed request: the slash command has no user_id" in caplog.text
    assert words not in caplog.text and user not in caplog.text
    assert quote_plus(words) not in caplog.text and "whistle" not in caplog.text


async def test_a_slash_command_is_acked_at_once_and_answered_privately_by_response_url(
    slack: SlackWorld,
) -> None:
    status, body = await slack.send(
        fs.slash_command("help practice search", response_url=slack.fake.response_url())
    )
    assert status == 200 and body == ""
    await slack.settle()
    answer = slack.last_response()
    assert answer["response_type"] == "ephemeral"
    assert "practice search" in answer["text"] and answer["blocks"][0]["type"] == "section"
    assert slack.fake.called("chat.postMessage") == []


async def test_bad_input_is_a_private_message_naming_the_problem(slack: SlackWorld) -> None:
    await slack.cop("practice serch budget")
    answer = slack.last_response()
    assert answer["response_type"] == "ephemeral" and "practice search" in answer["text"]
    await slack.cop("practice share --title T --what W --attribution famous")
    assert "attribution" in slack.last_response()["text"].lower()
    assert await slack.count("practice") == 0


# ---- events: mentions in threads, DMs, retries, own messages -----------------------------------------------


async def test_a_mention_in_a_thread_is_answered_in_that_thread(slack: SlackWorld) -> None:
    await slack.send(fs.app_mention(f"<@{fs.BOT_USER}> help", thread_ts="1700000000.000100"))
    await slack.settle()
    [ephemeral] = slack.fake.called("chat.postEphemeral")
    assert ephemeral["channel"] == "C0GENERAL" and ephemeral["user"] == "U0ANA"
    assert ephemeral["thread_ts"] == "1700000000.000100" and "help" in ephemeral["text"]
    await slack.send(
        fs.app_mention(
            f'<@{fs.BOT_USER}> practice share --title "Budget office hours" '
            '--what "Weekly." --attribution named',
            thread_ts="1700000000.000100",
        )
    )
    await slack.settle()
    [public] = slack.fake.posts()
    assert public["thread_ts"] == "1700000000.000100" and "Saved P1" in public["text"]


async def test_a_direct_message_runs_the_same_commands(slack: SlackWorld) -> None:
    await slack.send(fs.message("resource areas"))
    await slack.settle()
    [post] = slack.fake.posts()
    assert post["channel"] == "D0ANA" and "Systems Thinking" in post["text"]
    assert any(b["type"] == "section" for b in post["blocks"])


async def test_a_retried_event_posts_once(slack: SlackWorld) -> None:
    first = fs.message("practice share --title Once --what W --attribution named", event_id="Ev0RETRY1")
    status, _ = await slack.send(first)
    status2, _ = await slack.send(
        first, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )
    await slack.settle()
    assert status == status2 == 200
    assert len(slack.fake.posts()) == 1 and await slack.count("practice") == 1


async def test_a_retry_reaching_a_second_bot_process_is_also_ignored(
    slack: SlackWorld, tmp_path: Path
) -> None:
    other_settings = slack.app.settings.model_copy(update={"port": 0})
    other = build_app(other_settings, clock=slack.clock, migrate=False)
    running = await start_platforms(other, http=True)
    try:
        event = fs.message("practice share --title Twice --what W --attribution named", event_id="Ev0TWOPROC")
        await slack.send(event)
        async with slack.http.post(
            f"http://127.0.0.1:{running.port}/slack/events",
            data=event.body.encode(),
            headers={"Content-Type": event.content_type, **fs.sign(event.body), "X-Slack-Retry-Num": "1"},
        ) as r:
            assert r.status == 200
        await slack.settle()
        await running.adapters["slack"].drain()  # type: ignore[attr-defined]
    finally:
        await running.stop()
        other.close()
    assert len(slack.fake.posts()) == 1 and await slack.count("practice") == 1


async def test_the_bots_own_and_other_bots_messages_are_ignored(slack: SlackWorld) -> None:
    await slack.send(fs.message("help", user=fs.BOT_USER))
    await slack.send(fs.message("help", user="U0OTHER", bot_id="B0OTHER"))
    await slack.settle()
    assert slack.fake.posts() == [] and slack.fake.called("chat.postEphemeral") == []


async def test_a_429_delays_the_post_and_loses_nothing(slack: SlackWorld) -> None:
    slack.fake.limit("chat.postMessage", times=1, retry_after=1)
    await slack.send(fs.message("resource areas"))
    await slack.settle()
    [refused] = slack.fake.refused
    [posted] = [c for c in slack.fake.calls if c.method == "chat.postMessage"]
    assert refused.method == "chat.postMessage" and posted.args == refused.args  # the same post, tried again
    assert (
        posted.seq > refused.seq and posted.at - refused.at >= 1
    )  # only after Retry-After, by the fake's clock
    assert slack.fake.rate_limited == 1


async def test_a_429_on_one_method_does_not_hold_up_another(slack: SlackWorld) -> None:
    """Slack limits each method on its own: while chat.postMessage waits out its Retry-After, a
    chat.getPermalink goes straight through, and the post still goes out once, after the wait."""
    messenger = slack.adapter.messenger
    slack.fake.limit("chat.postMessage", times=1, retry_after=3)
    post = asyncio.create_task(messenger.post("C0GENERAL", Reply("Held back")))
    while not slack.fake.refused:
        await asyncio.sleep(0.01)
    link = await messenger.permalink("C0GENERAL", "1700000000.000100")
    assert link and not post.done()  # answered while the post was still waiting
    await post
    [refused] = slack.fake.refused
    [permalink] = [c for c in slack.fake.calls if c.method == "chat.getPermalink"]
    [posted] = [c for c in slack.fake.calls if c.method == "chat.postMessage"]
    assert refused.seq < permalink.seq < posted.seq and posted.args == refused.args
    # by the fake's clock: the other method did not wait out the Retry-After, the post did
    assert permalink.at - refused.at < 3 <= posted.at - refused.at


async def test_the_members_slack_time_zone_is_used_until_they_choose_one(slack: SlackWorld) -> None:
    await slack.cop("me show", user="U0BOB", name="bob")
    assert "Europe/London (from your chat profile)" in slack.last_response()["text"]
    await slack.cop("me timezone Asia/Tokyo", user="U0BOB", name="bob")
    await slack.cop("me show", user="U0BOB", name="bob")
    assert "Asia/Tokyo" in slack.last_response()["text"]


# ---- modals, buttons, shortcuts --------------------------------------------------------------------------


def _opened_modal(slack: SlackWorld) -> dict[str, Any]:
    opened = slack.fake.called("views.open")
    assert opened, "no modal was opened"
    return opened[-1]["view"]


async def test_a_form_opens_as_a_modal_and_errors_show_beside_the_field(slack: SlackWorld) -> None:
    await slack.cop("practice share")
    modal = _opened_modal(slack)
    assert slack.fake.called("views.open")[-1]["trigger_id"]
    assert modal["type"] == "modal" and {b["block_id"] for b in modal["blocks"]} >= {
        "title",
        "what",
        "attribution",
    }
    values = {
        "title": fs.text_value("Budget town halls"),
        "what": fs.text_value("We moved hearings online."),
        "attribution": fs.select_value("role"),
        "role_description": fs.text_value(""),
    }
    status, body = await slack.send(fs.view_submission(modal, values))
    assert status == 200
    ack = json.loads(body)
    assert ack["response_action"] == "errors" and "role_description" in ack["errors"]
    assert await slack.count("practice") == 0
    values["role_description"] = fs.text_value("a budget director in a mid-size city")
    status, body = await slack.send(fs.view_submission(modal, values))
    assert status == 200 and body == ""
    await slack.settle()
    assert await slack.count("practice") == 1
    assert "Saved P1: Budget town halls" in slack.last_response()["text"]


async def test_save_as_practice_on_your_own_message_prefills_text_and_permalink(slack: SlackWorld) -> None:
    words = "We hold weekly budget office hours for department heads. Attendance doubled."
    await slack.send(fs.message_action(words, response_url=slack.fake.response_url()))
    await slack.settle()
    modal = _opened_modal(slack)
    blocks = {b["block_id"]: b for b in modal["blocks"]}
    assert blocks["what"]["element"]["initial_value"] == words
    assert (
        blocks["title"]["element"]["initial_value"]
        == "We hold weekly budget office hours for department heads"
    )
    assert "archives/C0GENERAL/p1700000400000500" in blocks["links"]["element"]["initial_value"]
    values = {
        "title": fs.text_value("Budget office hours"),
        "what": fs.text_value(words),
        "attribution": fs.select_value("named"),
        "links": fs.text_value(blocks["links"]["element"]["initial_value"]),
    }
    await slack.send(fs.view_submission(modal, values))
    await slack.settle()
    link = await slack.app.store.run(lambda s: s.execute(text("SELECT source_link FROM practice")).scalar())
    assert "archives/C0GENERAL/p1700000400000500" in link


async def test_save_as_practice_on_someone_elses_message_asks_the_author_first(slack: SlackWorld) -> None:
    words = "Bob's team publishes a one-page budget explainer with every proposal."
    await slack.send(fs.message_action(words, author="U0BOB", response_url=slack.fake.response_url()))
    await slack.settle()
    modal = _opened_modal(slack)
    assert modal["blocks"][0]["text"]["text"] == "*Author:* <@U0BOB>"  # shown, not editable
    blocks = {b["block_id"]: b for b in modal["blocks"] if "block_id" in b}
    assert "author" not in blocks and blocks["what"]["element"]["initial_value"] == words
    values = {
        b: fs.text_value(blocks[b]["element"].get("initial_value", "")) for b in ("title", "what", "link")
    }
    await slack.send(fs.view_submission(modal, values))
    await slack.settle()
    assert await slack.count("practice") == 0
    assert "Nothing is saved until they answer" in slack.last_response()["text"]
    await slack.run_until(slack.clock())
    dm = [p for p in slack.fake.posts() if p["channel"] == "D0BOB"]
    assert len(dm) == 1 and "<@U0ANA> would like to save what you wrote" in dm[0]["text"]  # a mention
    assert "This is proposal Q1" in dm[0]["text"] and "practice consent Q1 named" in dm[0]["text"]
    buttons = [e for b in dm[0]["blocks"] if b["type"] == "actions" for e in b["elements"]]
    consent = next(b["value"] for b in buttons if b["text"]["text"] == "Role only")
    await slack.send(
        fs.block_action(
            consent, user="U0BOB", name="bob", channel="D0BOB", response_url=slack.fake.response_url()
        )
    )
    await slack.settle()
    assert "--role-description is needed" in slack.fake.posts()[-1]["text"]
    anonymous = next(b["value"] for b in buttons if b["text"]["text"] == "Anonymous")
    await slack.send(fs.block_action(anonymous, user="U0BOB", name="bob", channel="D0BOB"))
    await slack.settle()
    attribution = await slack.app.store.run(
        lambda s: s.execute(text("SELECT attribution FROM practice")).scalar()
    )
    assert attribution == "anonymous"


async def test_rsvp_by_button(slack: SlackWorld) -> None:
    await slack.cop('network create "Chiefs of Staff"')
    await slack.cop("network join chiefs-of-staff", user="U0BOB", name="bob")
    await slack.cop(
        'convening schedule chiefs-of-staff --title "Spring convening" --start "2026-04-14 10:00" '
        "--duration 2h --tz America/New_York"
    )
    await slack.cop("convening show 1", user="U0BOB", name="bob")
    shown = slack.last_response()
    buttons = [e for b in shown["blocks"] if b["type"] == "actions" for e in b["elements"]]
    going = next(b for b in buttons if b["text"]["text"] == "Going")
    assert going["value"] == "convening rsvp 1 going"
    await slack.send(
        fs.block_action(going["value"], user="U0BOB", name="bob", response_url=slack.fake.response_url())
    )
    await slack.settle()
    answer = await slack.app.store.run(lambda s: s.execute(text("SELECT answer FROM rsvp")).scalar())
    assert answer == "going"
    assert slack.last_response()["response_type"] == "ephemeral"
    # times render in each reader's own zone, with a fallback in the asker's (Bob: London, from Slack)
    assert "GMT" in shown["text"] or "BST" in shown["text"]


async def test_a_button_of_a_closed_networks_convening_refuses_a_non_member(slack: SlackWorld) -> None:
    await slack.cop('network create "Cabinet" --policy invite')
    await slack.cop(
        'convening schedule cabinet --title "Budget cuts" --start "2026-04-14 10:00" --capacity 1 '
        '--place "Room 1" --tz America/New_York'
    )
    # A Going button from an earlier message (or a forwarded one), pressed by Bob, who is not in Cabinet.
    await slack.send(
        fs.block_action(
            "convening rsvp 1 going", user="U0BOB", name="bob", response_url=slack.fake.response_url()
        )
    )
    await slack.settle()
    refused = slack.last_response()
    assert refused["response_type"] == "ephemeral"
    assert "Cabinet is a closed network: only its members can answer its convenings" in refused["text"]
    assert "Room 1" not in json.dumps(refused) and await slack.count("rsvp") == 0


async def test_the_app_home_shows_the_members_overview_and_its_buttons_work(slack: SlackWorld) -> None:
    await slack.cop('network create "Chiefs of Staff"')
    await slack.cop("network join chiefs-of-staff")
    await slack.cop(
        'convening schedule chiefs-of-staff --title "Spring convening" --start "2026-04-14 10:00"'
    )
    await slack.send(fs.home_opened())
    await slack.settle()
    [published] = slack.fake.called("views.publish")
    assert published["user_id"] == "U0ANA" and published["view"]["type"] == "home"
    headers = [b["text"]["text"] for b in published["view"]["blocks"] if b["type"] == "header"]
    assert headers == [
        "Next open forum",
        "Your upcoming convenings",
        "Your networks",
        "Recent practices",
        "Suggested resources",
        "Your settings",
    ]
    assert "Spring convening" in json.dumps(published["view"]["blocks"])
    await slack.send(fs.home_action("convening rsvp 1 maybe"))
    await slack.settle()
    assert await slack.app.store.run(lambda s: s.execute(text("SELECT answer FROM rsvp")).scalar()) == "maybe"
    assert len(slack.fake.called("views.publish")) == 2
    assert "maybe" in json.dumps(slack.fake.called("views.publish")[-1]["view"]["blocks"]).lower()
    # the web pages are one press away: a one-time sign-in link comes by DM
    assert "Sign in on the web" in json.dumps(published["view"]["blocks"])
    await slack.send(fs.home_action("me web"))
    await slack.settle()
    dm = [
        c.args
        for c in slack.fake.calls
        if c.method == "chat.postMessage" and c.args.get("channel") == "D0ANA"
    ]
    assert dm and "/signin/" in json.dumps(dm[-1]), dm


async def test_the_global_shortcut_opens_the_practice_form(slack: SlackWorld) -> None:
    await slack.send(fs.global_shortcut())
    await slack.settle()
    assert _opened_modal(slack)["title"]["text"].startswith("Share a practice") or "what" in {
        b["block_id"] for b in _opened_modal(slack)["blocks"]
    }


# ---- features end to end through Slack ------------------------------------------------------------------

RULE = '"first Tuesday of every month, 12:00 to 13:00, America/New_York"'


async def test_a_forum_cycle_through_slack(slack: SlackWorld) -> None:
    await slack.cop(
        f"forum set --rule {RULE} --channel <#C0FORUM|open-forum> --announce-days 5 --facilitator <@U0BOB>"
    )
    assert "Tue 3 Mar 2026" in slack.last_response()["text"]
    await slack.cop("forum propose Onboarding a new mayor", user="U0BOB", name="bob")
    await slack.run_until(utc(2026, 3, 3, 17, 0))
    forum_posts = [p for p in slack.fake.posts() if p["channel"] == "C0FORUM"]
    assert len(forum_posts) == 4 and all(p["blocks"] and p["text"] for p in forum_posts)
    opened = forum_posts[-1]
    assert "Onboarding a new mayor" in forum_posts[0]["text"]
    assert "Facilitator: <@U0BOB>" in forum_posts[0]["text"]  # a mention, not the id U0BOB
    assert "<@U0BOB> is facilitating." in forum_posts[-1]["text"]
    thread_ts = next(c.args for c in slack.fake.calls if c.method == "chat.getPermalink")["message_ts"]
    # Bob replies in the thread, in Slack itself
    await slack.send(
        fs.message(
            "We paired each new director with a peer mentor.",
            user="U0BOB",
            channel="C0FORUM",
            channel_type="channel",
            ts="1700009999.000100",
            thread_ts=thread_ts,
        )
    )
    await slack.settle()
    assert await slack.count("forum_reply") == 1
    await slack.run_until(utc(2026, 3, 3, 19, 0))
    wrap = [p for p in slack.fake.posts() if p.get("thread_ts") == thread_ts and "Wrap-up" in p["text"]]
    assert len(wrap) == 1 and "Took part: 1 member." in wrap[0]["text"]
    invite = [p for p in slack.fake.posts() if p["channel"] == "D0BOB"]
    assert len(invite) == 1 and "Write it up" in json.dumps(invite[0]["blocks"])
    assert opened["text"]


async def test_a_resource_digest_through_slack(slack: SlackWorld) -> None:
    await slack.cop('resource digest --channel C0LEARN --rule "every Monday at 9:00" --count 3')
    await slack.run_until(utc(2026, 2, 23, 15, 0))
    [digest] = [p for p in slack.fake.posts() if p["channel"] == "C0LEARN"]
    sections = [b for b in digest["blocks"] if b["type"] == "section"]
    assert len(sections) >= 3 and digest["text"]


async def test_no_request_leaves_the_configured_base_url(
    slack: SlackWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    original = aiohttp.ClientSession._request

    async def recording(self: aiohttp.ClientSession, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(str(url))
        return await original(self, method, url, *args, **kwargs)

    monkeypatch.setattr(aiohttp.ClientSession, "_request", recording)
    await slack.cop("help")
    await slack.send(fs.message("resource areas"))
    await slack.send(fs.home_opened())
    await slack.cop("me data")
    await slack.settle()
    assert slack.fake.called("files.completeUploadExternal")  # `me data` arrives as a file in the DM
    outbound = [u for u in seen if not u.startswith(slack.url)]
    assert outbound and all(u.startswith(f"http://127.0.0.1:{slack.fake.port}/") for u in outbound), outbound
    assert slack.fake.unknown == []


async def test_the_messenger_posts_threads_and_dms(slack: SlackWorld) -> None:
    messenger = slack.adapter.messenger
    thread = await messenger.open_thread("C0FORUM", "Open forum", Reply("Forum opens"))
    assert thread.thread_id and thread.link and "archives/C0FORUM" in thread.link
    await messenger.reply_in_thread("C0FORUM", thread.thread_id, Reply("A reply"))
    await messenger.send_dm("U0BOB", Reply("Hello Bob"))
    posts = slack.fake.posts()
    assert posts[1]["thread_ts"] == thread.thread_id
    assert posts[2]["channel"] == "D0BOB" and slack.fake.called("conversations.open")[0]["users"] == "U0BOB"


async def test_a_members_dm_channel_is_opened_once_and_reused(slack: SlackWorld) -> None:
    messenger = slack.adapter.messenger
    for words in ("First", "Second", "Third"):
        await messenger.send_dm("U0BOB", Reply(words))
    await messenger.send_dm("U0CAROL", Reply("Hello Carol"))
    assert [a["users"] for a in slack.fake.called("conversations.open")] == ["U0BOB", "U0CAROL"]
    assert [(p["channel"], p["text"]) for p in slack.fake.posts()] == [
        ("D0BOB", "First"),
        ("D0BOB", "Second"),
        ("D0BOB", "Third"),
        ("D0CAROL", "Hello Carol"),
    ]


async def test_a_permanent_slack_error_is_not_retried_forever(slack: SlackWorld) -> None:
    from bot.messenger import DeliveryError

    slack.fake.users.clear()
    slack.fake._answer = lambda method, args: {"ok": False, "error": "channel_not_found"}  # type: ignore[method-assign]
    with pytest.raises(DeliveryError) as info:
        await slack.adapter.messenger.post("C0GONE", Reply("hi"))
    assert info.value.retryable is False and "channel_not_found" in str(info.value)


@pytest.mark.parametrize("demo", [False, True], ids=["real-clock", "demo-clock"])
async def test_copbot_run_with_a_slack_token_serves_slack_over_http(
    tmp_path: Path, database_url: str, demo: bool
) -> None:
    """The real entry point: `copbot run` with SLACK_* set starts Slack in HTTP mode on PORT; with --demo
    the demo clock is on there too (the `clock` commands exist only then)."""
    import os
    import signal
    import socket

    fake = await fs.FakeSlack().start()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("COPBOT_", "DATABASE_URL", "SLACK_", "DISCORD_"))
    }
    env.update(
        DATABASE_URL=database_url,
        COPBOT_DATA_DIR=str(tmp_path),
        HOST="127.0.0.1",
        PORT=str(port),
        SLACK_BOT_TOKEN=fs.BOT_TOKEN,
        SLACK_SIGNING_SECRET=fs.SIGNING_SECRET,
        SLACK_API_BASE_URL=fake.base_url,
        COPBOT_ADMINS="slack:U0ANA",
    )
    proc = await start_copbot("run", *(["--demo"] if demo else []), env=env, cwd=tmp_path)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                assert r.status == 200
            for n, line in enumerate(["help", "clock set 2029-06-15 09:00"], 1):
                request = fs.slash_command(line, response_url=fake.response_url())
                async with http.post(
                    f"http://127.0.0.1:{port}/slack/events",
                    data=request.body.encode(),
                    headers={"Content-Type": request.content_type, **fs.sign(request.body)},
                ) as r:
                    assert r.status == 200
                await fake.wait_for(lambda n=n: len(fake.responses) >= n, timeout=15)  # type: ignore[misc]
        assert "practice" in fake.responses[0]["text"]
        assert ("clock" in fake.responses[0]["text"]) is demo
        if demo:
            assert (
                fake.responses[1]["text"]
                == "Set the clock. It is now Fri 15 Jun 2029, 09:00 EDT. Posts sent: 0."
            )
        else:
            assert "exist only in a demo: start copbot with --demo" in fake.responses[1]["text"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
        await fake.stop()
    err = (await proc.stderr.read()).decode() if proc.stderr else ""
    assert fs.BOT_TOKEN not in err and fs.SIGNING_SECRET not in err


async def test_socket_mode_takes_the_same_requests_and_ignores_a_retried_event(
    tmp_path: Path, sqlite_url: str
) -> None:
    """With SLACK_APP_TOKEN the app connects over Socket Mode (apps.connections.open, through the base URL)."""
    fake = await fs.FakeSlack().start()
    settings = load_settings(
        _env_file=None,
        database_url=sqlite_url,
        data_dir=tmp_path,
        slack_bot_token=fs.BOT_TOKEN,
        slack_app_token="xapp-test",
        slack_api_base_url=fake.base_url,
    )
    app = build_app(settings)
    running = await start_platforms(app)
    try:
        assert running.http is None  # Socket Mode needs no public address
        await asyncio.wait_for(fake.socket_connected.wait(), 10)
        command = dict(parse_qsl(fs.slash_command("help", response_url=fake.response_url()).body))
        envelope = await fake.push("slash_commands", command)
        await fake.wait_for(lambda: fake.responses, timeout=10)
        assert "practice" in fake.responses[0]["text"]
        assert any(a.get("envelope_id") == envelope for a in fake.socket_acks)
        event = json.loads(
            fs.message("practice share --title Sock --what W --attribution named", event_id="Ev0SOCKET").body
        )
        await fake.push("events_api", event)
        await fake.push("events_api", event, retry_attempt=1)
        await fake.wait_for(lambda: len(fake.socket_acks) >= 3, timeout=10)
        await running.adapters["slack"].drain()  # type: ignore[attr-defined]
        assert len(fake.posts()) == 1 and "Saved P1" in fake.posts()[0]["text"]
        assert fake.called("apps.connections.open")
    finally:
        await running.stop()
        app.close()
        await fake.stop()


async def test_when_a_modal_cannot_be_opened_in_time_a_button_opens_it_later(slack: SlackWorld) -> None:
    answer = slack.fake._answer
    slack.fake._answer = lambda method, args: (  # type: ignore[method-assign]
        {"ok": False, "error": "expired_trigger_id"} if method == "views.open" else answer(method, args)
    )
    await slack.cop("practice share")
    shown = slack.last_response()
    buttons = [e for b in shown["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["value"] for b in buttons] == ["practice share"] and "Open the form" in buttons[0]["text"][
        "text"
    ]


async def test_everyday_sentences_with_apostrophes_work_in_slash_cop(slack: SlackWorld) -> None:
    from tests import everyday

    await slack.cop(f"forum set --rule {RULE} --channel <#C0FORUM|open-forum>")
    await slack.cop(
        'practice share --title "Office hours" --what "Weekly, for department heads." --attribution named',
        user="U0BOB",
        name="bob",
    )
    await slack.run_until(utc(2026, 3, 3, 17, 0))  # the forum thread is open
    for line, answer in zip(everyday.LINES, everyday.ANSWERS):
        await slack.cop(line)
        assert slack.last_response()["text"].startswith(answer), (line, slack.last_response()["text"])
    assert await everyday.stored(slack.app) == everyday.STORED
    await slack.cop("forum propose R&amp;D budgets &lt;2% &amp;amp; no &gt; signs")  # as Slack sends & < >
    assert (await everyday.stored(slack.app))["topic"][-1] == "R&D budgets <2% &amp; no > signs"


async def test_an_unknown_command_reads_the_same_in_slash_cop_a_mention_and_a_dm(slack: SlackWorld) -> None:
    from tests.test_messages_read_well import UNKNOWN

    await slack.cop("practice serch budget")
    assert slack.last_response()["text"] == UNKNOWN
    await slack.send(fs.app_mention(f"<@{fs.BOT_USER}> practice serch budget"))
    await slack.send(fs.message("practice serch budget"))
    await slack.settle()
    [ephemeral] = slack.fake.called("chat.postEphemeral")
    [dm] = slack.fake.posts()
    assert ephemeral["text"] == UNKNOWN and dm["text"] == UNKNOWN


async def test_a_member_named_in_a_reply_is_a_slack_mention_not_their_id(slack: SlackWorld) -> None:
    await slack.cop('practice propose <@U0BOB> --title "Budget explainer" --what "One page per proposal."')
    answer = slack.last_response()
    assert answer["text"].startswith("Asked <@U0BOB> whether it may be saved")  # Slack shows @Bob
    assert "<@U0BOB>" in answer["blocks"][0]["text"]["text"]
    await slack.cop("role grant <@U0BOB> coordinator")
    assert slack.last_response()["text"].startswith("<@U0BOB> is now coordinator")
