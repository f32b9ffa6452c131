"""Peer introductions: the pure pairing rule, then rounds end to end through the scheduler (announcement,
pairing, follow-up, each DM exactly once), skipping, and bad input that changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.app import build_app
from bot.config import Settings
from scheduling.introductions.service import Candidate, overlap, pair_members, unpaired
from tests.fakes import FakeClock, RecordingMessenger
from tests.harness import ClockedHarness

AT = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)
LONDON, PARIS, BERLIN = "Europe/London", "Europe/Paris", "Europe/Berlin"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _members(*zones: str) -> list[Candidate]:
    return [Candidate(i + 1, z) for i, z in enumerate(zones)]


# ---- the pure rule ---------------------------------------------------------------------------------------


def test_even_count_pairs_everyone_deterministically() -> None:
    members = _members(LONDON, PARIS, BERLIN, LONDON)
    groups = pair_members(members, [], AT, seed=7)
    assert sorted(len(g) for g in groups) == [2, 2]
    assert unpaired(members, groups) == []
    assert pair_members(members, [], AT, seed=7) == groups  # same seed, same pairs


def test_pairs_avoid_partners_of_the_last_three_rounds() -> None:
    members = _members(LONDON, PARIS, BERLIN, LONDON)
    history = [[(1, 2), (3, 4)], [(1, 3), (2, 4)]]
    for seed in range(10):
        assert sorted(pair_members(members, history, AT, seed=seed)) == [(1, 4), (2, 3)]
    # Four rounds ago is long enough: 1 and 4 may meet again; the last three rounds still count.
    history = [[(1, 4), (2, 3)], [(1, 2), (3, 4)], [(1, 3), (2, 4)], [(5, 6)]]
    assert sorted(pair_members(members, history, AT, seed=1)) == [(1, 4), (2, 3)]
    # Everyone has met everyone recently: nobody is paired, and every one of them is reported.
    history = [[(1, 2), (3, 4)], [(1, 3), (2, 4)], [(1, 4), (2, 3)]]
    assert pair_members(members, history, AT) == []
    assert unpaired(members, []) == [1, 2, 3, 4]


def test_no_pair_without_overlapping_working_hours() -> None:
    # Honolulu (UTC-10) and Dubai (UTC+4), 09-17 local each: no common hour on any day.
    assert overlap("Pacific/Honolulu", "Asia/Dubai", AT).total_seconds() <= 0
    members = _members("Pacific/Honolulu", "Asia/Dubai")
    assert pair_members(members, [], AT) == []
    assert unpaired(members, []) == [1, 2]
    # London and New York share 14:00-17:00 London time: one pair.
    assert pair_members(_members(LONDON, "America/New_York"), [], AT) == [(1, 2)]
    # The one partner someone can have is kept for them: Honolulu pairs with Los Angeles, Dubai with London.
    members = _members("Pacific/Honolulu", "America/Los_Angeles", LONDON, "Asia/Dubai")
    assert sorted(pair_members(members, [], AT, seed=3)) == [(1, 2), (3, 4)]


def test_odd_count_makes_one_trio() -> None:
    members = _members(LONDON, PARIS, BERLIN, LONDON, PARIS)
    groups = pair_members(members, [], AT, seed=2)
    assert sorted(len(g) for g in groups) == [2, 3]
    assert unpaired(members, groups) == []
    assert sorted(len(g) for g in pair_members(_members(LONDON, PARIS, BERLIN), [], AT)) == [3]


def test_a_member_without_a_partner_is_left_out_not_forced() -> None:
    members = _members(LONDON, PARIS, "Pacific/Honolulu")
    groups = pair_members(members, [], AT)
    assert groups == [(1, 2)] and unpaired(members, groups) == [3]


# ---- end to end ------------------------------------------------------------------------------------------


class IntroBot(ClockedHarness):
    def dms(self, to: str, containing: str = "") -> list:  # type: ignore[type-arg]
        return [
            s.reply
            for s in self.messenger.sent
            if s.kind == "dm" and s.target == to and containing in s.reply.text
        ]


@pytest.fixture
async def ib(settings: Settings) -> AsyncIterator[IntroBot]:
    clock = FakeClock(utc(2027, 3, 1, 12, 0))
    app = build_app(settings, clock=clock)
    messenger = RecordingMessenger()
    app.add_messenger(messenger)
    bot = IntroBot(app, clock, messenger)
    await bot.ok('network create "Digital Leaders"')
    await bot.ok("network coordinator add digital-leaders @cora")
    await bot.ok(f"me timezone {LONDON}", "cora")
    for who, zone in (("ana", LONDON), ("bob", PARIS), ("cy", BERLIN), ("dee", "America/New_York")):
        await bot.ok(f"me timezone {zone}", who)
        await bot.ok("network join digital-leaders", who)
        await bot.ok("intro join digital-leaders", who)
    await bot.ok('me set --organisation "City of Lyon" --role "Chief Digital Officer"', "bob")
    yield bot
    app.close()


async def _round(ib: IntroBot, on: str = "2027-03-10 12:00") -> int:
    reply = await ib.ok(f'intro round digital-leaders --on "{on}"', "cora")
    return int(reply.text.split("round ")[1].split(" ")[0])


async def test_a_round_announces_pairs_and_follows_up_each_dm_exactly_once(ib: IntroBot) -> None:
    rid = await _round(ib)
    await ib.run_until(utc(2027, 3, 9, 11, 59))
    assert [s for s in ib.messenger.sent if s.kind == "dm"] == []
    await ib.run_until(utc(2027, 3, 9, 12, 0))
    for who in ("ana", "bob", "cy", "dee"):
        [announcement] = ib.dms(who, "introduced tomorrow")
        assert f"intro skip {rid}" in announcement.text
    assert ib.dms("cora") == []  # a coordinator who did not opt in hears nothing
    await ib.run_until(utc(2027, 3, 10, 12, 0))
    pairings = {who: ib.dms(who, "meet\n") for who in ("ana", "bob", "cy", "dee")}
    assert all(len(p) == 1 for p in pairings.values())
    partner_of_bob = [who for who in ("ana", "cy", "dee") if "- Bob" in pairings[who][0].text]
    assert len(partner_of_bob) == 1
    text = pairings[partner_of_bob[0]][0].text
    assert "Bob (Chief Digital Officer, City of Lyon), works 09:00-17:00 Europe/Paris" in text
    await ib.run_until(utc(2027, 3, 17, 12, 0))
    for who in ("ana", "bob", "cy", "dee"):
        [follow] = ib.dms(who, "did you meet")
        assert [c.label for c in follow.choices] == ["Yes, we met", "No"]
    [follow] = ib.dms("ana", "did you meet")
    answered = await ib.ok(follow.choices[0].command, "ana")
    assert "Glad you met" in answered.text
    assert "not in introduction" in await ib.fails(follow.choices[0].command, "cora")
    before = len(ib.messenger.sent)
    ib.clock.set(utc(2027, 3, 30))
    for _ in range(2):
        await ib.app.scheduler.tick()
    assert len(ib.messenger.sent) == before
    status = await ib.ok("intro status digital-leaders", "ana")
    assert ("You", "taking part") in status.fields and any("you met" == i.body for i in status.items)


async def test_skipping_a_round_excludes_you_and_an_odd_count_makes_a_trio(ib: IntroBot) -> None:
    rid = await _round(ib)
    await ib.run_until(utc(2027, 3, 9, 12, 0))
    [announcement] = ib.dms("dee", "introduced tomorrow")
    assert "You sit out round" in (await ib.ok(announcement.choices[0].command, "dee")).text
    assert "already skip" in await ib.fails(f"intro skip {rid}", "dee")
    await ib.run_until(utc(2027, 3, 10, 12, 0))
    assert ib.dms("dee", "meet\n") == []
    [trio] = ib.dms("ana", "meet\n")
    assert "- Bob" in trio.text and "- Cy" in trio.text
    assert "too late to skip" in await ib.fails(f"intro skip {rid}", "ana")
    assert await ib.count("intro_pairing") == 1 and await ib.count("intro_pairing_member") == 3


async def test_a_member_with_no_overlapping_partner_is_told(ib: IntroBot) -> None:
    for who in ("bob", "cy", "dee"):
        await ib.ok("intro leave digital-leaders", who)
    await ib.ok("me timezone Pacific/Honolulu", "ana")
    await ib.ok("me timezone Asia/Dubai", "bob")
    await ib.ok("intro join digital-leaders", "bob")
    await _round(ib)
    await ib.run_until(utc(2027, 3, 10, 13, 0))
    for who in ("ana", "bob"):
        [told] = ib.dms(who, "nobody whose working hours overlap")
        assert ib.dms(who, "meet\n") == []
    assert await ib.count("intro_pairing") == 0


async def test_introductions_respect_reminders_off_and_quiet_hours(ib: IntroBot) -> None:
    await ib.ok("me reminders off", "bob")  # no announcement, no follow-up; the introduction itself still
    await ib.ok("me quiet-hours 12:00-14:00", "cy")  # Berlin: the round is at 13:00 there
    await _round(ib)
    await ib.run_until(utc(2027, 3, 9, 12, 0))  # the announcement: 13:00 in Berlin, quiet for Cy
    assert ib.dms("bob", "introduced tomorrow") == [] and ib.dms("cy", "introduced tomorrow") == []
    assert len(ib.dms("ana", "introduced tomorrow")) == 1
    await ib.run_until(utc(2027, 3, 9, 13, 0))  # 14:00 Berlin: Cy's quiet hours are over
    assert len(ib.dms("cy", "introduced tomorrow")) == 1
    await ib.run_until(utc(2027, 3, 10, 12, 0))
    assert len(ib.dms("bob", "meet\n")) == 1 and ib.dms("cy", "meet\n") == []
    await ib.run_until(utc(2027, 3, 10, 13, 0))
    assert len(ib.dms("cy", "meet\n")) == 1
    await ib.run_until(utc(2027, 3, 18, 12, 0))
    assert ib.dms("bob", "did you meet") == [] and len(ib.dms("ana", "did you meet")) == 1
    assert len(ib.dms("cy", "did you meet")) == 1


async def test_bad_input_changes_nothing(ib: IntroBot) -> None:
    await ib.ok('network create "City Managers"')
    counts = [await ib.count(t) for t in ("intro_opt_in", "intro_round", "planned_post", "intro_skip")]
    assert "Join first: network join city-managers" in await ib.fails("intro join city-managers", "ana")
    assert "already in the introductions" in await ib.fails("intro join digital-leaders", "ana")
    assert "in the past" in await ib.fails('intro round digital-leaders --on "2027-02-01 09:00"', "cora")
    assert "Only the coordinators" in await ib.fails(
        'intro round digital-leaders --on "2027-03-14 09:00"', "ana"
    )
    assert "no introduction round 99" in await ib.fails("intro skip 99", "ana")
    assert "not in introduction 5" in await ib.fails("intro met 5 yes", "ana")
    assert "nothing to leave" in await ib.fails("intro leave city-managers", "ana")
    assert [
        await ib.count(t) for t in ("intro_opt_in", "intro_round", "planned_post", "intro_skip")
    ] == counts


async def test_me_data_and_forget_cover_introductions(ib: IntroBot) -> None:
    import json

    data = json.loads((await ib.ok("me data", "ana")).attachments[0].content)
    assert data["introductions"]["opted_in"] == ["digital-leaders"]
    await ib.ok("me forget --confirm", "ana")
    assert await ib.count("intro_opt_in") == 3
