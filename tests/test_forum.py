"""The monthly open forum, end to end through the dispatcher with a clock we move by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from bot.app import build_app
from bot.config import Settings
from bot.messages import Place, Visibility
from bot.messenger import PostTags
from tests.fakes import FakeClock, RecordingMessenger
from tests.harness import ClockedHarness

RULE = '"first Tuesday of every month, 12:00 to 13:00, America/New_York"'


class ForumBot(ClockedHarness):
    """The forum tests' harness: the app on a hand-moved clock, posts recorded."""


@pytest.fixture
async def fb(settings: Settings) -> AsyncIterator[ForumBot]:
    clock = FakeClock(datetime(2026, 2, 20, 15, 0, tzinfo=UTC))
    app = build_app(settings, clock=clock)
    messenger = RecordingMessenger()
    app.add_messenger(messenger)
    yield ForumBot(app, clock, messenger)
    app.close()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


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
    await fb.ok(
        "forum reply We hired a transition coordinator for the new mayor, see https://example.gov/t", "bob"
    )
    await fb.ok("forum reply We paired each new director with a peer.", "cy")
    await fb.run_until(utc(2026, 3, 3, 19, 0))
    wrap = [s for s in fb.messenger.sent if s.kind == "reply" and "Wrap-up" in s.reply.text]
    assert len(wrap) == 1
    assert "Took part: 2 members." in wrap[0].reply.text
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
    saved = await fb.ok(
        'forum capture R1 --title "Stay interviews" --attribution role --role-description "a city manager"',
        "bob",
    )
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
    assert dm.target == "bob" and [c.label for c in dm.reply.choices] == [
        "Named",
        "Role only",
        "Anonymous",
        "No thanks",
    ]
    assert "This is request C1" in dm.reply.text and "forum consent C1 named" in dm.reply.text  # what to type
    assert "Cy would like to save what you shared" in dm.reply.text
    assert "Only the person who wrote it" in await fb.fails(dm.reply.choices[2].command, "cy")
    done = await fb.ok(dm.reply.choices[2].command, "bob")
    assert "Credited as: anonymous (Chatham House Rule)" in done.text
    assert "Bob" not in (await fb.ok("practice search permit")).plain_text()


async def test_an_anonymous_capture_tells_the_author_their_reply_is_still_in_the_thread(fb: ForumBot) -> None:
    await fb.ok(f"forum set --rule {RULE} --channel forum")
    await fb.run_until(utc(2026, 3, 3, 17, 0))
    await fb.ok("forum reply Stay interviews with every manager cut turnover.", "bob")
    form = await fb.ok("forum capture R1", "bob")
    assert form.form is not None
    what = next(f for f in form.form.fields if f.name == "what")
    assert "reword it: your reply stays in the thread under your name" in what.help  # said before saving
    saved = await fb.ok('forum capture R1 --title "Stay interviews" --attribution anonymous', "bob")
    assert saved.visibility is Visibility.PRIVATE  # in the channel, next to Bob's command, it would name him
    assert "your reply in the forum thread is still visible under your name, word for word" in saved.text
    assert 'practice edit P1 --what "your reworded text"' in saved.text
    await fb.ok('practice edit P1 --what "Exit-risk conversations with each manager."', "bob")
    assert "Stay interviews with every" not in (await fb.ok("practice show P1")).plain_text()


async def test_the_author_asked_by_someone_else_may_reword_before_saving(fb: ForumBot) -> None:
    await fb.ok(f"forum set --rule {RULE} --channel forum")
    await fb.run_until(utc(2026, 3, 3, 17, 0))
    await fb.ok("forum reply Our permit desk is shared with Lake County.", "bob")
    await fb.ok("forum reply We shared a fleet garage.", "bob")
    await fb.ok("forum capture R1", "cy")
    await fb.ok("forum capture R2", "cy")
    await fb.app.scheduler.tick()
    asked = [s.reply.text for s in fb.messenger.sent if s.kind == "dm"]
    assert "your reply stays in the thread under your name" in asked[0]
    assert 'forum consent C1 anonymous --what "your reworded text"' in asked[0]
    done = await fb.ok(
        'forum consent C1 anonymous --what "A county and a city share one permit desk."', "bob"
    )
    assert "Credited as: anonymous" in done.text and "still visible" not in done.text
    shown = (await fb.ok("practice show P1")).plain_text()
    assert "share one permit desk" in shown and "Lake County" not in shown
    verbatim = await fb.ok('forum consent C2 role --role-description "a city manager"', "bob")
    assert "your reply in the forum thread is still visible under your name" in verbatim.text


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
    states = dict(
        await fb.app.store.run(
            lambda s: s.execute(
                text("SELECT key, state FROM planned_post WHERE key LIKE 'forum:2026-03-03:%'")
            ).all()
        )
    )
    assert set(states.values()) <= {"cancelled", "sent"}  # the skip notice went, nothing else
    assert [state for key, state in states.items() if ":skip-notice:" in key] == ["sent"]


@pytest.mark.parametrize(
    ("zone", "since", "until", "hours"),
    [
        (
            "America/New_York",
            utc(2026, 10, 20, 12, 0),
            utc(2026, 11, 11, 0, 0),
            {"2026-10-27": "16", "2026-11-03": "17"},
        ),  # EDT, then EST after 1 November
        (
            "Europe/London",
            utc(2027, 3, 16, 12, 0),
            utc(2027, 4, 1, 0, 0),
            {"2027-03-23": "12", "2027-03-30": "11"},
        ),  # GMT, then BST from 28 March
    ],
    ids=["new-york-november", "london-march"],
)
async def test_a_weekly_forum_lands_at_noon_local_across_a_daylight_saving_change(
    fb: ForumBot, zone: str, since: datetime, until: datetime, hours: dict[str, str]
) -> None:
    """The whole path (rule, planning, posting, stored start) keeps noon local; the cadence tests check the
    offsets themselves for more dates and zones."""
    fb.clock.set(since)
    await fb.ok(f'forum set --rule "every Tuesday 12:00 to 13:00 {zone}" --channel forum')
    await fb.run_until(until)
    rows = await fb.app.store.run(
        lambda s: s.execute(text("SELECT slot, starts_at FROM forum_occurrence ORDER BY slot")).all()
    )
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
    assert {i.title.split(" · ")[1] for i in problems.items} >= {
        "forum:2026-03-03:remind-day",
        "forum:2026-03-03:remind-hour",
    }
    assert all(("State", "skipped") in i.fields for i in problems.items)


async def test_deleting_a_forum_keeps_its_practices(fb: ForumBot) -> None:
    await fb.ok(f"forum set --rule {RULE} --channel forum")
    await fb.run_until(utc(2026, 3, 3, 17, 0))
    await fb.ok("forum reply Shared fleet garage.", "bob")
    await fb.ok('forum capture R1 --title "Fleet" --attribution named', "bob")
    await fb.app.store.run(
        lambda s: s.execute(text("DELETE FROM forum_occurrence WHERE slot = '2026-03-03'"))
    )
    link = await fb.app.store.run(
        lambda s: s.execute(text("SELECT forum_occurrence_id FROM practice")).scalar()
    )
    assert link is None and await fb.count("practice") == 1


async def test_setting_a_rule_warns_about_public_holidays(fb: ForumBot) -> None:
    fb.clock.set(utc(2026, 7, 1, 12, 0))
    reply = await fb.ok(
        'forum set --rule "first Monday of every month at noon for 1 hour America/New_York" --channel forum'
    )
    assert "Warning: Mon 7 Sep 2026, 12:00 EDT falls on Labor Day" in reply.text
    gb = await fb.ok(
        'forum set --rule "last Monday of the month at 10:00 Europe/London" --holidays GB --channel forum'
    )
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


async def test_forum_set_tags_go_with_every_post_the_forum_makes(fb: ForumBot) -> None:
    reply = await fb.ok(f'forum set --rule {RULE} --channel forum --tags "Open forum, Monthly"')
    assert "Its posts are tagged: Open forum, Monthly" in reply.text
    await fb.run_until(utc(2026, 3, 3, 17, 0))
    assert [s.kind for s in fb.messenger.sent] == ["post", "post", "post", "thread"]
    assert {s.tags for s in fb.messenger.sent} == {PostTags(names=("Open forum", "Monthly"))}
    await fb.ok(f"forum set --rule {RULE} --channel forum")  # without --tags: the default rule again
    await fb.run_until(utc(2026, 4, 7, 16, 0))
    assert fb.messenger.sent[-1].kind == "thread"
    assert fb.messenger.sent[-1].tags == PostTags(containing=("forum",), from_title=True)
    too_many = await fb.fails(f"forum set --rule {RULE} --tags a,b,c,d,e,f")
    assert "--tags: a post carries at most 5 tags, got 6" in too_many and "Example:" in too_many


# ---- the forum agrees with itself ------------------------------------------------------------------------


async def _vote(fb: ForumBot) -> None:
    """T1 "Budget freeze" gets two votes, T2 "New mayor" one."""
    await fb.ok("forum propose Budget freeze", "bob")
    await fb.ok("forum propose New mayor", "cy")
    for who in ("bob", "cy"):
        await fb.ok("forum vote T1", who)
    await fb.ok("forum vote T2", "dee")


async def test_an_announcement_and_a_reminder_due_together_name_the_same_topic(fb: ForumBot) -> None:
    await fb.ok(f"forum set --rule {RULE} --channel forum --announce-days 1")  # both due a day before
    await _vote(fb)
    await fb.run_until(utc(2026, 3, 2, 17, 0))
    announce, day = sorted(fb.messenger.texts("post"))  # sent side by side, in either order
    assert announce.startswith("Monthly open forum — topic: Budget freeze")
    assert day.startswith("Reminder: the open forum starts tomorrow") and "Topic: Budget freeze." in day
    await fb.run_until(utc(2026, 3, 3, 17, 0))
    hour, opened = fb.messenger.texts()[2:]
    assert "starts in one hour" in hour and "Topic: Budget freeze." in hour
    assert opened.startswith("The open forum is open: Budget freeze")
    assert (await fb.ok("forum topics")).items[0].title == "New mayor"  # the other one waits for next time


async def test_two_forums_due_together_each_get_their_own_topic(fb: ForumBot) -> None:
    await fb.ok(f"forum set --rule {RULE} --channel forum --announce-days 5")
    await _vote(fb)
    # April's forum moves to 7 March: its announcement falls due with the March forum's day-before reminder.
    await fb.ok('forum move 2026-04-07 --to "2026-03-07 12:00"')
    fb.clock.set(utc(2026, 3, 2, 17, 0))  # the bot was down (March's announcement was missed): both due now
    await fb.app.scheduler.tick()
    march = next(t for t in fb.messenger.texts("post") if t.startswith("Reminder"))
    april = next(t for t in fb.messenger.texts("post") if t.startswith("Monthly open forum"))
    assert "Topic: Budget freeze." in march and "topic: New mayor" in april  # the earlier forum, the top vote
    topics = await fb.app.store.run(
        lambda s: s.execute(
            text("SELECT slot, topic_id FROM forum_occurrence WHERE topic_id IS NOT NULL ORDER BY slot")
        ).all()
    )
    assert [tuple(r) for r in topics] == [("2026-03-03", 1), ("2026-04-07", 2)]


async def test_a_picked_topic_is_not_taken_by_the_vote_for_an_earlier_forum(fb: ForumBot) -> None:
    await fb.ok(f"forum set --rule {RULE} --channel forum")
    await _vote(fb)
    await fb.ok("forum pick T1 --date 2026-04-07")
    assert "already picked for the forum on 2026-04-07" in await fb.fails("forum pick T1 --date 2026-05-05")
    await fb.run_until(utc(2026, 2, 26, 17, 0))
    assert "topic: New mayor" in fb.messenger.texts("post")[0]  # March: the vote, without April's pick
    await fb.run_until(utc(2026, 4, 1, 0, 0))
    assert "topic: Budget freeze" in fb.messenger.texts("post")[-1]


async def test_a_forum_cannot_be_moved_onto_another(fb: ForumBot) -> None:
    await fb.ok(f"forum set --rule {RULE} --channel forum")
    refused = await fb.fails('forum move 2026-04-07 --to "2026-03-03 12:30"')
    assert "--to: the forum on 2026-03-03 already takes that time (Tue 3 Mar 2026, 12:00 EST)" in refused
    # June's forum is not planned yet (three are), but the cadence will bring it: that time is taken too.
    assert "the forum on 2026-06-02 already takes that time" in await fb.fails(
        'forum move 2026-05-05 --to "2026-06-02 12:00"'
    )
    await fb.ok("forum skip 2026-03-03")  # a skipped forum takes no time
    await fb.ok('forum move 2026-04-07 --to "2026-03-03 12:00"')


async def test_moving_a_skipped_forum_says_it_takes_place_again(fb: ForumBot) -> None:
    await fb.ok(f"forum set --rule {RULE} --channel forum")
    await fb.ok("forum skip 2026-03-03 spring break")
    moved = await fb.ok('forum move 2026-03-03 --to "2026-03-05 12:00"')
    assert moved.text.startswith(
        "The forum of 2026-03-03 was skipped: moving it un-skips it. It now takes place"
    )
    await fb.app.scheduler.tick()
    assert "will after all" in fb.messenger.texts("post")[-1]
    shown = await fb.ok("forum show 2026-03-03")
    assert ("Status", "planned") in shown.fields
    await fb.ok("forum skip 2026-03-03 the room flooded")  # skipped again: members are told again
    await fb.app.scheduler.tick()
    assert (
        fb.messenger.texts("post")[-1]
        == "The open forum on 2026-03-03 will not take place: the room flooded."
    )


async def test_forum_set_without_channel_keeps_the_channel(fb: ForumBot) -> None:
    await fb.ok(f"forum set --rule {RULE} --channel forum")
    fb.place = Place("console", "random")  # a coordinator changes the rule from another channel
    reply = await fb.ok('forum set --rule "first Wednesday of every month, 12:00 to 13:00, America/New_York"')
    assert "in #forum." in reply.text
    await fb.run_until(utc(2026, 2, 27, 17, 0))
    assert [s.target for s in fb.messenger.sent] == ["forum"]


async def test_resources_named_by_id_or_slug_are_in_the_wrap_up(fb: ForumBot) -> None:
    ids = dict(
        await fb.app.store.run(
            lambda s: s.execute(
                text(
                    "SELECT slug, id FROM resource WHERE slug IN ('heifetz-practice-of-adaptive-leadership', "
                    "'heifetz-linsky-leadership-on-the-line')"
                )
            ).all()
        )
    )
    titles = dict(await fb.app.store.run(lambda s: s.execute(text("SELECT slug, title FROM resource")).all()))
    practice, line = "heifetz-practice-of-adaptive-leadership", "heifetz-linsky-leadership-on-the-line"
    await fb.ok(f"forum set --rule {RULE} --channel forum")
    await fb.run_until(utc(2026, 3, 3, 17, 0))
    await fb.ok(f"forum reply Read L{ids[line]} before the budget season, and https://example.gov/t", "bob")
    await fb.ok(f"forum reply Chapter 2 of {practice} helped us; L999999 is not a resource", "cy")
    await fb.run_until(utc(2026, 3, 3, 19, 0))
    [wrap] = [t for t in fb.messenger.texts("reply") if "Wrap-up" in t]
    assert (
        f"Resources mentioned: L{ids[line]} {titles[line]}; L{ids[practice]} {titles[practice]}; "
        "https://example.gov/t"
    ) in wrap
    assert (
        f"L{ids[practice]} {titles[practice]}"
        in dict((await fb.ok("forum show 2026-03-03")).fields)["Resources mentioned"]
    )


async def test_reminders_by_dm_for_those_who_opt_in_in_their_zone(fb: ForumBot) -> None:
    await fb.ok(f"forum set --rule {RULE} --channel forum --join https://meet.example/forum")
    await fb.ok("me timezone Europe/London", "bob")
    assert "in your time zone" in (await fb.ok("forum reminders on", "bob")).text
    await fb.ok("me timezone Asia/Tokyo", "cy")
    await fb.ok("forum reminders on", "cy")
    await fb.ok("me quiet-hours 00:00-08:00", "cy")  # the hour before is 02:00 in Tokyo: not sent
    await fb.ok("forum reminders on", "dee")
    await fb.ok("me reminders off", "dee")  # reminders off wins
    assert ("Open forum reminders by direct message", "on") in (await fb.ok("me show", "bob")).fields
    await fb.run_until(utc(2026, 3, 3, 17, 0))
    bob = [s.reply for s in fb.messenger.sent if s.kind == "dm" and s.target == "bob"]
    topic = "Topic: Open floor: bring what you are working on. How to join: https://meet.example/forum"
    assert [r.text for r in bob] == [
        f"Reminder: the open forum starts tomorrow, Tue 3 Mar 2026, 17:00 GMT (Europe/London). {topic}",
        f"Reminder: the open forum starts in one hour, Tue 3 Mar 2026, 17:00 GMT (Europe/London). {topic}",
    ]
    assert bob[0].choices[0].command == "forum reminders off"
    cy = [s.reply.text for s in fb.messenger.sent if s.kind == "dm" and s.target == "cy"]
    assert len(cy) == 1 and "tomorrow, Wed 4 Mar 2026, 02:00 JST" in cy[0]
    assert [s for s in fb.messenger.sent if s.kind == "dm" and s.target in ("dee", "root")] == []
    await fb.ok("forum reminders off", "bob")
    assert ("Open forum reminders by direct message", "off") in (await fb.ok("me show", "bob")).fields
