"""Network-coordinator commands are declared so, not hand-checked: the dispatcher refuses others, help
shows them only to people who coordinate some network, and each such action is in the audit log."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlmodel import select

from bot.app import build_app
from bot.config import Settings
from bot.store.models import AuditEntry
from tests.convening_world import utc
from tests.fakes import FakeClock, RecordingMessenger
from tests.harness import ClockedHarness

REFUSED = "Only the coordinators of Digital Leaders can do that"

# One successful line per network-coordinator command, in an order that works from a fresh network on
# 1 March 2027; "after" lines run once convening 1 has started.
AS_COORDINATOR = [
    "network requests digital-leaders",
    "network approve digital-leaders @ana",
    "network decline digital-leaders @bob",
    "network invite digital-leaders @dan",
    'convening schedule digital-leaders --title "Budget season" --start "2027-03-14 10:00" --duration 1h',
    'convening edit 1 --title "Budget season, part one"',
    'convening move 1 --to "2027-03-15 10:00"',
    'datepoll propose digital-leaders --title "Retreat" --slots "2027-04-01 10:00; 2027-04-02 10:00"',
    "datepoll confirm 1 2",
    'convening series digital-leaders --title "Circle" --rule "monthly on the first Tuesday at 10:00" --count 2',
    "convening series-cancel 1",
    'intro round digital-leaders --on "2027-05-01 09:00"',
    "convening cancel 2",
]
AFTER_START = ["after attend 1 @ana", "after export 1"]


@pytest.fixture
async def bot(settings: Settings) -> AsyncIterator[ClockedHarness]:
    clock = FakeClock(utc(2027, 3, 1, 12, 0))
    app = build_app(settings, clock=clock)
    harness = ClockedHarness(app, clock, RecordingMessenger())
    app.add_messenger(harness.messenger)
    await harness.ok('network create "Digital Leaders" --policy approval')
    await harness.ok("network coordinator add digital-leaders @cora")
    await harness.ok("network join digital-leaders", "ana")
    await harness.ok("network join digital-leaders", "bob")
    yield harness
    app.close()


async def _audited(bot: ClockedHarness) -> list[str]:
    return await bot.app.store.run(lambda s: [e.action for e in s.exec(select(AuditEntry))])


async def test_every_network_coordinator_command_is_covered_here(bot: ClockedHarness) -> None:
    scoped = {c.path for c in bot.app.registry if c.scope is not None}
    covered = {
        c.path for line in AS_COORDINATOR + AFTER_START if (c := bot.app.registry.lookup(line.split())[0])
    }
    assert scoped == covered


async def test_help_lists_them_only_to_people_who_coordinate_a_network(bot: ClockedHarness) -> None:
    member_help = (await bot.ok("help", "ana")).text
    assert "convening rsvp" in member_help
    assert "convening schedule" not in member_help and "datepoll propose" not in member_help
    assert "after attend" not in (await bot.ok("help after", "ana")).text
    coordinator_help = (await bot.ok("help", "cora")).text
    assert "convening schedule" in coordinator_help and "intro round" in coordinator_help
    assert "For network coordinators" in (await bot.ok("help convening schedule", "cora")).text
    assert "convening schedule" in (await bot.ok("help")).text  # an admin sees everything


async def test_others_are_refused_and_nothing_changes(bot: ClockedHarness) -> None:
    for line in AS_COORDINATOR[:10]:  # a convening, a confirmed poll (convening 2), a series exist
        await bot.ok(line, "cora")
    tables = (
        "convening",
        "date_poll",
        "convening_series",
        "intro_round",
        "network_member",
        "convening_attendance",
    )
    before = {t: await bot.count(t) for t in tables}
    for line in AS_COORDINATOR + AFTER_START:
        assert REFUSED in await bot.fails(line, "ana"), line  # a member of the network, not a coordinator
    assert {t: await bot.count(t) for t in tables} == before
    assert "There is no convening 999" in await bot.fails("convening edit 999 --title X", "ana")


async def test_each_action_is_audited(bot: ClockedHarness) -> None:
    for line in AS_COORDINATOR:
        await bot.ok(line, "cora")
    bot.clock.set(utc(2027, 3, 15, 15, 30))  # convening 1 has started (10:00 Central)
    for line in AFTER_START:
        await bot.ok(line, "cora")
    audited = await _audited(bot)
    for line in AS_COORDINATOR + AFTER_START:
        cmd = bot.app.registry.lookup(line.split())[0]
        assert cmd is not None and cmd.path in audited, line
