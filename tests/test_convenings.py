"""Convenings end to end: time zones across a DST change, RSVPs with a waitlist, reminders through the
scheduler (quiet hours and opt-outs), moves and cancellations, calendar files and feeds, bad input."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC

import pytest
from icalendar import Calendar
from sqlalchemy import text

from bot.config import Settings
from bot.members.dm_prefs import quiet_shift
from bot.messages import Incoming
from scheduling.convenings import calendar as cal
from scheduling.convenings import service as svc
from tests.convening_world import START, STARTS_UTC, ConvBot, digital_leaders, utc
from tests.convening_world import schedule as _schedule
from tests.harness import member


@pytest.fixture
async def cb(settings: Settings) -> AsyncIterator[ConvBot]:
    async with digital_leaders(settings) as bot:
        yield bot


def _ics(reply) -> Calendar:  # type: ignore[no-untyped-def]
    [attachment] = reply.attachments
    assert attachment.filename.endswith(".ics") and attachment.mime_type == "text/calendar"
    return Calendar.from_ical(attachment.content)


async def test_each_reader_sees_their_own_time_across_the_dst_change(cb: ConvBot) -> None:
    cid = await _schedule(cb)
    fields = {who: dict((await cb.ok(f"convening show {cid}", who)).fields) for who in ("cora", "ana", "leo")}
    assert fields["cora"]["When"] == "Sun 14 Mar 2027, 10:00 CDT (America/Chicago)"
    assert fields["ana"]["When"] == "Sun 14 Mar 2027, 08:00 PDT (America/Los_Angeles)"
    assert fields["leo"]["When"] == "Sun 14 Mar 2027, 15:00 GMT (Europe/London)"
    assert fields["leo"]["Organiser's time"] == "Sun 14 Mar 2027, 10:00 CDT (America/Chicago)"
    [event] = _ics(await cb.ok(f"convening ics {cid}", "leo")).walk("VEVENT")
    start = event.decoded("dtstart")
    assert str(start.tzinfo) == "America/Chicago" or event["dtstart"].params["TZID"] == "America/Chicago"
    assert start.astimezone(UTC) == STARTS_UTC
    assert event.decoded("dtend").astimezone(UTC) == utc(2027, 3, 14, 16, 30)
    assert str(event["uid"]) == f"convening-{cid}@copbot.local" and int(event["sequence"]) == 0


async def test_reminders_fire_at_the_right_moments_each_exactly_once(cb: ConvBot) -> None:
    cid = await _schedule(cb)
    await cb.ok(f"convening rsvp {cid} going", "ana")
    await cb.ok(f"convening rsvp {cid} going", "leo")
    await cb.ok(f"convening rsvp {cid} maybe", "cy")  # maybe without --remind: no reminders
    dues = sorted(set((await cb.reminder_dues()).values()))
    # A week and a day before are 10:00 Chicago time (CST, before the change); the hour before is exact.
    assert dues == [utc(2027, 3, 7, 16, 0), utc(2027, 3, 13, 16, 0), utc(2027, 3, 14, 14, 0)]
    await cb.run_until(utc(2027, 3, 7, 15, 59))
    assert cb.dms() == []
    await cb.run_until(utc(2027, 3, 7, 16, 0))
    assert sorted(cb.messenger.sent[i].target for i in range(2)) == ["ana", "leo"]
    assert "starts in 7 days, Sun 14 Mar 2027, 08:00 PDT (America/Los_Angeles)" in cb.dms("ana")[0]
    await cb.run_until(utc(2027, 3, 15, 0, 0))
    for _ in range(2):
        await cb.app.scheduler.tick()
    assert len(cb.dms("ana")) == 3 and len(cb.dms("leo")) == 3 and cb.dms("cy") == []
    assert "starts in 1 hour, Sun 14 Mar 2027, 15:00 GMT (Europe/London)" in cb.dms("leo")[2]


async def test_two_members_taking_the_last_seat_at_once(cb: ConvBot) -> None:
    cid = await _schedule(cb, "--capacity 1")

    async def go(who: str) -> str:
        [reply] = await cb.app.dispatch(
            Incoming(member=member(who), place=cb.place, text=f"convening rsvp {cid} going")
        )
        assert not reply.is_error, reply.text
        return reply.text

    texts = await asyncio.gather(go("ana"), go("bob"))
    assert sorted("waitlist" in t for t in texts) == [False, True]
    answers = dict(
        await cb.app.store.run(
            lambda s: s.execute(
                text("SELECT m.user_id, r.answer FROM rsvp r JOIN member m ON m.id = r.member_id")
            ).all()
        )
    )
    assert sorted(answers.values()) == ["going", "waitlist"]
    seated = next(w for w, a in answers.items() if a == "going")
    waiting = next(w for w, a in answers.items() if a == "waitlist")
    await cb.ok(f"convening rsvp {cid} going", "cy")  # behind the first on the waitlist
    await cb.ok(f"convening rsvp {cid} no", seated)
    await cb.app.scheduler.tick()
    assert len(cb.dms(waiting)) == 1 and "A seat opened: you are now going" in cb.dms(waiting)[0]
    assert cb.dms("cy") == []
    assert (
        "1 going of 1 seats, 0 maybe, 1 waitlisted"
        in dict((await cb.ok(f"convening show {cid}")).fields)["Answers"]
    )


async def test_moving_tells_each_attendee_once_raises_sequence_and_replans(cb: ConvBot) -> None:
    cid = await _schedule(cb)
    for who in ("ana", "leo"):
        await cb.ok(f"convening rsvp {cid} going", who)
    await cb.ok(f"convening rsvp {cid} no", "cy")
    moved = await cb.ok(f'convening move {cid} --to "March 21 2027 10:00"', "cora")
    assert "Sun 21 Mar 2027, 10:00 CDT" in moved.text
    await cb.app.scheduler.tick()
    assert cb.dms("cy") == [] and len(cb.dms("ana")) == 1 and len(cb.dms("leo")) == 1
    assert (
        "moved: Sun 14 Mar 2027, 08:00 PDT (America/Los_Angeles) -> Sun 21 Mar 2027, 08:00 PDT "
        "(America/Los_Angeles)"
    ) in cb.dms("ana")[0]
    [event] = _ics(await cb.ok(f"convening ics {cid}")).walk("VEVENT")
    assert int(event["sequence"]) == 1 and event.decoded("dtstart").astimezone(UTC) == utc(2027, 3, 21, 15)
    assert sorted(set((await cb.reminder_dues()).values())) == [
        utc(2027, 3, 14, 15),
        utc(2027, 3, 20, 15),
        utc(2027, 3, 21, 14),
    ]
    await cb.ok(f'convening cancel {cid} --reason "speaker ill"', "cora")
    await cb.run_until(utc(2027, 3, 22, 0, 0))
    assert (
        len(cb.dms("ana")) == 2
        and "Cancelled: Budget season" in cb.dms("ana")[1]
        and "speaker ill" in cb.dms("ana")[1]
    )
    cancelled = _ics(await cb.ok(f"convening ics {cid}"))
    assert str(cancelled["method"]) == "CANCEL"
    [event] = cancelled.walk("VEVENT")
    assert str(event["status"]) == "CANCELLED" and int(event["sequence"]) == 2
    assert "was cancelled" in await cb.fails(f"convening rsvp {cid} going", "bob")


async def test_quiet_hours_and_opt_outs(cb: ConvBot) -> None:
    cid = await _schedule(cb)
    await cb.ok("me reminders off", "ana")
    await cb.ok("me quiet-hours 13:30-16:30", "leo")  # London time
    for who in ("ana", "leo"):
        await cb.ok(f"convening rsvp {cid} going", who)
    dues = await cb.reminder_dues()
    # 16:00 GMT falls in quiet hours: moved to 16:30; the hour-before (14:00) would move past the start.
    assert sorted(dues.values()) == [utc(2027, 3, 7, 16, 30), utc(2027, 3, 13, 16, 30)]
    await cb.run_until(utc(2027, 3, 15))
    assert cb.dms("ana") == [] and len(cb.dms("leo")) == 2


def test_quiet_shift_rule() -> None:
    start = utc(2027, 3, 14, 15)
    assert quiet_shift(utc(2027, 3, 13, 23), start, ("22:00", "07:00"), "UTC") == utc(2027, 3, 14, 7)
    assert quiet_shift(utc(2027, 3, 14, 3), start, ("22:00", "07:00"), "UTC") == utc(2027, 3, 14, 7)
    assert quiet_shift(utc(2027, 3, 14, 12), start, ("22:00", "07:00"), "UTC") == utc(2027, 3, 14, 12)
    assert quiet_shift(utc(2027, 3, 14, 14), start, ("13:00", "16:00"), "UTC") is None
    assert quiet_shift(utc(2027, 3, 14, 14), None, ("13:00", "16:00"), "UTC") == utc(2027, 3, 14, 16)
    assert svc.lead_due(start, "America/Chicago", "1w") == utc(2027, 3, 7, 16)


async def test_bad_input_is_explained_and_changes_nothing(cb: ConvBot) -> None:
    base = "convening schedule digital-leaders --title T"
    assert "--start: could not read" in await cb.fails(f'{base} --start "the 45th of Smarch 10am"', "cora")
    assert "is in the past" in await cb.fails(f'{base} --start "2026-01-05 10:00"', "cora")
    assert "--capacity: must be at least 1, got 0" in await cb.fails(
        f'{base} --start "{START}" --capacity 0', "cora"
    )
    assert "must be at least 1, got -3" in await cb.fails(f'{base} --start "{START}" --capacity -3', "cora")
    assert "Only the coordinators of Digital Leaders" in await cb.fails(f'{base} --start "{START}"', "ana")
    assert "--leads" in await cb.fails(f'{base} --start "{START}" --leads 3x', "cora")
    assert await cb.count("convening") == 0
    cid = await _schedule(cb)
    assert "Only the coordinators" in await cb.fails(
        f'convening move {cid} --to "March 20 2027 10:00"', "ana"
    )
    assert "There is no convening 99" in await cb.fails("convening rsvp 99 going", "ana")
    await cb.ok(f"convening cancel {cid}", "cora")
    assert "was cancelled" in await cb.fails(f"convening rsvp {cid} going", "ana")
    assert await cb.count("rsvp") == 0 and await cb.count("planned_post WHERE kind = 'convening.remind'") == 0


async def test_attendee_list_follows_privacy_and_data_can_be_exported_and_forgotten(cb: ConvBot) -> None:
    cid = await _schedule(cb)
    await cb.ok("me lists hide", "leo")
    for who in ("ana", "leo"):
        await cb.ok(f"convening rsvp {cid} going", who)
    listed = await cb.ok(f"convening attendees {cid}")
    assert (
        listed.items[0].title == "Going (1)"
        and listed.items[0].body == "Ana"
        and "1 more chose not" in listed.text
    )
    data = (await cb.ok("me data", "ana")).attachments[0].content.decode()
    assert '"convenings"' in data and '"answer": "going"' in data
    await cb.ok("me forget --confirm", "ana")
    assert await cb.count("rsvp") == 1
    assert len(await cb.reminder_dues()) == 3  # ana's reminders were cancelled; leo's remain


async def test_calendar_feeds_per_member_and_network_with_resettable_tokens(cb: ConvBot) -> None:
    cid = await _schedule(cb)
    await cb.ok(f"convening rsvp {cid} going", "ana")
    path = (await cb.ok("me calendar", "ana")).text.split(": ")[1].split("\n")[0]
    assert path.startswith("/calendar/") and path.endswith(".ics") and len(path) > 40
    token = path[len("/calendar/") : -len(".ics")]
    assert path in (await cb.ok("me calendar", "ana")).text  # stable until reset
    feed = await cb.app.store.run(lambda s: cal.feed_for_token(s, token))
    assert feed is not None and f"convening-{cid}@copbot.local".encode() in feed
    reset = (await cb.ok("me calendar reset", "ana")).text
    assert path not in reset and await cb.app.store.run(lambda s: cal.feed_for_token(s, token)) is None
    listed = await cb.ok("convening list digital-leaders", "bob")
    net_token = listed.footer.split("/calendar/")[1][: -len(".ics")]
    net_feed = Calendar.from_ical(await cb.app.store.run(lambda s: cal.feed_for_token(s, net_token)))
    assert [str(e["summary"]) for e in net_feed.walk("VEVENT")] == ["Budget season"]
    empty = Calendar.from_ical(await cb.app.store.run(lambda s: cal.feed_for_member(s, 999)))
    assert empty.walk("VEVENT") == []
