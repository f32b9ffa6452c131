"""The demo clock and README's forum walkthrough, as a newcomer meets them.

The walkthrough ("Watch a monthly forum in a minute") is read from README.md and typed into the console
verbatim, with the demo clock started on dates across a year (one and six days before a first Tuesday,
during a forum, at month and year ends); it must always show the whole cycle.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.console.adapter import ConsoleAdapter, console_member
from bot.app import build_app, build_registry
from bot.config import Settings
from bot.permissions import Role
from scheduling.engine.clock import STATE_FILE, DemoClock
from tests.harness import Harness

ROOT = Path(__file__).resolve().parent.parent


def walkthrough() -> tuple[str, str]:
    """README's walkthrough: the shell line that starts copbot, and the lines typed into it."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Watch a monthly forum in a minute", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(\w+)\n(.*?)```", section, re.S)
    [start] = [body for lang, body in blocks if lang == "sh"]
    [typed] = [body for lang, body in blocks if lang == "text"]
    return start.strip(), typed


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# First Tuesdays of 2027: Jan 5, Feb 2, Mar 2, Apr 6, May 4, Jun 1, Jul 6, Aug 3, Sep 7, Oct 5, Nov 2, Dec 7.
DATES = [
    utc(2027, 3, 1, 17, 0),  # one day before a first Tuesday (Mar 2), at noon in New York
    utc(2027, 9, 1, 15, 0),  # six days before a first Tuesday (Sep 7)
    utc(2027, 6, 1, 17, 30),  # during a forum (Jun 1, 12:30 in New York)
    utc(2027, 1, 31, 15, 0),  # a month's end ("next month" is February)
    utc(2027, 2, 28, 3, 0),  # still the 27th in New York
    utc(2027, 4, 10, 12, 0),
    utc(2027, 7, 4, 23, 59),
    utc(2027, 10, 31, 5, 0),  # the week the clocks go back
    utc(2027, 11, 20, 9, 0),
    utc(2027, 12, 31, 20, 0),  # the year's end
]


@pytest.mark.parametrize("start", DATES, ids=[d.strftime("%Y-%m-%d") for d in DATES])
async def test_the_readme_forum_walkthrough_shows_the_whole_cycle_whatever_the_date(
    settings: Settings, tmp_path: Path, start: datetime
) -> None:
    command, typed = walkthrough()
    assert command == "./dev run --demo"  # the console as the README starts it, admin `me`, demo clock
    app = build_app(settings, clock=DemoClock(start=start))
    out = io.StringIO()
    try:
        await app.set_local_role(console_member("me"), Role.ADMIN, "console --role")
        console = ConsoleAdapter(
            app.dispatch,
            user="me",
            export_dir=tmp_path / "exports",
            stdin=io.StringIO(typed),
            stdout=out,
            interactive=False,
            timezone=settings.timezone,
            settle=app.scheduler.settle,
        )
        app.add_messenger(console.messenger)
        await app.start()
        try:
            assert await console.run() == 0
        finally:
            await app.stop()
    finally:
        app.close()
    text = out.getvalue()
    assert "Error:" not in text, text
    steps = [
        "[#forum] Monthly open forum — topic: Keeping staff through a budget freeze",
        "[#forum] Reminder: the open forum starts tomorrow",
        "[#forum] Reminder: the open forum starts in one hour",
        "[#forum › new thread: Open forum",
        "[#forum › thread-4] @me: We started monthly budget office hours for department heads.",
        "[#forum › thread-4] @bob: We ran stay interviews with every manager.",
        "Saved P1: Budget office hours",
        "[DM to bob] @me would like to save what you shared in the open forum",
        "Wrap-up of the open forum",
        "[DM to bob] Thanks for taking part in the open forum",
    ]
    places = [text.find(step) for step in steps]
    assert all(p >= 0 for p in places), [s for s, p in zip(steps, places) if p < 0]
    assert places == sorted(places), text  # in this order
    wrap = text[text.find("Wrap-up of the open forum") :]
    assert "Took part: 2 members." in wrap and "Practices captured: P1 Budget office hours" in wrap
    assert "No forum thread is open right now" not in text


# ---- the clock commands ----------------------------------------------------------------------------------


def test_the_clock_commands_exist_only_with_the_demo_clock() -> None:
    from adapters.discord.commands import application_commands

    plain, demo = build_registry(), build_registry(demo=True)
    assert not [c for c in plain if c.group == "clock"]
    assert {c.path for c in demo if c.group == "clock"} == {
        "clock advance",
        "clock next",
        "clock now",
        "clock set",
    }
    assert "clock" not in {p["name"] for p in application_commands(plain)}
    assert "clock" in {p["name"] for p in application_commands(demo)}


async def test_without_the_demo_clock_help_leaves_the_clock_out_and_says_where_it_is(
    settings: Settings,
) -> None:
    app = build_app(settings)
    try:
        bot = Harness(app)
        assert "clock" not in (await bot.ok("help")).text
        assert (await bot.fails("clock next")) == (
            "The clock commands exist only in a demo: start copbot with "
            "--demo (for example ./dev run --demo)."
        )
    finally:
        app.close()


async def test_clock_set_reads_a_time_moves_forward_only_and_sends_what_falls_due_in_order(
    settings: Settings, tmp_path: Path
) -> None:
    from tests.fakes import RecordingMessenger

    clock = DemoClock(start=utc(2027, 2, 10, 15, 0))
    app = build_app(settings, clock=clock)
    messenger = RecordingMessenger()
    app.add_messenger(messenger)
    try:
        bot = Harness(app)
        await bot.ok('forum set --rule "first Tuesday of every month, 12:00 to 13:00" --channel forum')
        moved = await bot.ok("clock set March 2 2027 at 12:30")  # past the announcement, reminders, opening
        assert moved.text == "Set the clock. It is now Tue 2 Mar 2027, 12:30 EST. Posts sent: 4."
        assert [s.kind for s in messenger.sent] == ["post", "post", "post", "thread"]  # none skipped
        assert "is in the past" in await bot.fails("clock set 2027-03-01 09:00")
        assert clock() >= utc(2027, 3, 2, 17, 30)
        assert (await bot.fails("clock set someday at noon")).startswith(
            "WHEN: could not read 'someday at noon' as a date and time; try \"2027-03-09 10:00\""
        )
        assert "Missing <when>" in await bot.fails("clock set")
        advanced = await bot.ok("clock advance 1d")  # past the end: the wrap-up is sent
        assert advanced.text == "Moved the clock forward. It is now Wed 3 Mar 2027, 12:30 EST. Posts sent: 1."
        assert "Wrap-up" in messenger.texts()[-1]
    finally:
        app.close()


def test_a_demo_keeps_its_time_across_a_restart(tmp_path: Path, database_url: str) -> None:
    """Two real `copbot --demo` sessions: the second starts where the first left the clock."""
    data = tmp_path / "data"
    target = (datetime.now(UTC) + timedelta(days=200)).strftime("%Y-%m-%d")
    first = run_cli(f"clock set {target} 09:00 UTC\n", data, database_url, "--demo")
    assert first.returncode == 0 and "Set the clock. It is now" in first.stdout, first.stdout + first.stderr
    offset = json.loads((data / STATE_FILE).read_text())["offset_seconds"]
    assert offset > 199 * 86400
    second = run_cli("clock now\n", data, database_url, "--demo")
    shown = datetime.strptime(target, "%Y-%m-%d").strftime("%a %-d %b %Y")
    assert second.stdout.startswith(f"It is {shown}, 0"), second.stdout  # 04:00 or 05:00 in New York
    plain = run_cli("clock now\n", data, database_url)
    assert "exist only in a demo" in plain.stdout


# ---- piped sessions finish their work --------------------------------------------------------------------


def run_cli(lines: str, data_dir: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("COPBOT_", "DATABASE_URL", "SLACK_", "DISCORD_"))
    }
    env.update(COPBOT_DATA_DIR=str(data_dir), DATABASE_URL=database_url, COPBOT_TIMEZONE="America/New_York")
    data_dir.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=lines,
        capture_output=True,
        text=True,
        env=env,
        cwd=data_dir.parent,
        timeout=120,
    )


def test_a_piped_session_delivers_the_dms_its_commands_cause_before_it_exits(
    tmp_path: Path, database_url: str
) -> None:
    """A waitlist promotion DM, caused by the last piped command, is printed in that session; no traceback."""
    data = tmp_path / "data"
    start = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%d")
    lines = (
        "\n".join(
            [
                'network create "Digital Leaders"',
                f'convening schedule digital-leaders --title "Budget season" --start "{start} 10:00" --capacity 1',
                ":as ana",
                "network join digital-leaders",
                "convening rsvp 1 going",
                ":as bob",
                "network join digital-leaders",
                "convening rsvp 1 going",
                ":as ana",
                "convening rsvp 1 no",  # bob is promoted from the waitlist: a DM, sent by the scheduler
            ]
        )
        + "\n"
    )
    result = run_cli(lines, data, database_url)
    assert result.returncode == 0, result.stderr
    assert "waitlist" in result.stdout.lower(), result.stdout
    assert "[DM to bob]" in result.stdout, result.stdout
    assert result.stderr == ""
    log = (data / "copbot.log").read_text()
    assert "Traceback" not in log and "CancelledError" not in log
