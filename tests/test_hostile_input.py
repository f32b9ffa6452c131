"""Input no member should send, on both databases: numbers beyond what the database can hold, and control
characters (NUL above all, which PostgreSQL cannot store in text). Each gets a clear message naming the
field, never "something went wrong", and nothing is half written."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.app import build_app
from bot.config import Settings
from bot.messages import Member, Place
from tests.fakes import FakeClock, RecordingMessenger
from tests.harness import ClockedHarness, Harness

HUGE_IDS = {
    "practice show P99999999999999999999": "PRACTICE_ID: must be at most 2147483647",
    "practice endorse 9223372036854775808 nice": "PRACTICE_ID: must be at most 2147483647",
    "convening show 9223372036854775808": "CONVENING: must be at most 2147483647",
    # 3000000000 fits SQLite's INTEGER, not PostgreSQL's
    "convening show 3000000000": "CONVENING: must be at most 2147483647",
    "convening rsvp 99999999999999999999999999 going": "CONVENING: must be at most 2147483647",
    "resource show L99999999999999999999": "RESOURCE: 'L99999999999999999999' is not a resource id",
    "forum capture R99999999999999": "REPLY: must be at most 2147483647",
    "forum consent C99999999999 named": "REQUEST: must be at most 2147483647",
    "datepoll show 99999999999999": "POLL: must be at most 2147483647",
    "schedule retry 99999999999999999999": "POST: must be at most 2147483647",
    "practice consent Q3000000000 no": "PROPOSAL: must be at most 2147483647",
}


@pytest.mark.parametrize("line", list(HUGE_IDS))
async def test_an_id_beyond_the_database_is_refused_naming_it(bot: Harness, line: str) -> None:
    assert (await bot.fails(line)).startswith(HUGE_IDS[line])


async def test_a_huge_negative_number_is_refused_too(bot: Harness) -> None:
    assert "CONVENING: must be at least 1" in await bot.fails("convening show -9223372036854775809")


@pytest.mark.parametrize("character", ["\x00", "\x1b", "\x7f", "\x85", "\ud800"])
async def test_a_control_character_in_text_is_refused_naming_the_field(bot: Harness, character: str) -> None:
    line = f'practice share --title "Night{character}markets" --what "W" --attribution named'
    message = await bot.fails(line, "ana")
    assert message.startswith("--title contains a control character (U+") and "tabs are fine" in message
    assert await bot.count("practice") == 0 and await bot.count("member") == 0  # nothing is half written
    reply = await bot.submit(
        "practice share",
        {"title": "Night markets", "what": f"We{character}did it", "attribution": "named"},
        "ana",
    )
    assert reply.is_error and reply.error_field == "what" and "went wrong" not in reply.text
    assert "not a member mention" not in await bot.fails(f"role grant console:ev{character}e coordinator")
    assert await bot.count("practice") == 0 and await bot.count("role_grant") == 0


async def test_line_breaks_and_tabs_are_kept_and_windows_line_breaks_made_plain(bot: Harness) -> None:
    reply = await bot.submit(
        "practice share",
        {"title": "Night markets", "what": "First\r\nthen\tafter", "attribution": "named"},
        "ana",
    )
    assert not reply.is_error, reply.text
    assert "First\nthen\tafter" in (await bot.ok("practice show P1")).text


async def test_a_display_name_with_a_control_character_is_stored_without_it(bot: Harness) -> None:
    eve = Member("console", "eve", "Eve\x00 Evans\x1b")
    await bot.ok('practice share --title "Night markets" --what "W" --attribution named', eve)
    assert ("Shared by", "Eve Evans") in (await bot.ok("practice show P1")).fields


async def test_a_thread_message_is_kept_without_its_control_characters(settings: Settings) -> None:
    clock = FakeClock(datetime(2026, 2, 20, 15, 0, tzinfo=UTC))
    app = build_app(settings, clock=clock)
    messenger = RecordingMessenger()
    app.add_messenger(messenger)
    fb = ClockedHarness(app, clock, messenger)
    try:
        await fb.ok(
            'forum set --rule "first Tuesday of every month, 12:00 to 13:00, America/New_York" '
            "--channel forum"
        )
        await fb.run_until(datetime(2026, 3, 3, 17, 0, tzinfo=UTC))
        [thread] = [s for s in messenger.sent if s.kind == "thread"]
        place = Place("console", "forum", thread.thread_id)
        assert await app.heard(Member("console", "bob", "Bob"), place, "Shared\x00 permit desk\x07", None)
        data = json.loads((await fb.ok("me data", "bob")).attachments[0].content)
        assert [r["text"] for r in data["forum"]["replies"]] == ["Shared permit desk"]
    finally:
        app.close()
