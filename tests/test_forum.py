"""The monthly open forum, end to end through the dispatcher with a clock we move by hand."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import AsyncIterator

import pytest
from sqlalchemy import text

from bot.app import build_app
from bot.config import Settings
from tests.fakes import FakeClock, RecordingMessenger
from tests.harness import ClockedHarness

RULE = '"first Tuesday of every month, 12:00 to 13:00, America/New_York"'


class ForumBot(ClockedHarness):
    """The forum tests' harness: the app on a hand-moved clock, posts recorded."""


@pytest.fixture
async def fb(settings: Settings) -> AsyncIterator[ForumBot]:
    clock = FakeClock(datetime(2026, 2, 20, 15, 0, tzinfo=timezone.utc))
    app = build_app(settings, clock=clock)
    messenger = RecordingMessenger()
    app.add_messenger(messenger)
    yield ForumBot(app, clock, messenger)
    app.close()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


async def test_a_full_cycle_posts_each_step_exactly_once(fb: ForumBot) -> None:
    set_reply = await fb.ok(f"forum set --rule {RULE} --channel forum --facilitator @ana --announce-days 5")
    assert "Tue 3 Mar 2026, 12:00 EST" in set_reply.text
    await fb.ok("forum propose Keeping staff through a budget freeze", "bob")
    await fb.ok("forum propose Onboarding a new mayor", "cy")
    await fb.ok("forum vote T2", "bob")
    await fb.ok("forum vote T2", "cy")
    await fb.run_until(utc(2026, 3, 3, 17, 0))  # the forum opens at 12:00 EST = 17:00 UTC
    kinds = [(s.kind, s.target) for s in fb.messenger.sent]
    assert kinds == [("post", "forum"), ("post", "forum"), ("post", "forum"), ("thread", "forum")]
    announce, day, hour, opened = fb.messenger.texts()
    assert "topic: Onboarding a new mayor" in announce and "Facilitator: Ana" in announce
    assert "starts tomorrow" in day and "starts in one hour" in hour
    assert "Ana is facilitating" in opened
    await fb.ok("forum reply We hired a transition coordinator for the new mayor, see https://example.gov/t", "bob")
    await fb.ok("forum reply We paired each new director with a peer.", "cy")
    await fb.run_until(utc(2026, 3, 3, 19, 0))
    wrap = [s for s in fb.messenger.sent if s.kind == "reply" and "Wrap-up" in s.reply.text]
    assert len(wrap) == 1
    assert "Took part: 2 member(s)." in wrap[0].reply.text
    assert "Resources mentioned: https://example.gov/t" in wrap[0].reply.text
    assert "Topics carried over to next time: Keeping staff through a budget freeze" in wrap[0].reply.text
    invites = [s for s in fb.messenger.sent if s.kind == "dm"]
    assert sorted(s.target for s in invites) == ["bob", "cy"]
    assert invites[0].reply.choices[0].command.startswith("forum capture R")
    before = len(fb.messenger.sent)
    await fb.run_until(utc(2026, 3, 10, 0, 0))
    for _ in range(3):
        await fb.app.scheduler.tick()
    assert len(fb.messenger.sent) == before  # nothing repeats; the April forum is announced later
    history = await fb.ok("forum history")
    assert ("Took part", "2") in history.items[0].fields


async def test_reply_captured_by_its_author_is_a_practice_linked_to_the_forum(fb: ForumBot) -> None:
    await fb.ok(f"forum set --rule {RULE} --channel forum")
    await fb.run_until(utc(2026, 3, 3, 17, 0))
    await fb.ok("forum reply Stay interviews with every manager cut turnover.", "bob")
    form = await fb.ok("forum capture R1", "bob")
    assert form.form is not None and form.form.prefilled["what"].startswith("Stay interviews")
    saved = await fb.ok('forum capture R1 --title "Stay interviews" --attribution role '
                        '--role-description "a city manager"', "bob")
    assert "Credited as: a city manager" in saved.text
    found = await fb.ok("practice search interview")
    assert [i.title for i in found.items] == ["Stay interviews"]
    shown = await fb.ok("practice show P1")
    assert ("Source", "open forum 2026-03-03") in shown.fields and "Bob" not in shown.plain_text()
    assert "Practices: 1" in (await fb.ok("forum history")).plain_text()
    assert "already saved as practice P1" in await fb.fails("forum capture R1", "bob")


async def test_capture_by_someone_else_asks_the_author_first(fb: ForumBot) -> None:
    await fb.ok(f"forum set --rule {RULE} --channel forum")
    await fb.run_until(utc(2026, 3, 3, 17, 0))
    await fb.ok("forum reply A shared permit desk with the county.", "bob")
    asked = await fb.ok("forum capture R1", "cy")
    assert "Nothing is saved until they answer" in asked.text
    assert await fb.count("practice") == 0
    await fb.app.scheduler.tick()
    dm = [s for s in fb.messenger.sent if s.kind == "dm"][-1]
    assert dm.target == "bob" and [c.label for c in dm.reply.choices] == ["Named", "Role only", "Anonymous",
                                                                          "No thanks"]
    assert "Only the person who wrote it" in await fb.fails(dm.reply.choices[2].command, "cy")
    done = await fb.ok(dm.reply.choices[2].command, "bob")
    assert "Credited as: anonymous (Chatham House Rule)" in done.text
    assert "Bob" not in (await fb.ok("practice search permit")).plain_text()


async def test_skip_and_move_tell_members_once_and_replan(fb: ForumBot) -> None:
    await fb.ok(f"forum set --rule {RULE} --channel forum")
    await fb.ok("forum skip 2026-03-03 spring break")
    moved = await fb.ok('forum move 2026-04-07 --to "2026-04-08 15:00"')
    assert "to Wed 8 Apr 2026, 15:00 EDT" in moved.text
    await fb.app.scheduler.tick()
    notices = fb.messenger.texts("post")
    assert notices[0] == "The open forum on 2026-03-03 will not take place: spring break."
    assert "moves to" in notices[1]
    await fb.run_until(utc(2026, 4, 8, 19, 0))  # 15:00 EDT
    threads = [s for s in fb.messenger.sent if s.kind == "thread"]
    assert len(threads) == 1 and "Open forum" not in fb.messenger.texts("post")[0]
    states = dict((await fb.app.store.run(lambda s: s.execute(text(
        "SELECT key, state FROM planned_post WHERE key LIKE 'forum:2026-03-03:%'")).all())))
    assert set(states.values()) <= {"cancelled", "sent"}  # the skip notice went, nothing else
    assert states["forum:2026-03-03:skip-notice"] == "sent"


@pytest.mark.parametrize(("zone", "since", "until", "hours"), [
    ("America/New_York", utc(2026, 10, 20, 12, 0), utc(2026, 11, 11, 0, 0),
     {"2026-10-27": "16", "2026-11-03": "17"}),  # EDT, then EST after 1 November
    ("Europe/London", utc(2027, 3, 16, 12, 0), utc(2027, 4, 1, 0, 0),
     {"2027-03-23": "12", "2027-03-30": "11"}),  # GMT, then BST from 28 March
], ids=["new-york-november", "london-march"])
async def test_a_weekly_forum_lands_at_noon_local_across_a_daylight_saving_change(
        fb: ForumBot, zone: str, since: datetime, until: datetime, hours: dict[str, str]) -> None:
    """The whole path (rule, planning, posting, stored start) keeps noon local; the cadence tests check the
    offsets themselves for more dates and zones."""
    fb.clock.set(since)
    await fb.ok(f'forum set --rule "every Tuesday 12:00 to 13:00 {zone}" --channel forum')
    await fb.run_until(until)
    rows = await fb.app.store.run(lambda s: s.execute(text(
        "SELECT slot, starts_at FROM forum_occurrence ORDER BY slot")).all())
    stored = {str(slot): str(start)[11:13] for slot, start in rows}
    assert {slot: stored.get(slot) for slot in hours} == hours


async def test_bad_input_is_explained_and_changes_nothing(fb: ForumBot) -> None:
    assert "--rule: could not read" in await fb.fails('forum set --rule "fist tusday monthly at noon"')
    message = await fb.fails('forum set --rule "first Tuesday of every month at 13:00 to 12:00"')
    assert "not after the start time" in message and 'something like "first Tuesday of every month' in message
    assert await fb.count("forum_settings") == 0 and await fb.count("planned_post") == 0
    await fb.ok(f"forum set --rule {RULE} --channel forum")
    assert "is in the past" in await fb.fails('forum move 2026-03-03 --to "2025-01-01 12:00"')
    message = await fb.fails("forum propose " + "x" * 10_000)
    assert "too long: 10,000 characters, the limit is 300" in message
    await fb.ok("forum propose Budget season")
    await fb.ok("forum vote T1", "bob")
    assert "already voted for T1" in await fb.fails("forum vote T1", "bob")
    assert await fb.count("forum_vote") == 1 and await fb.count("forum_topic") == 1
    assert "already proposed as T1" in await fb.fails("forum propose budget SEASON", "cy")
    assert "There is no forum on 2026-03-04" in await fb.fails("forum skip 2026-03-04")
    assert "Only coordinators" in await fb.fails("forum skip 2026-03-03", "bob")


async def test_a_reminder_is_not_sent_after_the_start_when_the_bot_was_down(fb: ForumBot) -> None:
    await fb.ok(f"forum set --rule {RULE} --channel forum --announce-days 1")
    fb.clock.set(utc(2026, 3, 3, 16, 50))  # down since before the day-before reminder; 10 min to start
    await fb.app.scheduler.tick()
    sent = fb.messenger.texts()
    assert not any("starts tomorrow" in t for t in sent) and not any("in one hour" in t for t in sent)
    problems = await fb.ok("schedule list --show problems")
    assert {i.title.split(" · ")[1] for i in problems.items} >= {"forum:2026-03-03:remind-day",
                                                                 "forum:2026-03-03:remind-hour"}
    assert all(("State", "skipped") in i.fields for i in problems.items)


async def test_deleting_a_forum_keeps_its_practices(fb: ForumBot) -> None:
    await fb.ok(f"forum set --rule {RULE} --channel forum")
    await fb.run_until(utc(2026, 3, 3, 17, 0))
    await fb.ok("forum reply Shared fleet garage.", "bob")
    await fb.ok('forum capture R1 --title "Fleet" --attribution named', "bob")
    await fb.app.store.run(lambda s: s.execute(text("DELETE FROM forum_occurrence WHERE slot = '2026-03-03'")))
    link = await fb.app.store.run(lambda s: s.execute(text("SELECT forum_occurrence_id FROM practice")).scalar())
    assert link is None and await fb.count("practice") == 1


async def test_setting_a_rule_warns_about_public_holidays(fb: ForumBot) -> None:
    fb.clock.set(utc(2026, 7, 1, 12, 0))
    reply = await fb.ok('forum set --rule "first Monday of every month at noon for 1 hour America/New_York" '
                        "--channel forum")
    assert "Warning: Mon 7 Sep 2026, 12:00 EDT falls on Labor Day" in reply.text
    gb = await fb.ok('forum set --rule "last Monday of the month at 10:00 Europe/London" --holidays GB '
                     "--channel forum")
    assert "Summer Bank Holiday" in gb.text or "Bank Holiday" in gb.text
    assert "--holidays" in await fb.fails('forum set --rule "first Monday monthly at noon" --holidays XX')


async def test_forum_next_shows_times_in_the_askers_zone(fb: ForumBot) -> None:
    await fb.ok(f"forum set --rule {RULE} --channel forum")
    await fb.ok("me timezone America/Los_Angeles", "bob")
    await fb.ok("me timezone Europe/London", "cy")
    la = await fb.ok("forum next --count 1", "bob")
    london = await fb.ok("forum next --count 1", "cy")
    assert ("When", "Tue 3 Mar 2026, 09:00 PST") in la.items[0].fields
    assert ("When", "Tue 3 Mar 2026, 17:00 GMT") in london.items[0].fields
    assert "not a time zone" in await fb.fails("me timezone Mars/Olympus", "bob")
