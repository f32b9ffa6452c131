"""After a convening (issue 4, section 8): attendance marked or checked in within the window, notes, one
commitment with follow-ups at 30, 60 and 90 days through the scheduler, an answer shared as a practice
with the member's attribution, and an attendance export with only the members who agreed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bot.config import Settings
from tests.convening_world import ConvBot, digital_leaders
from tests.convening_world import schedule as _schedule

STARTS = datetime(2027, 3, 14, 15, 0, tzinfo=UTC)  # 10:00 CDT, 90 minutes long
ENDS = STARTS + timedelta(minutes=90)
FOLLOW = "you said you would try"


@pytest.fixture
async def cb(settings: Settings) -> AsyncIterator[ConvBot]:
    async with digital_leaders(settings, zones=False) as bot:
        yield bot


def follow_ups(cb: ConvBot, who: str) -> list[str]:
    return [t for t in cb.dms(who) if FOLLOW in t]


async def _commitment(cb: ConvBot, cid: int, who: str, text: str) -> int:
    reply = await cb.ok(f"after commit {cid} {text}", who)
    return int(reply.text.split("Commitment ")[1].split(" ")[0])


async def test_attendance_is_marked_and_check_in_only_in_its_window(cb: ConvBot) -> None:
    cid = await _schedule(cb)
    assert "has not started yet" in await cb.fails(f"after attend {cid} @ana", "cora")
    assert "Check-in for Budget season is open" in await cb.fails(f"after checkin {cid}", "ana")
    cb.clock.set(STARTS - timedelta(minutes=15, seconds=1))
    assert "Check-in" in await cb.fails(f"after checkin {cid}", "ana")
    assert await cb.count("convening_attendance") == 0
    cb.clock.set(STARTS - timedelta(minutes=15))
    assert "You are checked in to Budget season" in (await cb.ok(f"after checkin {cid}", "ana")).text
    assert "already recorded" in (await cb.ok(f"after checkin {cid}", "ana")).text
    cb.clock.set(ENDS)
    await cb.ok(f"after checkin {cid}", "leo")
    cb.clock.set(ENDS + timedelta(seconds=1))
    assert "Check-in" in await cb.fails(f"after checkin {cid}", "bob")
    reply = await cb.ok(f"after attend {cid} @bob @ana", "cora")
    assert "Marked as attending Budget season: Bob. 1 already were." == reply.text
    assert await cb.count("convening_attendance") == 3
    await cb.run_until(cb.clock())
    assert any("What will you try? after commit" in t for t in cb.dms("bob")) and cb.dms("ana") == []


async def test_follow_ups_arrive_once_at_30_60_90_days_and_stop_when_dropped(cb: ConvBot) -> None:
    cid = await _schedule(cb)
    cb.clock.set(STARTS + timedelta(minutes=30))
    await cb.ok(f"after checkin {cid}", "ana")
    await cb.ok(f"after checkin {cid}", "leo")
    made = cb.clock()
    await cb.ok(f"after note {cid} Ask Cora for the hearing template", "ana")
    ana = await _commitment(cb, cid, "ana", "Run our budget hearing as a listening session")
    leo = await _commitment(cb, cid, "leo", "Publish the budget in plain language")
    await cb.run_until(made + timedelta(days=30) - timedelta(seconds=1))
    assert follow_ups(cb, "ana") == [] and follow_ups(cb, "leo") == []
    await cb.run_until(made + timedelta(days=30))
    [first] = follow_ups(cb, "ana")
    assert "30 days ago, after Budget season" in first and "listening session" in first
    dm = next(s.reply for s in cb.messenger.sent if s.target == "ana" and FOLLOW in s.reply.text)
    assert [c.label for c in dm.choices] == ["It worked", "Still trying", "Dropped it"]
    assert dm.choices[2].command == f"after answer {ana} Dropped it"
    assert len(follow_ups(cb, "leo")) == 1
    assert "no more follow-ups" in (await cb.ok(f"after answer {leo} Dropped it", "leo")).text
    await cb.ok(f"after answer {ana} Still trying", "ana")
    await cb.run_until(made + timedelta(days=60) - timedelta(seconds=1))
    assert len(follow_ups(cb, "ana")) == 1
    await cb.run_until(made + timedelta(days=60))
    assert len(follow_ups(cb, "ana")) == 2 and "60 days ago" in follow_ups(cb, "ana")[1]
    await cb.run_until(made + timedelta(days=120))
    for _ in range(2):
        await cb.app.scheduler.tick()
    assert [t.split(" ")[0] for t in follow_ups(cb, "ana")] == ["30", "60", "90"]
    assert len(follow_ups(cb, "leo")) == 1  # dropped after the first


async def test_an_answer_becomes_a_practice_with_the_members_attribution(cb: ConvBot) -> None:
    cid = await _schedule(cb)
    cb.clock.set(STARTS)
    await cb.ok(f"after checkin {cid}", "ana")
    ana = await _commitment(cb, cid, "ana", "Run our budget hearing as a listening session")
    assert "Say how it went first" in await cb.fails(f"after share {ana} --attribution named", "ana")
    await cb.run_until(STARTS + timedelta(days=31))
    reply = await cb.ok(f"after answer {ana} Turnout doubled and residents named three priorities", "ana")
    assert "30-day answer" in reply.text
    assert "Missing --attribution" in await cb.fails(f"after share {ana}", "ana")
    assert "--role-description is needed" in await cb.fails(f"after share {ana} --attribution role", "ana")
    assert "Only the member who made" in await cb.fails(f"after share {ana} --attribution named", "leo")
    assert await cb.count("practice") == 0
    reply = await cb.ok(f'after share {ana} --attribution role --role-description "a budget director"', "ana")
    assert "Credited as: a budget director" in reply.text
    assert "already shared" in await cb.fails(f"after share {ana} --attribution named", "ana")
    found = await cb.ok("practice search listening turnout", "bob")
    [item] = found.items
    assert item.title == "Run our budget hearing as a listening session"
    shown = str(found.items) + found.text
    assert "a budget director" in shown and "Ana" not in shown


async def test_the_export_lists_only_attendees_who_agreed(cb: ConvBot) -> None:
    cid = await _schedule(cb)
    cb.clock.set(STARTS)
    await cb.ok(f"after attend {cid} @ana @leo @bob", "cora")
    await cb.ok(f"after consent {cid} yes", "ana")
    await cb.ok(f"after consent {cid} yes", "leo")
    await cb.ok(f"after consent {cid} no", "leo")  # changed their mind
    assert "not recorded as attending" in await cb.fails(f"after consent {cid} yes", "cy")
    reply = await cb.ok(f"after export {cid} --format csv", "cora")
    assert "1 listed, 2 attended and chose not to be listed" in reply.text
    [attachment] = reply.attachments
    assert attachment.mime_type == "text/csv"
    content = attachment.content.decode()
    assert content.splitlines()[0] == "name,how,recorded_at" and "Ana,marked," in content
    assert "Leo" not in content and "Bob" not in content
    text = (await cb.ok(f"after export {cid}", "cora")).attachments[0].content.decode()
    assert "- Ana (marked)" in text and "2 more attended" in text and "Leo" not in text
    assert "Only the coordinators" in await cb.fails(f"after export {cid}", "ana")


async def test_bad_input_changes_nothing(cb: ConvBot) -> None:
    cid = await _schedule(cb)
    cb.clock.set(STARTS)
    await cb.ok(f"after checkin {cid}", "ana")
    first = await _commitment(cb, cid, "ana", "Try one thing")
    before = (
        await cb.count("convening_attendance"),
        await cb.count("commitment"),
        await cb.count("planned_post"),
        await cb.count("convening_note"),
    )
    assert "already made your commitment" in await cb.fails(f"after commit {cid} Another thing", "ana")
    assert "Only the coordinators" in await cb.fails(f"after attend {cid} @leo", "ana")
    assert "not recorded as attending" in await cb.fails(f"after commit {cid} Sneak in", "leo")
    assert "not recorded as attending" in await cb.fails(f"after note {cid} hello", "leo")
    for command in (
        "after attend 99 @leo",
        "after checkin 99",
        "after commit 99 x",
        "after note 99 x",
        "after export 99",
        "after consent 99 yes",
    ):
        assert "There is no convening 99" in await cb.fails(command, "cora" if "attend" in command else "ana")
    assert "There is no commitment 99" in await cb.fails("after answer 99 It worked", "ana")
    assert "Only the member who made" in await cb.fails(f"after answer {first} It worked", "leo")
    cb.clock.set(ENDS + timedelta(minutes=1))
    assert "Check-in" in await cb.fails(f"after checkin {cid}", "leo")
    later = await _schedule_later(cb)
    await cb.ok(f"convening cancel {later}", "cora")
    cb.clock.set(datetime(2027, 4, 20, 15, 0, tzinfo=UTC))
    assert "was cancelled" in await cb.fails(f"after checkin {later}", "leo")
    after = (
        await cb.count("convening_attendance"),
        await cb.count("commitment"),
        await cb.count("planned_post"),
        await cb.count("convening_note"),
    )
    assert after[:2] == before[:2] and after[3] == before[3]
    assert await cb.count("commitment_answer") == 0


async def _schedule_later(cb: ConvBot) -> int:
    reply = await cb.ok(
        'convening schedule digital-leaders --title "Later" --start "April 20 2027 10:00 Central"', "cora"
    )
    return int(reply.text.split("convening ")[1].split(" ")[0])


async def test_follow_ups_respect_reminders_off_and_quiet_hours(cb: ConvBot) -> None:
    cid = await _schedule(cb)
    cb.clock.set(STARTS + timedelta(minutes=30))  # 15:30 UTC
    for who in ("ana", "leo", "bob"):
        await cb.ok(f"after checkin {cid}", who)
    await cb.ok("me reminders off", "leo")
    await cb.ok("me quiet-hours 10:00-14:00", "bob")  # the community's zone (New York): 11:30 EDT now
    await _commitment(cb, cid, "ana", "Publish the budget in plain language")
    await _commitment(cb, cid, "leo", "Hold a listening session")
    await _commitment(cb, cid, "bob", "Try zero-based budgeting")
    made = cb.clock()
    await cb.run_until(made + timedelta(days=30))
    assert len(follow_ups(cb, "ana")) == 1 and follow_ups(cb, "leo") == [] and follow_ups(cb, "bob") == []
    # Bob's quiet hours end at 14:00 New York time (18:00 UTC), the day it was due.
    await cb.run_until(datetime(2027, 4, 13, 17, 59, tzinfo=UTC))
    assert follow_ups(cb, "bob") == []
    await cb.run_until(datetime(2027, 4, 13, 18, 0, tzinfo=UTC))
    assert len(follow_ups(cb, "bob")) == 1
    # Ana sets quiet hours after committing: her 60-day follow-up, planned before, waits until they end.
    await cb.ok("me quiet-hours 10:00-13:00", "ana")  # New York; the follow-up is due at 11:30 there
    await cb.run_until(made + timedelta(days=60))
    assert len(follow_ups(cb, "ana")) == 1
    await cb.run_until(datetime(2027, 5, 13, 17, 0, tzinfo=UTC))  # 13:00 New York
    assert len(follow_ups(cb, "ana")) == 2
    # Waiting for quiet hours to end is not a failed try.
    post = await cb.app.store.run(
        lambda s: s.execute(
            text("SELECT state, attempts FROM planned_post WHERE key = 'commitment:1:60'")
        ).one()
    )
    assert tuple(post) == ("sent", 1)
    for _ in range(2):
        await cb.app.scheduler.tick()
    assert len(follow_ups(cb, "ana")) == 2 and follow_ups(cb, "leo") == []


async def test_the_thanks_after_attending_waits_for_the_end_of_quiet_hours(cb: ConvBot) -> None:
    cid = await _schedule(cb)
    await cb.ok("me quiet-hours 09:00-12:00", "bob")  # New York: the convening runs 11:00-12:30 there
    cb.clock.set(STARTS)
    await cb.ok(f"after attend {cid} @bob", "cora")
    await cb.run_until(STARTS + timedelta(minutes=59))
    assert not any("Thanks for coming" in t for t in cb.dms("bob"))
    await cb.run_until(STARTS + timedelta(hours=1))  # 12:00 New York
    assert sum("Thanks for coming" in t for t in cb.dms("bob")) == 1
