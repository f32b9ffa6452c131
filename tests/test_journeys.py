"""Leadership-transition journeys end to end through the scheduler: each step once, on its day, in the
member's zone and outside their quiet hours, across a restart; pause and resume; answers shared as
practices; peers introduced with consent and never twice; a leaving member's handover; the coordinators'
view; and broken journey files that stop the start."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import text

from bot.app import build_app
from bot.config import Settings
from bot.messages import Reply, names_shown
from bot.store.db import Store, make_engine
from scheduling.journeys.definitions import JOURNEYS_DIR, JourneyError
from tests.fakes import FakeClock, RecordingMessenger
from tests.harness import ClockedHarness

CHICAGO = ZoneInfo("America/Chicago")
CHIEF = "New chief of staff: the first 100 days"
CHIEF_DAYS = [0, 3, 7, 14, 21, 30, 45, 60, 75, 90, 100]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass
class TimedDm:
    to: str
    at: datetime
    reply: Reply


class TimedMessenger(RecordingMessenger):
    """Records when (on the app's clock) each DM went out."""

    clock: Any = None
    timed: list[TimedDm] | None = None

    async def send_dm(self, user_id: str, reply: Reply, *, workspace: str = "") -> Any:
        posted = await super().send_dm(user_id, reply)
        if self.timed is None:
            self.timed = []
        self.timed.append(TimedDm(user_id, self.clock(), names_shown(reply)))
        return posted


class JourneyBot(ClockedHarness):
    def dms(self, to: str, containing: str = "") -> list[TimedDm]:
        return [d for d in (self.messenger.timed or []) if d.to == to and containing in d.reply.text]


def _bot(settings: Settings, clock: FakeClock, **dirs: Path) -> JourneyBot:
    app = build_app(settings, clock=clock, **dirs)  # type: ignore[arg-type]
    messenger = TimedMessenger()
    messenger.clock = clock
    app.add_messenger(messenger)
    return JourneyBot(app, clock, messenger)


@pytest.fixture
async def jb(settings: Settings) -> AsyncIterator[JourneyBot]:
    bot = _bot(settings, FakeClock(utc(2027, 3, 1, 15, 0)))
    await bot.ok("me timezone America/Chicago", "ana")
    await bot.ok("me quiet-hours 07:00-10:00", "ana")
    yield bot
    bot.app.close()


def _step_number(dm: TimedDm) -> int:
    return int(dm.reply.text.split(" · step ")[1].split(" of ")[0])


async def test_each_step_comes_once_on_its_day_in_the_members_zone_outside_quiet_hours_across_a_restart(
    jb: JourneyBot, settings: Settings
) -> None:
    started = await jb.ok("me transition start new-chief-of-staff --level city --starts 2027-03-02", "ana")
    assert "Tue 2 Mar 2027, 10:00 CST" in started.text  # 09:00 is in her quiet hours: the end of them
    await jb.run_until(utc(2027, 3, 20))
    first = {_step_number(d) for d in jb.dms("ana", CHIEF)}
    assert first == {1, 2, 3, 4}
    jb.app.close()  # a restart: a second app on the same database, with the time moving on
    again = _bot(settings, jb.clock)
    try:
        await again.run_until(utc(2027, 6, 30))
        later = again.dms("ana", CHIEF)
        assert sorted(_step_number(d) for d in later) == list(range(5, 12))  # nothing repeated
        days = [
            (d.at.astimezone(CHICAGO).date() - date(2027, 3, 2)).days for d in jb.dms("ana", CHIEF) + later
        ]
        assert days == CHIEF_DAYS
        for d in jb.dms("ana", CHIEF) + later:
            assert d.at.astimezone(CHICAGO).strftime("%H:%M") == "10:00"  # across the DST change too
        status = await again.ok("me transition status", "ana")
        assert ("State", "done") in status.fields
        assert all(i.body.startswith("sent") for i in status.items)
        # Another tick much later sends nothing more.
        again.clock.set(utc(2027, 9, 1))
        await again.app.scheduler.tick()
        assert len(again.dms("ana")) == len(later)
    finally:
        again.app.close()


async def test_quiet_hours_changed_after_planning_delay_the_step_to_their_end(jb: JourneyBot) -> None:
    await jb.ok("me quiet-hours off", "ana")
    await jb.ok("me transition start new-chief-of-staff --level city --starts 2027-03-02", "ana")
    await jb.ok("me quiet-hours 08:00-11:30", "ana")
    await jb.run_until(utc(2027, 3, 3))
    [first] = jb.dms("ana", CHIEF)
    assert first.at.astimezone(CHICAGO).strftime("%d %H:%M") == "02 11:30"


async def test_pausing_stops_steps_until_resumed_and_later_steps_move(jb: JourneyBot) -> None:
    await jb.ok("me transition start new-chief-of-staff --level city --starts 2027-03-02", "ana")
    await jb.run_until(utc(2027, 3, 6))
    assert len(jb.dms("ana", CHIEF)) == 2  # days 0 and 3
    paused = await jb.ok("me transition pause", "ana")
    assert "paused" in paused.text
    assert "already paused" in await jb.fails("me transition pause", "ana")
    await jb.run_until(utc(2027, 3, 20))
    assert len(jb.dms("ana", CHIEF)) == 2
    resumed = await jb.ok("me transition resume", "ana")
    assert "moved by 14 days" in resumed.text
    await jb.run_until(utc(2027, 3, 24))
    third = jb.dms("ana", CHIEF)[2]
    assert _step_number(third) == 3 and third.at.astimezone(CHICAGO).date() == date(2027, 3, 23)  # day 7 + 14


async def test_skip_and_stop(jb: JourneyBot) -> None:
    await jb.ok("me transition start new-chief-of-staff --level city --starts 2027-03-02", "ana")
    assert "Skipped 'Before day one'" in (await jb.ok("me transition skip", "ana")).text
    assert "Skipped 'Someone who has done this job'" in (await jb.ok("me transition skip peers", "ana")).text
    await jb.run_until(utc(2027, 3, 10))
    assert sorted(_step_number(d) for d in jb.dms("ana", CHIEF)) == [2]
    assert "already come" in await jb.fails("me transition skip listening-tour", "ana")
    await jb.ok("me transition stop", "ana")
    await jb.run_until(utc(2027, 7, 1))
    assert len(jb.dms("ana", CHIEF)) == 1
    assert "not on a journey" in await jb.fails("me transition pause", "ana")


async def test_reminders_off_holds_steps_to_read_in_status(jb: JourneyBot) -> None:
    await jb.ok("me reminders off", "ana")
    await jb.ok("me transition start new-chief-of-staff --level city --starts 2027-03-02", "ana")
    await jb.run_until(utc(2027, 3, 4))
    assert jb.dms("ana") == []
    status = await jb.ok("me transition status", "ana")
    assert status.items[0].body.startswith("held")
    assert "Welcome to the role" in (await jb.ok("me transition step 1", "ana")).text


async def test_a_missed_step_after_downtime_is_skipped_and_reported_and_the_next_still_comes(
    jb: JourneyBot,
) -> None:
    await jb.grant("cora", __import__("bot.permissions", fromlist=["Role"]).Role.COORDINATOR)
    await jb.ok("me transition start new-chief-of-staff --level city --starts 2027-03-02", "ana")
    jb.clock.set(utc(2027, 3, 5, 17))  # down from before day 0 until after its grace; day 3 is now due
    await jb.app.scheduler.tick()
    assert [_step_number(d) for d in jb.dms("ana", CHIEF)] == [2]
    assert jb.dms("cora", "was skipped")
    assert "missed" in (await jb.ok("me transition status", "ana")).items[0].body


async def test_an_answer_shared_as_a_practice_is_found_with_its_attribution(jb: JourneyBot) -> None:
    await jb.ok("me transition start new-chief-of-staff --level city --starts 2027-03-02", "ana")
    assert "No question has reached you" in await jb.fails("me transition answer too early", "ana")
    await jb.run_until(utc(2027, 3, 3))
    private = await jb.ok("me transition answer Protect two hours a week for the mayor priorities.", "ana")
    assert "Only you see it" in private.text
    assert not (await jb.ok("practice search mayor priorities")).items
    shared = await jb.ok(
        "me transition share before-day-one --attribution role --role-description "
        '"a chief of staff in a mid-size city"',
        "ana",
    )
    assert "Shared your answer as practice P1" in shared.text
    found = await jb.ok("practice search mayor priorities")
    [item] = found.items
    assert ("Shared by", "a chief of staff in a mid-size city") in item.fields
    assert "leadership-transitions" in dict(item.fields)["Frameworks"]
    await jb.grant("cora", __import__("bot.permissions", fromlist=["Role"]).Role.COORDINATOR)
    listing = await jb.ok("transition list", "cora")
    [row] = listing.items
    assert ("Answers", "1 (1 shared as practices)") in row.fields
    assert "Protect two hours" not in listing.plain_text()


async def test_an_unshared_answer_stays_out_of_the_coordinators_view(jb: JourneyBot) -> None:
    await jb.grant("cora", __import__("bot.permissions", fromlist=["Role"]).Role.COORDINATOR)
    await jb.ok("me transition start new-chief-of-staff --level city --starts 2027-03-02", "ana")
    await jb.run_until(utc(2027, 3, 3))
    await jb.ok("me transition answer A very private thought about the mayor.", "ana")
    listing = await jb.ok("transition list", "cora")
    assert "private thought" not in listing.plain_text()
    [row] = listing.items
    assert row.title == f"Ana: {CHIEF}" and "1 of 11 steps" in row.body
    assert "Only coordinators" in await jb.fails("transition list", "bob")


async def _went_through(
    jb: JourneyBot,
    who: str,
    zone: str,
    *,
    starts: str = "2025-01-06",
    role: str = "",
    level: str = "city",
    peers: bool = True,
) -> None:
    await jb.ok(f"me timezone {zone}", who)
    await jb.ok(
        f"me transition start new-chief-of-staff --level {level} --starts {starts} {role}".strip(), who
    )
    if peers:
        await jb.ok("me transition peers on", who)


async def test_a_newcomer_meets_consenting_peers_of_the_same_transition_never_twice(jb: JourneyBot) -> None:
    await _went_through(jb, "bob", "America/New_York")
    await jb.ok('me set --organisation "City of Tulsa" --role "Chief of Staff"', "bob")
    await _went_through(jb, "cy", "America/Denver", peers=False)  # did not offer
    await _went_through(jb, "dee", "America/Chicago", level="county")  # another level
    await _went_through(jb, "eve", "Asia/Tokyo")  # no working hours in common
    await _went_through(jb, "fay", "America/Chicago", starts="2020-01-06")  # too long ago
    await jb.ok(
        "me transition start leaving-office --role chief-of-staff --level city --starts 2025-01-06", "gus"
    )
    await jb.ok("me transition peers on", "gus")  # another transition
    await jb.ok("me transition start new-chief-of-staff --level city --starts 2027-03-02", "ana")
    await jb.run_until(utc(2027, 3, 10))
    [step] = jb.dms("ana", "Someone who has done this job")
    assert "- Bob (Chief of Staff, City of Tulsa), works 09:00-17:00 America/New_York" in step.reply.text
    for other in ("Cy", "Dee", "Eve", "Fay", "Gus"):
        assert f"- {other}" not in step.reply.text
    [told] = jb.dms("bob", "Peer introduction")
    assert "Ana" in told.reply.text and "me transition peers off" in told.reply.text
    assert await jb.count("journey_intro") == 1
    # Ana starts over on the same journey: Bob is not introduced to her a second time.
    await jb.ok("me transition stop", "ana")
    await jb.ok("me transition start new-chief-of-staff --level city --starts 2027-03-12", "ana")
    await jb.run_until(utc(2027, 3, 20))
    second = jb.dms("ana", "Someone who has done this job")[1]
    assert "- Bob" not in second.reply.text and "has offered to talk yet" in second.reply.text
    assert len(jb.dms("bob", "Peer introduction")) == 1


async def test_a_leaving_members_practices_go_to_their_successor_who_is_told_once(jb: JourneyBot) -> None:
    for title in ("Budget town halls", "Cabinet decision log"):
        await jb.ok(f'practice share --title "{title}" --what "It worked." --attribution named', "ana")
    assert "Leaving office journey" in await jb.fails("me transition handover", "ana")
    await jb.ok(
        "me transition start leaving-office --role chief-of-staff --level city --starts 2027-03-02", "ana"
    )
    await jb.run_until(utc(2027, 3, 6))
    [prompt] = jb.dms("ana", "Write the handover note")
    assert "me transition handover" in prompt.reply.text and "me data" in prompt.reply.text
    shown = await jb.ok("me transition handover", "ana")
    assert "P1 Budget town halls" in dict(shown.fields)["Your practices"]
    assert "Only the author or a coordinator" in await jb.fails("practice retire P1", "jo")
    saved = await jb.ok(
        'me transition handover --in-flight "Budget amendment due 3 June" '
        '--contacts "Finance: Dana" --successor @jo',
        "ana",
    )
    assert "told once" in saved.text and "me data" in saved.footer
    await jb.ok('me transition handover --contacts "Finance: Dana; Parks: Lee" --successor @jo', "ana")
    await jb.run_until(utc(2027, 3, 7))
    [told] = jb.dms("jo", "named you as their successor")
    assert "P1 Budget town halls" in told.reply.text and "P2 Cabinet decision log" in told.reply.text
    assert "Budget amendment due 3 June" in told.reply.text
    await jb.ok("practice retire P1", "jo")  # the successor looks after them now
    mine = await jb.ok("practice mine", "jo")
    assert "You look after 2 more" in mine.text
    [item] = (await jb.ok("practice search cabinet")).items
    assert ("Shared by", "Ana") in item.fields  # the credit stays the author's


async def test_practices_can_go_to_the_coordinators_instead(jb: JourneyBot) -> None:
    from bot.permissions import Role

    await jb.grant("cora", Role.COORDINATOR)
    await jb.ok('practice share --title "Budget town halls" --what "It worked." --attribution named', "ana")
    await jb.ok("me transition start leaving-office --role chief-of-staff --level city", "ana")
    await jb.ok("me transition handover --to-coordinators", "ana")
    await jb.ok("me transition handover --to-coordinators", "ana")
    await jb.run_until(jb.clock() + timedelta(minutes=1))
    assert len(jb.dms("cora", "passed their practices to the coordinators")) == 1


async def test_a_coordinator_starts_a_journey_for_a_member(jb: JourneyBot) -> None:
    from bot.permissions import Role

    await jb.grant("cora", Role.COORDINATOR)
    reply = await jb.ok(
        "transition start @ana new-city-manager --role city-manager --level city --starts 2027-03-02", "cora"
    )
    assert "Ana is on 'New city manager'" in reply.text
    await jb.run_until(utc(2027, 3, 3))
    assert jb.dms("ana", "Cora started 'New city manager' for you")
    assert jb.dms("ana", "New city manager · step 1 of 9")
    assert "already on New city manager" in await jb.fails(
        "me transition start new-chief-of-staff --level city", "ana"
    )
    assert "--role: say which kind of role" in await jb.fails(
        "me transition start leaving-office --level city", "bob"
    )
    assert "no journey 'astrology'" in await jb.fails("me transition start astrology --level city", "bob")
    assert "--level" in await jb.fails("me transition start new-city-manager --level galaxy", "bob")


async def test_me_data_and_forget_cover_journeys(jb: JourneyBot) -> None:
    await _went_through(jb, "bob", "America/New_York")
    await jb.ok("me transition start new-chief-of-staff --level city --starts 2027-03-02", "ana")
    await jb.run_until(utc(2027, 3, 10))
    await jb.ok("me transition answer Keep a decision log.", "ana")
    data = json.loads((await jb.ok("me data", "ana")).attachments[0].content)
    assert data["journeys"]["runs"][0]["journey"] == "new-chief-of-staff"
    assert data["journeys"]["answers"][0]["answer"] == "Keep a decision log."
    await jb.ok("me forget --confirm", "ana")
    for table in ("journey_run", "journey_answer", "journey_step_log", "journey_intro"):
        remaining = await jb.app.store.run(
            lambda s, t=table: s.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
        )
        assert remaining == (1 if table == "journey_run" else 11 if table == "journey_step_log" else 0), table


# ---- the files -----------------------------------------------------------------------------------------


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "journeys"
    shutil.copytree(JOURNEYS_DIR, target)
    return target


def _edit(folder: Path, name: str, change: Callable[[dict[str, Any]], Any]) -> None:
    path = folder / f"{name}.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_the_shipped_journeys_are_valid_and_grounded_in_the_catalog() -> None:
    from content.resources.catalog import load_catalog
    from scheduling.journeys.definitions import load_journeys

    journeys = {j.journey: j for j in load_journeys(catalog_ids={e.id for e in load_catalog()})}
    assert {"new-chief-of-staff", "new-city-manager", "leaving-office"} <= set(journeys)
    assert journeys["new-chief-of-staff"].title == CHIEF
    assert [s.day for s in journeys["new-chief-of-staff"].steps] == CHIEF_DAYS
    for j in journeys.values():
        assert any(s.introduce for s in j.steps) and any(s.question for s in j.steps)
        assert any(r for s in j.steps for r in s.resources)
    assert any(s.handover for s in journeys["leaving-office"].steps)


@pytest.mark.parametrize(
    "breakage,step,field",
    [
        (lambda d: d["steps"][1].pop("message"), "listening-tour", "message"),
        (lambda d: d["steps"][2].update(day=-4), "peers", "day"),
        (lambda d: d["steps"][3].update(resources=["no-such-book"]), "operating-rhythm", "resources"),
        (lambda d: d["steps"][4].update(colour="blue"), "stakeholder-map", "colour"),
    ],
)
async def test_a_broken_journey_file_stops_the_start_and_changes_nothing(
    settings: Settings, tmp_path: Path, breakage: Any, step: str, field: str
) -> None:
    folder = _copy(tmp_path)
    app = build_app(settings, journeys_dir=folder)
    before = await app.store.run(
        lambda s: s.execute(text("SELECT slug, source_hash FROM journey ORDER BY slug")).all()
    )
    app.close()
    _edit(folder, "new-city-manager", lambda d: d["steps"][0].update(title="A changed title"))
    _edit(folder, "new-chief-of-staff", breakage)
    with pytest.raises(JourneyError) as info:
        build_app(settings, journeys_dir=folder)
    message = str(info.value)
    assert (
        "new-chief-of-staff.yaml" in message and f"step '{step}'" in message and f"field '{field}'" in message
    )
    store = Store(make_engine(settings.resolved_database_url))
    try:
        assert before == await store.run(
            lambda s: s.execute(text("SELECT slug, source_hash FROM journey ORDER BY slug")).all()
        )
    finally:
        store.close()
