"""The resource digest on the scheduler, with a clock we move by hand: weeks of digests in a second."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bot.app import build_app
from bot.config import Settings
from tests.fakes import FakeClock, RecordingMessenger, Sent
from tests.harness import ClockedHarness, Harness

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # a Sunday; Mondays 9:00 New York are 13:00/14:00 UTC
RULE = '"every Monday at 9:00"'


class DigestBot(ClockedHarness):
    def digests(self) -> list[Sent]:
        return [s for s in self.messenger.sent if s.reply.text.startswith("Resource digest for")]


def _start(settings: Settings, clock: FakeClock) -> DigestBot:
    app = build_app(settings, clock=clock)
    messenger = RecordingMessenger()
    app.add_messenger(messenger)
    return DigestBot(app, clock, messenger)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[DigestBot]:
    bot = _start(settings, FakeClock(START))
    yield bot
    bot.app.close()


async def _home_areas(bot: Harness) -> dict[str, str]:
    rows = await bot.app.store.run(
        lambda s: s.execute(text("SELECT resource_id, area FROM resource_area WHERE position = 0")).all()
    )
    return {f"L{rid}": area for rid, area in rows}


async def test_twenty_weeks_never_repeat_before_all_are_shown_and_post_once_across_a_restart(
    settings: Settings,
) -> None:
    clock = FakeClock(START)
    first = _start(settings, clock)
    reply = await first.ok(f"resource digest --channel learning --rule {RULE} --count 5")
    assert "posts 5 resources every Monday, at 09:00 America/New_York in #learning" in reply.text
    assert "Next: Mon 2 Mar 2026 09:00; Mon 9 Mar 2026 09:00" in reply.text
    await first.run_until(START + timedelta(weeks=10))
    sent = first.digests()
    first.app.close()  # a restart, mid-way, on the same database
    second = _start(settings, clock)
    try:
        await second.run_until(START + timedelta(weeks=20))
        for _ in range(3):
            await second.app.scheduler.tick()  # nothing is due twice
        sent += second.digests()
        assert len(first.digests()) == 10 and len(sent) == 20
        assert {s.target for s in sent} == {"learning"} and {s.kind for s in sent} == {"post"}
        dates = [s.reply.text.split()[3].rstrip(":") for s in sent]
        assert len(set(dates)) == 20 and dates[0] == "2026-03-02" and dates[-1] == "2026-07-13"
        refs = [i.ref or "" for s in sent for i in s.reply.items]
        assert all(len(s.reply.items) == 5 == len({i.ref for i in s.reply.items}) for s in sent)
        catalog = await second.count("resource")
        assert catalog == 79 and len(set(refs[:catalog])) == catalog  # all 79 before any repeat
        assert len(set(refs[catalog:])) == len(refs[catalog:]) == 100 - catalog  # round two, again no repeat
        homes = await _home_areas(second)
        assert len({homes[r] for r in refs[:9]}) == 9  # round-robin: the first nine cover all nine areas
        states = await second.app.store.run(
            lambda s: s.execute(
                text("SELECT state, count(*) FROM planned_post WHERE kind = 'resource.digest' GROUP BY state")
            ).all()
        )
        assert dict(states) == {"sent": 20, "pending": 2}  # and the next two are planned
        status = await second.ok("resource digest")
        assert f"Round 2: {100 - catalog} of {catalog} resources shown" in status.text
    finally:
        second.app.close()


async def test_a_coordinators_new_resource_leads_the_next_digest(db: DigestBot) -> None:
    await db.ok(f"resource digest --channel learning --rule {RULE} --count 2")
    await db.run_until(START + timedelta(weeks=1))
    added = await db.ok(
        'resource add --title "Budget Stories" --kind podcast --areas leadership-transitions '
        '--summary "Finance directors on their first year. Short episodes." --level introductory '
        '--time "30 minutes" --cost free --publisher "Example Radio" --url https://radio.example.org/'
    )
    await db.run_until(START + timedelta(weeks=2, days=1))
    last = db.digests()[-1]
    assert last.reply.items[0].ref == added.items[0].ref
    assert last.reply.items[0].body == "Finance directors on their first year."
    assert [c.command for c in last.reply.items[0].choices] == [
        f"resource show {added.items[0].ref}",
        f"resource rate {added.items[0].ref}",
    ]


async def test_a_missed_digest_is_skipped_and_reported_and_the_series_goes_on(db: DigestBot) -> None:
    notices: list[str] = []

    async def notify(message: str) -> None:
        notices.append(message)

    db.app.scheduler.notify = notify
    await db.ok(f"resource digest --channel learning --rule {RULE} --count 3")
    await db.run_until(START + timedelta(days=2))
    shown_first = [i.ref for i in db.digests()[0].reply.items]
    db.clock.set(datetime(2026, 3, 10, 0, 0, tzinfo=UTC))  # down through Monday 9 March
    await db.app.scheduler.tick()
    assert len(notices) == 1 and "skipped (digest:2026-03-09)" in notices[0]
    await db.run_until(datetime(2026, 3, 17, 0, 0, tzinfo=UTC))
    assert [s.reply.text.split()[3] for s in db.digests()] == ["2026-03-02:", "2026-03-16:"]
    second = [i.ref for i in db.digests()[1].reply.items]
    assert not set(second) & set(shown_first) and await db.count("digest_shown") == 6  # nothing lost


async def test_changing_and_stopping_the_digest(db: DigestBot) -> None:
    assert "only coordinators" in (await db.fails(f"resource digest --rule {RULE}", "ana")).lower()
    assert "The resource digest is off" in (await db.ok("resource digest")).text
    assert "--rule: could not read" in await db.fails('resource digest --rule "whenever it feels right"')
    assert "The digest is not set yet" in await db.fails("resource digest --count 3")
    await db.ok(f"resource digest --rule {RULE}")
    moved = await db.ok('resource digest --rule "every Friday at 8:00" --count 1')
    assert "posts 1 resource every Friday, at 08:00" in moved.text and "#general" in moved.text
    await db.run_until(START + timedelta(weeks=1))
    assert [s.reply.text.split()[3] for s in db.digests()] == ["2026-03-06:"]
    assert len(db.digests()[0].reply.items) == 1
    assert "off" in (await db.ok("resource digest --off")).text
    await db.run_until(START + timedelta(weeks=3))
    assert len(db.digests()) == 1
