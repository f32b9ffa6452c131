"""The console adapter, as a newcomer uses it: piped input, the real CLI, forms, and restarts."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from adapters.console.adapter import ConsoleAdapter
from bot.app import App


def run_cli(lines: str, data_dir: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COPBOT_", "DATABASE_URL"))}
    env.update(COPBOT_DATA_DIR=str(data_dir), DATABASE_URL=database_url)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=lines,
        capture_output=True,
        text=True,
        env=env,
        cwd=data_dir.parent,
        timeout=120,
    )


def test_piped_help_and_search_print_replies_and_exit_zero(tmp_path: Path, database_url: str) -> None:
    result = run_cli("help\npractice search budget\n", tmp_path / "data", database_url)
    assert result.returncode == 0, result.stderr
    assert "Commands you can use (you are admin):" in result.stdout
    assert "No practices found for 'budget'." in result.stdout
    assert ">" not in result.stdout.splitlines()[0]  # no prompt noise when piped
    assert result.stderr == ""


def test_data_survives_a_restart(tmp_path: Path, database_url: str) -> None:
    data = tmp_path / "data"
    first = run_cli(
        'practice share --title "Regional partnership on water" --what "Three towns share one plant." '
        "--attribution named\npractice endorse P1 good\n",
        data,
        database_url,
        "--as",
        "ana",
    )
    assert "Saved P1" in first.stdout, first.stdout + first.stderr
    second = run_cli(
        "practice search partnerships\npractice export --format csv\n",
        data,
        database_url,
        "--as",
        "bob",
        "--role",
        "member",
    )
    assert second.returncode == 0
    assert "Regional partnership on water" in second.stdout
    assert "Endorsed: 0" in second.stdout  # ana cannot endorse her own practice; nothing half written
    exports = list((data / "exports").glob("*/practices-*.csv"))  # in the member's own folder
    assert len(exports) == 1 and "Regional partnership on water" in exports[0].read_text()
    assert f"Saved {exports[0].name} to" in second.stdout


def test_console_switches_identity_and_role(tmp_path: Path, database_url: str) -> None:
    out = run_cli(
        ":as bob\nrole list\n:as ana\nrole grant @bob coordinator\n:as bob\nrole list\n:as cy admin\n"
        "audit list\n",
        tmp_path / "data",
        database_url,
        "--as",
        "ana",
    ).stdout
    assert "Error: Only coordinators can use role list; you are a member." in out
    assert "bob is now coordinator" in out
    assert "console:bob" in out
    assert "role grant: console:bob (bob) member -> coordinator" in out


def test_bad_setting_is_one_clear_line(tmp_path: Path) -> None:
    env = dict(os.environ, COPBOT_TIMEZONE="Mars/Olympus", COPBOT_DATA_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli"],
        input="",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "copbot: configuration error: COPBOT_TIMEZONE: must be an IANA time zone name such as "
        "America/New_York or Europe/London"
    ]


def test_unreachable_database_is_one_clear_line_without_password(tmp_path: Path) -> None:
    env = dict(
        os.environ,
        DATABASE_URL="postgresql+psycopg://copbot:s3cret@127.0.0.1:1/copbot",
        COPBOT_DATA_DIR=str(tmp_path),
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "db", "upgrade"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 1
    assert (
        "copbot: cannot open the database postgresql+psycopg://copbot:***@127.0.0.1:1/copbot" in result.stderr
    )
    assert "s3cret" not in result.stderr and "Traceback" not in result.stderr


async def test_interactive_form_is_asked_field_by_field(app: App, tmp_path: Path) -> None:
    answers = (
        "\n".join(
            [
                "practice share",
                "Night bus pilot",  # title
                "We ran a night bus for shift workers.",  # what
                "3",  # attribution: anonymous
                "",  # role description (skip)
                "1",  # level: local
                "",
                "",
                "",  # size, policy area, sectors
                "",
                "",
                "",
                "",  # region, how much, how well, better off
                "1,2",  # frameworks: systems-thinking, adaptive-leadership
                "transit, night shift",  # tags
                "",
                "",  # links, source
                "practice search bus",
                "1",  # pick option (1): Show
            ]
        )
        + "\n"
    )
    out = io.StringIO()
    console = ConsoleAdapter(
        app.dispatch,
        user="dee",
        export_dir=tmp_path / "exports",
        stdin=io.StringIO(answers),
        stdout=out,
        interactive=True,
    )
    assert await console.run() == 0
    text = out.getvalue()
    assert "Saved P1: Night bus pilot. Credited as: anonymous (Chatham House Rule)." in text
    assert "Frameworks: systems-thinking, adaptive-leadership" in text
    assert "Tags: transit, night-shift" in text
    assert "> practice show P1" in text and "P1: Night bus pilot" in text


async def test_form_in_piped_mode_shows_how_to_give_fields(app: App, tmp_path: Path) -> None:
    out = io.StringIO()
    console = ConsoleAdapter(
        app.dispatch,
        user="dee",
        export_dir=tmp_path,
        stdin=io.StringIO("practice share\n"),
        stdout=out,
        interactive=False,
    )
    await console.run()
    assert "give the fields as options on one line" in out.getvalue()
    assert 'Example: practice share --title "..." --what "..." --attribution "..."' in out.getvalue()


async def test_a_rejected_form_field_is_asked_again_and_other_answers_are_kept(
    app: App, tmp_path: Path
) -> None:
    answers = (
        "\n".join(
            [
                "practice share",
                "Shared analysts",
                "We pooled analysts with the county.",
                "1",  # title, what, attribution named
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",  # role description .. tags skipped
                "not-a-link",  # links: rejected by the core
                "",  # source
                "https://www.example.gov/analysts",  # links asked again, alone
            ]
        )
        + "\n"
    )
    out = io.StringIO()
    console = ConsoleAdapter(
        app.dispatch,
        user="dee",
        export_dir=tmp_path,
        stdin=io.StringIO(answers),
        stdout=out,
        interactive=True,
    )
    await console.run()
    text = out.getvalue()
    assert "Error: --links: 'not-a-link' is not a web address." in text
    assert "Fix that field; your other answers are kept." in text
    assert "Saved P1: Shared analysts. Credited as: dee." in text


def test_everyday_sentences_with_apostrophes_are_read_as_typed(tmp_path: Path, database_url: str) -> None:
    """The four sentences that used to fail with "No closing quotation", piped into `copbot --demo`."""
    from tests import everyday

    lines = (
        "\n".join(
            [
                "clock set the 15th of next month at 9am",
                'forum set --rule "first Tuesday of every month, 12:00 to 13:00" --channel forum',
                ":as bob",
                'practice share --title "Office hours" --what "Weekly, for department heads." --attribution named',
                ":as me",
                "clock next",
                "clock next",
                "clock next",
                "clock next",  # announcement, two reminders, the thread
                *everyday.LINES,
                "practice show P1",
            ]
        )
        + "\n"
    )
    result = run_cli(lines, tmp_path / "data", database_url, "--demo")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    out = result.stdout
    assert "Error" not in out, out
    for answer in everyday.ANSWERS:
        assert answer in out
    assert "Proposed T1: Keeping staff when we can't hire" in out
    assert "] @me: We didn't stop hiring; we ran office hours." in out  # the thread gets the reply as typed
    assert "Notes from members who used it: we didn't try it" in out
