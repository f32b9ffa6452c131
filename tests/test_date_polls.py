"""Finding a date (date polls) and convening series, end to end on both databases: slots in each reader's
zone, changeable marks, confirmation into a convening with one DM per voter, bad input that changes
nothing, series across a DST change with per-occurrence moves, cancellations and RSVPs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from bot.config import Settings
from tests.convening_world import ConvBot, digital_leaders, utc

SLOTS = "2027-03-14 10:00; 2027-03-16 14:00; March 20 2027 9am"  # Chicago; the US changes on 14 March
PROPOSE = (
    f'datepoll propose digital-leaders --title "Budget season" --slots "{SLOTS}" --tz America/Chicago '
    "--duration 90m"
)
RULE = "twice a year in March and September on the second Wednesday at 10:00"


@pytest.fixture
async def cb(settings: Settings) -> AsyncIterator[ConvBot]:
    async with digital_leaders(settings, members=("ana", "leo")) as bot:
        yield bot


async def _propose(cb: ConvBot) -> int:
    reply = await cb.ok(PROPOSE, "cora")
    return int(reply.text.split("Date poll ")[1].split(" ")[0])


async def _tally(cb: ConvBot, poll: int, who: str) -> list[tuple[str, str]]:
    return [(i.title, i.body) for i in (await cb.ok(f"datepoll show {poll}", who)).items]


async def _starts(cb: ConvBot, where: str = "") -> list[tuple[int, datetime, str, int | None]]:
    rows = await cb.app.store.run(
        lambda s: s.execute(
            text(f"SELECT id, starts_at, status, series_id FROM convening {where} ORDER BY starts_at")
        ).all()
    )

    def aware(value: datetime | str) -> datetime:  # SQLite gives naive UTC (text) to raw SQL
        value = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    return [(i, aware(s), st, sid) for i, s, st, sid in rows]


async def test_propose_mark_tally_in_two_zones_and_confirm_tells_each_voter_once(cb: ConvBot) -> None:
    poll = await _propose(cb)
    await cb.ok(f"datepoll mark {poll} 1,2", "ana")
    await cb.ok(f"datepoll mark {poll} 2", "leo")
    assert await _tally(cb, poll, "ana") == [
        ("Sun 14 Mar 2027, 08:00 PDT (America/Los_Angeles)", "1 can make it (you too)"),
        ("Tue 16 Mar 2027, 12:00 PDT (America/Los_Angeles)", "2 can make it (you too)"),
        ("Sat 20 Mar 2027, 07:00 PDT (America/Los_Angeles)", "0 can make it"),
    ]
    assert await _tally(cb, poll, "leo") == [
        ("Sun 14 Mar 2027, 15:00 GMT (Europe/London)", "1 can make it"),
        ("Tue 16 Mar 2027, 19:00 GMT (Europe/London)", "2 can make it (you too)"),
        ("Sat 20 Mar 2027, 14:00 GMT (Europe/London)", "0 can make it"),
    ]
    confirmed = await cb.ok(f"datepoll confirm {poll} 2", "cora")
    assert "Tue 16 Mar 2027, 14:00 CDT (America/Chicago)" in confirmed.text and "2 voters" in confirmed.text
    [(cid, starts, status, series)] = await _starts(cb)
    assert starts == utc(2027, 3, 16, 19, 0) and status == "scheduled" and series is None
    shown = dict((await cb.ok(f"convening show {cid}", "leo")).fields)
    assert shown["When"] == "Tue 16 Mar 2027, 19:00 GMT (Europe/London)" and shown["Length"] == "90 minutes"
    await cb.app.scheduler.tick()
    assert "closed" in await cb.fails(f"datepoll confirm {poll} 1", "cora")
    assert "closed" in await cb.fails(f"datepoll mark {poll} 1", "ana")
    await cb.app.scheduler.tick()
    assert len(cb.dms("ana")) == 1 and len(cb.dms("leo")) == 1 and cb.dms("cora") == []
    assert (
        "The date for Budget season is set: Tue 16 Mar 2027, 12:00 PDT (America/Los_Angeles)"
        in cb.dms("ana")[0]
    )
    assert f"convening rsvp {cid}" in cb.dms("leo")[0] and "19:00 GMT" in cb.dms("leo")[0]
    assert await cb.count("convening") == 1


async def test_marks_can_be_changed_and_cleared(cb: ConvBot) -> None:
    poll = await _propose(cb)
    await cb.ok(f"datepoll mark {poll} 1,2", "ana")
    await cb.ok(f"datepoll mark {poll} 3", "ana")
    assert [b for _, b in await _tally(cb, poll, "ana")] == [
        "0 can make it",
        "0 can make it",
        "1 can make it (you too)",
    ]
    await cb.ok(f"datepoll mark {poll} none", "ana")
    assert await cb.count("date_poll_mark") == 0
    assert "0 members answered" in (await cb.ok(f"datepoll show {poll}", "ana")).text


async def test_bad_input_changes_nothing(cb: ConvBot) -> None:
    base = "datepoll propose digital-leaders --title T --tz America/Chicago --slots"
    assert (
        "slot 2" in (err := await cb.fails(f'{base} "2027-03-14 10:00; 2026-01-05 10:00"', "cora"))
        and "is in the past" in err
    )
    assert "could not read" in await cb.fails(f'{base} "2027-03-14 10:00; the 45th of Smarch 10am"', "cora")
    assert "2 to 10 slots" in await cb.fails(f'{base} "2027-03-14 10:00"', "cora")
    assert "Only the coordinators" in await cb.fails(f'{base} "2027-03-14 10:00; 2027-03-15 10:00"', "ana")
    assert await cb.count("date_poll") == 0 and await cb.count("date_poll_slot") == 0
    poll = await _propose(cb)
    await cb.ok(f"datepoll mark {poll} 1", "ana")
    assert "has no slot 9" in await cb.fails(f"datepoll confirm {poll} 9", "cora")
    assert "Only the coordinators" in await cb.fails(f"datepoll confirm {poll} 1", "ana")
    assert "numbered 1 to 3" in await cb.fails(f"datepoll mark {poll} 1,7", "ana")
    assert "Only members of Digital Leaders" in await cb.fails(f"datepoll mark {poll} 2", "bob")
    assert "There is no date poll 99" in await cb.fails("datepoll show 99", "ana")
    assert await cb.count("convening") == 0 and await cb.count("date_poll_mark") == 1
    assert await cb.count("date_poll WHERE status = 'open'") == 1
    await cb.app.scheduler.tick()
    assert cb.dms() == []


async def test_marks_are_exported_and_forgotten(cb: ConvBot) -> None:
    poll = await _propose(cb)
    await cb.ok(f"datepoll mark {poll} 1,3", "ana")
    data = (await cb.ok("me data", "ana")).attachments[0].content.decode()
    assert '"date_polls"' in data and '"slot": 3' in data
    await cb.ok("me forget --confirm", "ana")
    assert await cb.count("date_poll_mark") == 0 and await cb.count("date_poll") == 1


async def _series(cb: ConvBot, count: int = 4) -> int:
    reply = await cb.ok(
        f'convening series digital-leaders --title "Budget circle" --rule "{RULE}" '
        f"--count {count} --tz America/Chicago --place Online",
        "cora",
    )
    assert len(reply.items) == count
    return int(reply.text.split("series ")[1].split(",")[0])


async def test_series_creates_occurrences_at_local_time_across_dst(cb: ConvBot) -> None:
    sid = await _series(cb)
    rows = await _starts(cb)
    # 10:00 Chicago each time: CST (UTC-6) before the US change in March, CDT (UTC-5) in September.
    assert [r[1] for r in rows] == [
        utc(2027, 3, 10, 16),
        utc(2027, 9, 8, 15),
        utc(2028, 3, 8, 16),
        utc(2028, 9, 13, 15),
    ]
    assert {r[2] for r in rows} == {"scheduled"} and {r[3] for r in rows} == {sid}
    assert (
        dict((await cb.ok(f"convening show {rows[1][0]}", "cora")).fields)["When"]
        == "Wed 8 Sep 2027, 10:00 CDT (America/Chicago)"
    )
    assert "--rule" in await cb.fails('convening series digital-leaders --title T --rule "whenever"', "cora")
    assert "Only the coordinators" in await cb.fails(
        f'convening series digital-leaders --title T --rule "{RULE}"', "ana"
    )
    assert await cb.count("convening") == 4 and await cb.count("convening_series") == 1


async def test_each_occurrence_moves_cancels_and_answers_on_its_own(cb: ConvBot) -> None:
    await _series(cb)
    ids = [r[0] for r in await _starts(cb)]
    await cb.ok(f"convening rsvp {ids[0]} going", "ana")
    await cb.ok(f'convening move {ids[1]} --to "2027-09-15 10:00"', "cora")
    await cb.ok(f"convening cancel {ids[2]}", "cora")
    after = {r[0]: r for r in await _starts(cb)}
    assert after[ids[1]][1] == utc(2027, 9, 15, 15)
    assert after[ids[0]][1] == utc(2027, 3, 10, 16) and after[ids[3]][1] == utc(2028, 9, 13, 15)
    assert [after[i][2] for i in ids] == ["scheduled", "scheduled", "cancelled", "scheduled"]
    assert await cb.count(f"rsvp WHERE convening_id = {ids[0]}") == 1 and await cb.count("rsvp") == 1


async def test_series_cancel_cancels_only_the_future_ones(cb: ConvBot) -> None:
    sid = await _series(cb)
    ids = [r[0] for r in await _starts(cb)]
    await cb.ok(f"convening rsvp {ids[1]} going", "ana")
    await cb.ok(f"convening rsvp {ids[0]} going", "leo")
    await cb.run_until(utc(2027, 3, 11))  # the first one has taken place (leo got its reminders)
    leo_before = len(cb.dms("leo"))
    assert "Only the coordinators" in await cb.fails(f"convening series-cancel {sid}", "ana")
    reply = await cb.ok(f'convening series-cancel {sid} --reason "merging groups"', "cora")
    assert "Cancelled 3 upcoming" in reply.text
    assert [r[2] for r in await _starts(cb)] == ["scheduled", "cancelled", "cancelled", "cancelled"]
    await cb.run_until(utc(2027, 3, 12))
    told, cancelled = cb.dms("ana")  # a member of the network: told once of the series, once of its end
    assert told.startswith("New series of convenings in Digital Leaders: Budget circle, 4 dates from")
    assert "Cancelled: Budget circle" in cancelled and "merging groups" in cancelled
    assert len(cb.dms("leo")) == leo_before
    assert await cb.count("planned_post WHERE kind = 'convening.remind' AND state = 'pending'") == 0
    assert "nothing to cancel" in (await cb.ok(f"convening series-cancel {sid}", "cora")).text
