"""Messages read well (issue 13, item 9): members named as each platform shows people, consent requests
that say what to type, times in the reader's zone, one vocabulary for learning areas, plain date errors,
no placeholder text, grammar, one wording for unknown commands, and the smaller rough edges of `schedule`,
`intro` and date polls. The Slack and Discord sides of naming and of unknown commands are in
tests/test_slack_adapter.py and tests/test_discord_adapter.py."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.console.adapter import ConsoleAdapter
from adapters.discord.render import discord_times
from adapters.slack.render import mrkdwn
from bot.app import App, build_app
from bot.config import Settings
from bot.messages import Incoming, Member, Place, mention, render_members
from bot.messenger import render_times
from scheduling.engine import outbox
from tests.fakes import FakeClock, RecordingMessenger
from tests.harness import ROOT, ClockedHarness, Harness

UNKNOWN = "I don't know the command 'practice serch'. Did you mean: practice search, practice show, practice share? Say help to see every command."


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
async def cb(settings: Settings) -> AsyncIterator[ClockedHarness]:
    clock = FakeClock(utc(2027, 3, 1, 12, 0))
    app = build_app(settings, clock=clock)
    messenger = RecordingMessenger()
    app.add_messenger(messenger)
    yield ClockedHarness(app, clock, messenger)
    app.close()


async def console_says(app: App, tmp_path: Path, lines: str, user: str = "root") -> str:
    """What the real console adapter prints for piped lines."""
    out = io.StringIO()
    console = ConsoleAdapter(
        app.dispatch,
        user=user,
        export_dir=tmp_path / "exports",
        timezone="Europe/London",
        stdin=io.StringIO(lines),
        stdout=out,
        interactive=False,
    )
    await console.run()
    return out.getvalue()


# ---- 1. members named as the platform shows people ----------------------------------------------------


def test_a_member_mark_is_a_mention_on_their_platform_and_a_name_elsewhere() -> None:
    slack_bob = Member("slack", "U0BOB", "", "T0AGENCY")  # a mention typed in Slack carries no name
    discord_ana = Member("discord", "1234567890", "Ana")
    text = f"Asked {mention(slack_bob)} and {mention(discord_ana)}."
    assert mrkdwn(text) == "Asked <@U0BOB> and Ana."
    assert discord_times(text) == "Asked a member and <@1234567890>."
    assert render_members(text) == "Asked a member and Ana."  # plain: never the raw id U0BOB
    odd = Member("console", "cy", "Cy | the ⟩ one")  # a name cannot break the mark
    assert render_members(f"Hi {mention(odd)}!") == "Hi Cy / the ) one!"


async def test_replies_name_members_by_mark_and_the_console_shows_them_as_mentioned(
    app: App, tmp_path: Path
) -> None:
    bob = Member("console", "bob", "Bob")
    [raw] = await app.dispatch(
        Incoming(ROOT, Place("console", "general"), "role grant @bob coordinator", mentions={"@bob": bob})
    )
    assert raw.text.startswith(mention(bob)) and "bob" not in render_members(raw.text, lambda m: "X")
    printed = await console_says(app, tmp_path, "role grant @cy coordinator\nrole list\n")
    assert "@cy is now coordinator (was member)" in printed
    assert "- @cy  [" not in printed and "Id: console:cy" in printed  # named, with the id to type


async def test_no_member_id_is_formatted_into_text_by_hand() -> None:
    """Every place that names a member goes through bot.messages.mention (or an adapter's own mention)."""
    root = Path(__file__).resolve().parent.parent
    by_hand = re.compile(r"\{[^{}]*(?:display_name or [^{}]*user_id|\.user_id)\}")
    keys = re.compile(r"key|hashlib|audit|ref|\.encode\(\)|f\"\{[a-z_.]*platform\}:")
    offenders = []
    for package in ("bot", "scheduling", "content"):
        for path in (root / package).rglob("*.py"):
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if 'f"' in line and by_hand.search(line) and not keys.search(line):
                    offenders.append(f"{path.relative_to(root)}:{n}: {line.strip()}")
    assert offenders == []


# ---- 2. a consent request names its id and what to type --------------------------------------------------


async def test_a_proposal_asks_the_author_with_its_id_and_the_words_to_type(cb: ClockedHarness) -> None:
    await cb.ok('practice propose @bob --title "Budget office hours" --what "Weekly office hours."', "ana")
    await cb.run_until(cb.clock())
    [dm] = [s.reply for s in cb.messenger.sent if s.kind == "dm" and s.target == "bob"]
    assert "Ana would like to save what you wrote" in dm.text
    assert "This is proposal Q1" in dm.text
    for answer in ("named", "anonymous", "no"):
        assert f"practice consent Q1 {answer}" in dm.text
    assert 'practice consent Q1 role --role-description "a city manager"' in dm.text
    done = await cb.ok('practice consent Q1 role --role-description "a city manager"', "bob")
    assert "Saved as P1" in done.text


# ---- 3. times in coordinator notices are in the reader's zone -------------------------------------------


async def test_a_skipped_post_notice_and_the_schedule_show_times_in_the_readers_zone(
    cb: ClockedHarness, tmp_path: Path
) -> None:
    due = cb.clock() + timedelta(minutes=5)
    await cb.app.store.run(
        lambda s: outbox.plan(
            s, key="test:late", kind="test.say", due_at=due, expires_at=due + timedelta(minutes=1), payload={}
        )
    )
    cb.clock.set(due + timedelta(hours=2))  # the bot was down past the post's expiry
    await cb.app.scheduler.tick()
    [notice] = [s.reply for s in cb.messenger.sent if s.kind == "dm" and s.target == "root"]
    assert "was skipped (test:late)" in notice.text and "UTC" not in notice.text
    assert "missed: due Mon 1 Mar 2027, 07:05 EST" in render_times(notice.text, "America/New_York")
    await cb.ok("me timezone Europe/London")
    printed = await console_says(cb.app, tmp_path, "schedule list --show problems\n")
    assert "Why: missed: due Mon 1 Mar 2027, 12:05 GMT, and by Mon 1 Mar 2027, 12:06 GMT" in printed


# ---- 4. one vocabulary for learning areas, with the words people use --------------------------------------


async def test_practices_and_resources_share_one_area_vocabulary_with_synonyms(bot: Harness) -> None:
    saved = await bot.ok(
        'practice share --title "Service blueprint" --what "We mapped every step a resident takes." '
        "--attribution named --frameworks customer-focused-leadership --sectors government",
        "ana",
    )
    assert "Saved P1" in saved.text
    shown = await bot.ok("practice show P1")
    assert ("Frameworks", "customer-focused-service") in shown.fields
    assert ("Context", "public") in shown.fields
    for words in ('--framework "customer service"', "--framework customer-focused-service", "--sector govt"):
        found = await bot.ok(f"practice search resident {words}")
        assert [i.ref for i in found.items] == ["P1"], words
    both = await bot.ok("search resident --area customer-focused-service")
    assert any(i.ref == "P1" for i in both.items)  # the area a resource has is the practice's framework


async def test_the_migration_moves_stored_frameworks_to_the_one_spelling(app: App) -> None:
    from alembic import command
    from sqlalchemy import text

    from bot.store.db import alembic_config

    bot = Harness(app)
    await bot.ok('practice share --title T --what W --attribution named --frameworks "customer focus"', "ana")
    config = alembic_config(app.store.engine)

    def frameworks() -> list[str]:
        with app.store.engine.connect() as conn:
            return list(
                conn.execute(text("SELECT value FROM practice_label WHERE kind = 'framework'")).scalars()
            )

    assert frameworks() == ["customer-focused-service"]
    command.downgrade(config, "0016")
    assert frameworks() == ["customer-focused-leadership"]  # as rows stored before 0017 were
    command.upgrade(config, "head")
    assert frameworks() == ["customer-focused-service"]


# ---- 5. date errors in plain words ---------------------------------------------------------------------


async def test_impossible_dates_are_explained_in_plain_words(bot: Harness) -> None:
    await bot.ok('network create "Digital Leaders"')
    cases = {
        "forum skip 2027-02-30": "February has no 30th. Example: forum skip 2026-",
        "forum skip 2027-04-31": "April has no 31st",
        "forum skip 2027-13-01": "2027-13-01 has no month 13: months run from 01 to 12",
        'convening schedule digital-leaders --title T --start "2027-02-29 10:00" --duration 1h': (
            "February 2027 has no 29th (it is not a leap year)"
        ),
        "resource add --title T --kind book --areas rba --summary S --level introductory --time 1h "
        "--cost free --checked 2026-11-31": "November has no 31st. Example: resource add",
    }
    for line, words in cases.items():
        message = await bot.fails(line)
        assert words in message and "out of range" not in message, (line, message)


# ---- 6. no placeholder text ------------------------------------------------------------------------------


async def test_a_refusal_names_the_member_instead_of_a_placeholder(
    bot: Harness, app: App, tmp_path: Path
) -> None:
    refused = await bot.fails("role list", "bob")
    assert "role grant Bob coordinator" in refused and "@you" not in refused
    printed = await console_says(app, tmp_path, "role list\n", user="dee")
    assert "An admin can give you the role with: role grant @dee coordinator" in printed  # typable as is


# ---- 7 and 9. schedule replies: grammar, and retry of a post that has not failed --------------------------


async def test_schedule_replies_read_well_and_retry_refuses_a_post_that_has_not_failed(
    cb: ClockedHarness,
) -> None:
    empty = {
        "planned": "Nothing is planned in the schedule.",
        "problems": "No problems in the schedule: nothing failed or was skipped.",
        "sent": "Nothing has been sent yet.",
        "all": "The schedule is empty.",
    }
    for show, text in empty.items():
        assert (await cb.ok(f"schedule list --show {show}")).text == text
    due = cb.clock() + timedelta(days=1)
    await cb.app.store.run(
        lambda s: outbox.plan(
            s, key="test:later", kind="test.say", due_at=due, expires_at=due + timedelta(hours=1), payload={}
        )
    )
    [planned] = (await cb.ok("schedule list")).items
    refused = await cb.fails(f"schedule retry {planned.ref}")
    assert (
        f"Post {planned.ref} (test:later) has not failed" in refused
        and "schedule list --show problems" in refused
    )
    assert "pending" in (await cb.ok("schedule list")).items[0].fields[0]


# ---- 8. one wording for unknown commands ----------------------------------------------------------------


async def test_an_unknown_command_has_one_wording_in_the_core_and_the_console(
    bot: Harness, app: App, tmp_path: Path
) -> None:
    assert await bot.fails("practice serch budget") == UNKNOWN
    assert f"Error: {UNKNOWN}" in await console_says(app, tmp_path, "practice serch budget\n")
    stale = await bot.submit("practice retired-command", {})
    assert (
        stale.is_error and stale.text == "That button or form is out of date. Say help to see every command."
    )


# ---- 10. intro status offers only rounds still ahead -----------------------------------------------------


async def test_intro_status_does_not_offer_to_skip_a_round_whose_time_has_come(cb: ClockedHarness) -> None:
    await cb.ok('network create "Digital Leaders"')
    for who in ("ana", "bob"):
        await cb.ok("network join digital-leaders", who)
        await cb.ok("intro join digital-leaders", who)
    await cb.ok('intro round digital-leaders --on "2027-03-10 12:00"')
    ahead = await cb.ok("intro status digital-leaders", "ana")
    assert [c.command for i in ahead.items for c in i.choices] == ["intro skip 1"]
    cb.clock.set(utc(2027, 3, 10, 17, 1))  # 12:00 New York has come; the pairing has not run yet
    past = await cb.ok("intro status digital-leaders", "ana")
    assert [i.title for i in past.items if i.title.startswith("Round")] == []
    assert "too late to skip it" in await cb.fails("intro skip 1", "ana")


# ---- 11. date-poll slots are numbered once --------------------------------------------------------------


async def test_date_poll_slots_are_numbered_once(bot: Harness) -> None:
    await bot.ok('network create "Digital Leaders"')
    await bot.ok(
        'datepoll propose digital-leaders --title "Budget season" '
        '--slots "2027-03-14 10:00; 2027-03-16 14:00" --tz America/Chicago --duration 90m'
    )
    shown = (await bot.ok("datepoll show 1")).plain_text()
    assert "\n- Sun 14 Mar 2027, 11:00 EDT (America/New_York) [slot 1]\n" in shown
    assert "\n- Tue 16 Mar 2027, 15:00 EDT (America/New_York) [slot 2]\n" in shown
    assert "1. " not in shown and "2. " not in shown


# ---- 12. practice from-message: README and help say it whole --------------------------------------------


async def test_practice_from_message_is_described_whole_in_help_and_readme(bot: Harness) -> None:
    help_text = (await bot.ok("help practice from-message")).plain_text()
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    line = "Save a chat message as a practice; someone else's is proposed to them first."
    example = 'practice from-message @ana --text "We hold weekly budget office hours." --link https://example.org/m/1'
    for text in (help_text, readme):
        assert line in text and example in text


async def test_downgrading_past_review_keeps_practices_their_labels_and_search(app: App) -> None:
    """0016's downgrade drops one column of `practice`; it must not rebuild the table (on SQLite a rebuild
    cascade-deletes the labels and loses the full-text triggers)."""
    from alembic import command

    from bot.store.db import alembic_config

    bot = Harness(app)
    await bot.ok(
        'practice share --title "Budget office hours" --what Monthly --attribution named --tags budgeting',
        "ana",
    )
    config = alembic_config(app.store.engine)
    command.downgrade(config, "0015")
    command.upgrade(config, "head")
    shown = await bot.ok("practice show P1")
    assert ("Tags", "budgeting") in shown.fields
    await bot.ok('practice share --title "Stay interviews" --what Ask --attribution named', "bob")
    found = await bot.ok("practice search stay interviews")
    assert [i.ref for i in found.items] == ["P2"]
