"""Sending at the platform's rate: the Slack messenger against the fake Web API on 127.0.0.1 (real HTTP), and
the Discord messenger's client against the fake Discord with a sustained limit. What is checked is what a
member would see: every DM arrives exactly once, a 429 on one method holds back no other, and a member's DM
channel is opened once. No wall-clock durations are asserted; the fake's own arrival times order events.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import aiohttp
import pytest

from adapters.ratelimit import RateLimiter
from adapters.slack.messenger import SlackMessenger, web_client
from bot.messages import Reply
from tests import fake_slack as fs


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
