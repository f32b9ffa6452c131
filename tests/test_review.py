"""Practice review on the demo clock: due on the community's interval and after an election in the
practice's region, one DM to the owner with Still true / Update / Retire, one escalation to coordinators,
a weekly overdue note, owners who leave, and search showing (and ranking by) the review date."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from aiohttp import web

from bot.app import build_app
from bot.config import Settings
from bot.messages import Reply
from bot.permissions import Role
from content.review.calendar_import import parse_elections
from content.review.models import ReviewSettings
from content.review.service import due_for
from tests.fakes import FakeClock, RecordingMessenger
from tests.harness import ClockedHarness

TZ = "America/New_York"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


class ReviewBot(ClockedHarness):
    def dms(self, to: str, containing: str = "") -> list[Reply]:
        return [
            s.reply
            for s in self.messenger.sent
            if s.kind == "dm" and s.target == to and containing in s.reply.text
        ]


@pytest.fixture
async def rb(settings: Settings) -> AsyncIterator[ReviewBot]:
    clock = FakeClock(utc(2027, 1, 5, 15, 0))  # a Tuesday
    app = build_app(settings, clock=clock)
    messenger = RecordingMessenger()
    app.add_messenger(messenger)
    bot = ReviewBot(app, clock, messenger)
    await bot.grant("cora", Role.COORDINATOR)
    yield bot
    app.close()


SHARE = (
    'practice share --title "Budget town halls" --what "We moved budget hearings online." '
    "--attribution named --region Ohio"
)


# ---- the pure rule ---------------------------------------------------------------------------------------


def test_due_is_the_earliest_of_interval_election_fiscal_year_and_owner_leaving() -> None:
    base = utc(2027, 1, 5, 15)
    rs = ReviewSettings(every_days=365, answer_days=14, fiscal_year_start="")
    assert due_for(base, rs, [], None, TZ) == (base + timedelta(days=365), "365-day interval")
    # An election before the last review does not count; the next one after it does, the day after.
    due, why = due_for(base, rs, [date(2026, 11, 3), date(2027, 11, 2)], None, TZ)
    assert (due, why) == (datetime(2027, 11, 3, 0, 0, tzinfo=due.tzinfo), "election on 2027-11-02")
    assert due.utcoffset() == timedelta(hours=-4)  # local midnight in the community's zone (EDT)
    rs.fiscal_year_start = "07-01"
    due, why = due_for(base, rs, [date(2027, 11, 2)], None, TZ)
    assert (due.date(), why) == (date(2027, 7, 1), "start of the fiscal year")
    left = utc(2027, 2, 1)
    assert due_for(base, rs, [], left, TZ) == (left, "its owner left")


def test_election_calendar_file_is_read_by_date_and_place() -> None:
    ics = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        b"BEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20271102\r\nSUMMARY:General election\r\n"
        b"LOCATION:Ohio\r\nEND:VEVENT\r\n"
        b"BEGIN:VEVENT\r\nUID:b\r\nDTSTART:20270504T070000Z\r\nSUMMARY:Primary\r\nLOCATION:Ohio\r\nEND:VEVENT\r\n"
        b"END:VCALENDAR\r\n"
    )
    assert parse_elections(ics, "") == [
        ("Ohio", date(2027, 5, 4), "Primary"),
        ("Ohio", date(2027, 11, 2), "General election"),
    ]
    assert parse_elections(ics, "Franklin County")[0][0] == "Franklin County"


# ---- on the demo clock ---------------------------------------------------------------------------------


async def test_review_falls_due_asks_once_escalates_once_and_search_shows_it(rb: ReviewBot) -> None:
    await rb.ok("review settings --every-days 30 --answer-days 5", "cora")
    saved = await rb.ok(SHARE, "ana")
    assert "Saved P1" in saved.text
    # Not due before its interval: no DM.
    await rb.run_until(utc(2027, 2, 3, 15))
    assert rb.dms("ana") == []
    # Due after 30 days: the next daily sweep asks ana once, with the three choices.
    await rb.run_until(utc(2027, 2, 6, 15))
    asked = rb.dms("ana", "still true")
    assert len(asked) == 1, [r.text for r in rb.dms("ana")]
    assert "P1" in asked[0].text and "30-day interval" in asked[0].text
    assert [c.label for c in asked[0].choices] == ["Still true", "Update", "Retire"]
    assert rb.dms("cora") == []
    # No answer in 5 days: the coordinators are told once (cora and the configured admin root).
    await rb.run_until(utc(2027, 2, 20, 15))
    assert len(rb.dms("ana", "still true")) == 1
    escalated = rb.dms("cora", "Review needed")
    assert len(escalated) == 1 and "did not answer in 5 days" in escalated[0].text
    assert len(rb.dms("root", "Review needed")) == 1
    # Monday's weekly note lists what is overdue, once per Monday (2027-02-08 and 2027-02-15).
    weekly = rb.dms("cora", "Weekly review note")
    assert len(weekly) == 2 and all("P1 Budget town halls (due 2027-02-04" in w.text for w in weekly)
    assert "P1" in (await rb.ok("review due", "cora")).plain_text()
    # Another member cannot answer for ana.
    assert "Only the owner" in await rb.fails("review confirm P1", "bob")
    # ana presses "Still true": the practice shows its review date in search.
    answered = await rb.ok(asked[0].choices[0].command, "ana")
    assert "marked reviewed in February 2027" in answered.text
    found = await rb.ok("practice search budget")
    assert ("Reviewed", "February 2027") in found.items[0].fields
    assert "Reviewed: February 2027" in (await rb.ok("search budget")).plain_text()
    assert "No practice review is overdue" in (await rb.ok("review due", "cora")).text
    # An election entered for its jurisdiction makes it due again, the day after, well before 30 days.
    assert "Election added" in (await rb.ok("review election add ohio 2027-02-24", "cora")).text
    await rb.run_until(utc(2027, 2, 24, 23))
    assert len(rb.dms("ana", "still true")) == 1
    await rb.run_until(utc(2027, 2, 26, 15))
    again = rb.dms("ana", "still true")
    assert len(again) == 2 and "election on 2027-02-24" in again[1].text
    # Retire from the DM: it leaves search; escalation does not follow an answered review.
    assert "Retired P1" in (await rb.ok(again[1].choices[2].command, "ana")).text
    await rb.run_until(utc(2027, 3, 20, 15))
    assert len(rb.dms("cora", "Review needed")) == 1
    assert "No practices found" in (await rb.ok("practice search budget")).text


async def test_owner_leaving_sends_the_review_to_coordinators(rb: ReviewBot) -> None:
    await rb.ok("review settings --every-days 365", "cora")
    await rb.ok(SHARE, "ana")
    await rb.ok(SHARE.replace("Budget town halls", "Open data portal"), "bob")
    await rb.run_until(utc(2027, 1, 6, 15))  # swept once: both have owners
    assert "Done" in (await rb.ok("me forget --confirm", "ana")).text
    assert "1 practice review owned by Bob" in (await rb.ok("review gone @bob", "cora")).text
    await rb.run_until(utc(2027, 1, 8, 15))
    needed = rb.dms("cora", "Review needed")
    assert sorted(t.text.split('"')[1] for t in needed) == ["Budget town halls", "Open data portal"]
    assert all("it has no owner" in t.text for t in needed)
    assert rb.dms("ana") == [] and rb.dms("bob") == []
    # cora adopts one and answers for it; the other stays overdue.
    adopted = await rb.ok("review adopt P2", "cora")
    assert "You now own the reviews of P2" in adopted.text
    assert "P2" in (await rb.ok("review mine", "cora")).plain_text()
    await rb.ok("review update P2", "cora")
    overdue = (await rb.ok("review due", "cora")).plain_text()
    assert "P1" in overdue and "P2" not in overdue
    await rb.run_until(utc(2027, 1, 20, 15))
    assert len(rb.dms("cora", "Review needed")) == 2  # still once each


async def test_an_owner_who_leaves_while_asked_is_not_waited_for(rb: ReviewBot) -> None:
    await rb.ok("review settings --every-days 30 --answer-days 10", "cora")
    await rb.ok(SHARE, "ana")
    await rb.run_until(utc(2027, 2, 6, 15))
    assert len(rb.dms("ana", "still true")) == 1
    await rb.ok("review gone @ana", "cora")
    await rb.run_until(utc(2027, 2, 7, 15))  # the next sweep, not ten days later
    [needed] = rb.dms("cora", "Review needed")
    assert "it has no owner" in needed.text
    await rb.run_until(utc(2027, 2, 25, 15))
    assert len(rb.dms("cora", "Review needed")) == 1 and len(rb.dms("ana", "still true")) == 1


async def test_freshness_filter_and_ranking(rb: ReviewBot) -> None:
    for title in ("Budget one", "Budget two", "Budget three"):
        await rb.ok(SHARE.replace("Budget town halls", title), "ana")
    rb.clock.advance(days=400)
    await rb.ok("review confirm P2", "ana")
    found = await rb.ok("practice search budget --freshest")
    assert [i.ref for i in found.items][0] == "P2"
    recent = await rb.ok("practice search --reviewed-within 6")
    assert [i.ref for i in recent.items] == ["P2"]
    assert "No practices found" in (await rb.ok("practice search budget --reviewed-within 6 --tag none")).text


async def test_reviews_are_off_until_a_coordinator_turns_them_on(rb: ReviewBot) -> None:
    await rb.ok(SHARE, "ana")
    assert "reviews are off" in (await rb.ok("review settings", "cora")).text
    assert await rb.count("planned_post") == 0
    await rb.run_until(utc(2028, 2, 1, 15))  # more than a year: nobody is asked while reviews are off
    assert rb.messenger.sent == []
    assert "365 days" in (await rb.ok("review settings --answer-days 3", "cora")).text
    assert await rb.count("planned_post WHERE kind = 'review.sweep' AND state = 'pending'") > 0
    await rb.run_until(utc(2028, 2, 3, 15))
    assert len(rb.dms("ana", "still true")) == 1
    assert "Use --off alone" in await rb.fails("review settings --off --every-days 30", "cora")
    assert "reviews are off" in (await rb.ok("review settings --off", "cora")).text
    assert await rb.count("planned_post WHERE kind = 'review.sweep' AND state = 'pending'") == 0
    await rb.run_until(utc(2028, 3, 3, 15))
    assert rb.dms("cora") == [] and len(rb.dms("ana")) == 1


async def test_settings_and_elections_refuse_bad_input_and_members(rb: ReviewBot) -> None:
    assert "month and day" in await rb.fails("review settings --fiscal-year-start 13-45", "cora")
    assert "coordinator" in (await rb.fails("review settings --every-days 30", "ana")).lower()
    assert "2027-11-02" in await rb.fails("review election add Ohio 11/02/2027", "cora")
    assert "fiscal year (07-01)" in (await rb.ok("review settings --fiscal-year-start 07-01", "cora")).text
    assert "fiscal year (not set)" in (await rb.ok("review settings --fiscal-year-start none", "cora")).text
    await rb.ok("review election add Ohio 2027-11-02", "cora")
    assert "already has an election" in (await rb.ok("review election add OHIO 2027-11-02", "cora")).text
    listed = await rb.ok("review election list", "ana")
    assert "Ohio: 2027-11-02" in listed.plain_text()
    assert "no election E99" in await rb.fails("review election remove E99", "cora")
    assert "Removed" in (await rb.ok(f"review election remove {listed.items[0].ref}", "cora")).text


async def test_election_import_from_a_calendar_file_on_the_web(rb: ReviewBot) -> None:
    ics = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        b"BEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20271102\r\nSUMMARY:General\r\nEND:VEVENT\r\n"
        b"END:VCALENDAR\r\n"
    )

    async def serve(_: web.Request) -> web.Response:
        return web.Response(body=ics, content_type="text/calendar")

    web_app = web.Application()
    web_app.router.add_get("/e.ics", serve)
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        url = f"http://127.0.0.1:{port}/e.ics"
        assert "names no place" in await rb.fails(f"review election import {url}", "cora")
        done = await rb.ok(f"review election import {url} --jurisdiction Ohio", "cora")
        assert "1 new" in done.text
        assert "0 new" in (await rb.ok(f"review election import {url} --jurisdiction Ohio", "cora")).text
        assert "answered 404" in await rb.fails(f"review election import http://127.0.0.1:{port}/x", "cora")
    finally:
        await runner.cleanup()
    assert "not a web address" in await rb.fails("review election import file:///etc/passwd", "cora")
