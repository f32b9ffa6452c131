"""Sending at the platform's rate: the Slack messenger against the fake Web API on 127.0.0.1 (real HTTP), and
the Discord messenger's client against the fake Discord with a sustained limit. What is checked is what a
member would see: every DM arrives exactly once, a 429 on one method holds back no other, and a member's DM
channel is opened once. No wall-clock durations are asserted; the fake's own arrival times order events.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.discord.adapter import DiscordAdapter
from adapters.ratelimit import RateLimiter
from adapters.slack.messenger import SlackMessenger, web_client
from bot.app import build_app
from bot.config import load_settings
from bot.messages import Reply
from tests import fake_slack as fs
from tests.fake_discord import FakeDiscord
from tests.fake_discord_payloads import FakeUser, snowflake


async def _utc(_: str) -> str:
    return "UTC"


@pytest.fixture
async def slack() -> AsyncIterator[tuple[fs.FakeSlack, SlackMessenger]]:
    fake = await fs.FakeSlack().start()
    async with aiohttp.ClientSession() as session:
        limiter = RateLimiter()
        client = web_client(fs.BOT_TOKEN, fake.base_url, limiter, session)
        yield fake, SlackMessenger(client, limiter, "UTC", _utc)
    await fake.stop()


async def test_retry_after_on_one_method_holds_back_no_other(
    slack: tuple[fs.FakeSlack, SlackMessenger],
) -> None:
    fake, messenger = slack
    fake.limit("chat.postMessage", times=1, retry_after=2)
    post = asyncio.ensure_future(messenger.post("C0GENERAL", Reply("The agenda is up.")))
    await fake.wait_for(lambda: fake.refused)
    channel = await messenger.dm_channel("U0BEN")  # another method, while chat.postMessage waits
    assert channel and not post.done()
    await post
    [refused] = fake.refused
    [opened] = [c for c in fake.calls if c.method == "conversations.open"]
    [posted] = [c for c in fake.calls if c.method == "chat.postMessage"]
    assert posted.args["text"] == refused.args["text"] == "The agenda is up."
    assert refused.at < opened.at < posted.at  # the open went through inside the post's Retry-After
    assert posted.at - refused.at >= 2  # and the post waited out its Retry-After (by the fake's clock)


async def test_no_dm_lost_or_doubled_under_sustained_429s_and_one_open_per_member(
    slack: tuple[fs.FakeSlack, SlackMessenger],
) -> None:
    fake, messenger = slack
    fake.limit_sustained("chat.postMessage", per_window=15)
    fake.limit_sustained("conversations.open", per_window=10)
    members = [f"U{n:07d}" for n in range(20)]
    sends = [messenger.send_dm(m, Reply(f"Reminder {k} for {m}")) for k in (1, 2) for m in members]
    posted = await asyncio.gather(*sends)
    assert fake.rate_limited > 0  # the limit was really hit
    texts = Counter(str(p["text"]) for p in fake.posts())
    assert texts == Counter(f"Reminder {k} for {m}" for k in (1, 2) for m in members)  # none lost, none twice
    opened = Counter(str(a["users"]) for a in fake.called("conversations.open"))
    assert opened == Counter(members)  # one conversations.open per member, though two DMs each went at once
    assert {p.channel_id for p in posted} == {"D" + m.lstrip("U") for m in members}


# ---- Discord ---------------------------------------------------------------------------------------------


@pytest.fixture
async def discord_adapter(
    request: pytest.FixtureRequest, sqlite_url: str, tmp_path: Path
) -> AsyncIterator[tuple[FakeDiscord, Any]]:
    """The adapter against the fake; a test may give DISCORD_REQUESTS_PER_SECOND as the fixture's param."""
    per_second = getattr(request, "param", 50)
    async with FakeDiscord() as fake:
        settings = load_settings(
            _env_file=None,
            discord_requests_per_second=per_second,
            database_url=sqlite_url,
            data_dir=tmp_path / "data",
            admins="console:root",
            discord_token=fake.token,
            discord_guild_ids=str(fake.guild_id),
            discord_api_base_url=fake.api_base,
            discord_gateway_url=fake.gateway_url,
        )
        app = build_app(settings)
        adapter = DiscordAdapter(app, guild_ready_timeout=0.05)
        try:
            await adapter.start()
            yield fake, adapter
        finally:
            await adapter.stop()
            app.close()
        assert fake.server_errors == []


async def test_discord_dms_under_a_sustained_limit_arrive_once_with_one_dm_channel_each(
    discord_adapter: tuple[FakeDiscord, Any],
) -> None:
    fake, adapter = discord_adapter
    members = [FakeUser(snowflake(), f"member{n}") for n in range(20)]
    fake.users.update({u.id: u for u in members})
    fake.limit_sustained(12)  # Discord's global limit, scaled down: 429s with retry_after, no warning
    fake.limit_sustained(8, method="POST", path="/users/@me/channels")  # a route's bucket, with headers
    sends = [
        adapter.messenger.send_dm(str(u.id), Reply(f"Reminder {k} for {u.username}"))
        for k in (1, 2)
        for u in members
    ]
    await asyncio.gather(*sends)
    assert fake.rate_limited > 0  # the limit was really hit
    answered = [c for c in fake.calls_to("POST", "/channels/{id}/messages") if c.status == 200]
    texts = Counter(str(c.json["content"]) for c in answered)
    assert texts == Counter(f"Reminder {k} for {u.username}" for k in (1, 2) for u in members)
    made = [c for c in fake.calls_to("POST", "/users/@me/channels") if c.status == 200]
    assert Counter(str(c.json["recipient_id"]) for c in made) == Counter(str(u.id) for u in members)


async def test_discord_retry_after_on_one_channel_holds_back_no_other(
    discord_adapter: tuple[FakeDiscord, Any],
) -> None:
    fake, adapter = discord_adapter
    waiting, other = fake.text_channel.id, fake.reminder_channel.id
    fake.fail_next("POST", f"/channels/{waiting}/messages", retry_after=2)
    first = asyncio.ensure_future(adapter.messenger.post(str(waiting), Reply("The agenda is up.")))
    await fake.wait_for_call("POST", f"/channels/{waiting}/messages")
    await adapter.messenger.post(str(other), Reply("Doors open at nine."))
    assert not first.done()  # the other channel's post went while this one waited out its Retry-After
    await first
    posts = [c for c in fake.calls if c.method == "POST" and c.path.endswith("/messages")]
    assert [(c.path, c.status) for c in posts] == [
        (f"/channels/{waiting}/messages", 429),
        (f"/channels/{other}/messages", 200),
        (f"/channels/{waiting}/messages", 200),
    ]


@pytest.mark.parametrize("discord_adapter", [8], indirect=True)
async def test_discord_fan_out_keeps_to_the_global_limit_without_one_refusal(
    discord_adapter: tuple[FakeDiscord, Any],
) -> None:
    """discord.py alone learns the global limit only from 429s (the test above); with the bot's limit
    known, every request waits for its slot and Discord never has to refuse one."""
    fake, adapter = discord_adapter
    members = [FakeUser(snowflake(), f"member{n}") for n in range(10)]
    fake.users.update({u.id: u for u in members})
    fake.limit_sustained(10)  # the global limit; the bot keeps to 8 a second (20 requests here)
    await asyncio.gather(
        *(adapter.messenger.send_dm(str(u.id), Reply(f"Hello {u.username}")) for u in members)
    )
    assert fake.rate_limited == 0
    for u in members:
        assert [d["content"] for d in fake.dm_messages(u)] == [f"Hello {u.username}"]


@pytest.mark.parametrize("discord_adapter", [1], indirect=True)
async def test_a_members_command_is_answered_ahead_of_a_queued_fan_out(
    discord_adapter: tuple[FakeDiscord, Any],
) -> None:
    """Interaction answers are not bound by the global limit: a slash command is answered while a fan-out
    waits for its slots (one a second here), not after it."""
    fake, adapter = discord_adapter
    members = [FakeUser(snowflake(), f"member{n}") for n in range(8)]
    fake.users.update({u.id: u for u in members})
    sends = [asyncio.ensure_future(adapter.messenger.send_dm(str(u.id), Reply("Reminder"))) for u in members]
    try:
        await fake.wait_for_call("POST", "/users/@me/channels")  # the fan-out is under way
        iid = await fake.send_interaction(fake.slash_command("help"))
        [reply] = await fake.wait_for_replies(iid, 1, timeout=10)
        assert (reply.content or "").startswith("Commands you can use")
        opened = [c for c in fake.calls_to("POST", "/users/@me/channels") if c.status == 200]
        assert len(opened) < 4  # paced behind the 8 opens it would have come after the last of them
    finally:
        for send in sends:
            send.cancel()
        await asyncio.gather(*sends, return_exceptions=True)
