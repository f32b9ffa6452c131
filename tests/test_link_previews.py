"""Link previews: a link to one of copbot's pages pasted in Slack unfurls (`link_shared` → `chat.unfurl`)
into a card that credits as the author chose and shows a channel nothing some of its readers may not see.

Signed HTTP to the real app, the fake Slack Web API recording every call, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests import fake_slack as fs
from tests.test_slack_adapter import SlackWorld, slack_world


@pytest.fixture
async def slack(database_url: str, tmp_path: Path) -> AsyncIterator[SlackWorld]:
    async with slack_world(database_url, tmp_path) as world:
        await world.cop(
            'practice share --title "Budget town halls" --what "We moved budget hearings online and turnout '
            'tripled." --attribution named --tags budgeting'
        )
        await world.cop(
            'practice share --title "Quiet cuts" --what "Every department drafted a scenario first." '
            "--attribution anonymous",
            user="U0BOB",
            name="bob",
        )
        await world.cop('network create "Digital Leaders"')
        await world.cop('network create "Cabinet" --policy invite')
        for network, title in (("digital-leaders", "Budget season"), ("cabinet", "Secret reshuffle")):
            await world.cop(
                f'convening schedule {network} --title "{title}" --start "March 14 2026 10:00 Central" '
                f"--place https://meet.example/{network}"
            )
        world.fake.calls.clear()
        yield world


def page(slack: SlackWorld, path: str) -> str:
    return f"http://127.0.0.1:{slack.running.port}{path}"


async def unfurled(slack: SlackWorld, urls: list[str], **event: Any) -> dict[str, Any]:
    """What copbot unfurled for a message carrying `urls` (an empty dict when it called nothing)."""
    before = len(slack.fake.called("chat.unfurl"))
    status, _ = await slack.send(fs.link_shared(urls, **event))
    assert status == 200
    await slack.settle()
    calls = slack.fake.called("chat.unfurl")[before:]
    assert len(calls) <= 1
    if not calls:
        return {}
    found = calls[0]["unfurls"]
    return json.loads(found) if isinstance(found, str) else found


def card_text(card: dict[str, Any]) -> str:
    return json.dumps(card["blocks"], ensure_ascii=False)


async def test_a_practice_link_unfurls_with_its_title_excerpt_and_credit(slack: SlackWorld) -> None:
    url = page(slack, "/practices/1")
    cards = await unfurled(slack, [url])
    text = card_text(cards[url])
    assert "Budget town halls" in text and "turnout tripled" in text and "Ana" in text
    call = slack.fake.called("chat.unfurl")[-1]
    assert call["channel"] == "C0GENERAL" and call["ts"] == "1700000300.000100"


async def test_an_anonymous_practice_unfurls_without_its_author(slack: SlackWorld) -> None:
    url = page(slack, "/practices/2")
    text = card_text((await unfurled(slack, [url]))[url])
    assert "Quiet cuts" in text and "Chatham House" in text
    assert "Bob" not in text and "U0BOB" not in text


async def test_a_closed_networks_convening_does_not_unfurl_and_an_open_ones_does(slack: SlackWorld) -> None:
    open_url, closed_url = page(slack, "/convenings/1"), page(slack, "/convenings/2")
    cards = await unfurled(slack, [open_url, closed_url])
    assert list(cards) == [open_url]
    text = card_text(cards[open_url])
    assert "Budget season" in text and "<!date^" in text  # each reader sees the time in their own zone
    assert "Secret reshuffle" not in json.dumps(slack.fake.called("chat.unfurl"))


async def test_links_elsewhere_unknown_or_retired_do_not_unfurl(slack: SlackWorld) -> None:
    await slack.cop("practice retire P1")
    slack.fake.calls.clear()
    urls = [
        "https://example.org/practices/2",
        page(slack, "/practices/99"),
        page(slack, "/practices/1"),
        page(slack, "/practices/2?x=1"),
        page(slack, "/me"),
    ]
    assert await unfurled(slack, urls) == {}
    assert slack.fake.called("chat.unfurl") == []


async def test_a_replayed_event_unfurls_once(slack: SlackWorld) -> None:
    url = page(slack, "/practices/1")
    assert await unfurled(slack, [url], event_id="Ev0LINK1")
    assert await unfurled(slack, [url], event_id="Ev0LINK1") == {}
    assert len(slack.fake.called("chat.unfurl")) == 1
