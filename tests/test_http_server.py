"""`copbot serve`'s HTTP side, on a real socket on 127.0.0.1 with a free port."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import aiohttp

from adapters.http_server import HttpServer
from bot.feature import HttpAnswer, Route
from tests.processes import start_copbot


async def test_healthz_and_calendar_routes() -> None:
    healthy = {"ok": True}

    async def health() -> bool:
        return healthy["ok"]

    async def feed(services: object, params: Mapping[str, str]) -> HttpAnswer:
        if params["token"] == "s3cret-token":
            return HttpAnswer(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar; charset=utf-8")
        return HttpAnswer(b"No such calendar. Ask the bot for your link: me calendar", status=404)

    server = HttpServer(
        health=health,
        services=object(),
        routes=(Route("/calendar/{token}.ics", feed),),  # type: ignore[arg-type]
        host="127.0.0.1",
        port=0,
    )
    port = await server.start()
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as r:
                assert r.status == 200 and (await r.json()) == {"status": "ok"}
            healthy["ok"] = False
            async with http.get(f"{base}/healthz") as r:
                assert r.status == 503
            async with http.get(f"{base}/calendar/s3cret-token.ics") as r:
                assert r.status == 200 and r.headers["Content-Type"].startswith("text/calendar")
                assert (await r.read()).startswith(b"BEGIN:VCALENDAR")
            async with http.get(f"{base}/calendar/guess.ics") as r:
                assert r.status == 404 and "me calendar" in await r.text()
    finally:
        await server.stop()


async def test_copbot_serve_answers_health_and_feeds_and_stops_on_sigterm(
    tmp_path: Path, database_url: str
) -> None:
    """The real command: a process on a free port, asked over HTTP once it says it is serving, stopped
    with SIGTERM."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COPBOT_", "DATABASE_URL"))}
    env.update(DATABASE_URL=database_url, COPBOT_DATA_DIR=str(tmp_path), HOST="127.0.0.1", PORT=str(port))
    proc = await start_copbot("serve", env=env, cwd=tmp_path)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                assert r.status == 200
            async with http.get(f"http://127.0.0.1:{port}/calendar/not-a-token.ics") as r:
                assert r.status == 404  # an unknown token opens no calendar
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0


async def test_a_members_feed_is_served_over_http_with_their_convening(bot, settings) -> None:  # type: ignore[no-untyped-def]
    from icalendar import Calendar

    from tests.fakes import RecordingMessenger

    bot.app.add_messenger(RecordingMessenger())
    await bot.ok('network create "Digital Leaders"')
    reply = await bot.ok(
        'convening schedule digital-leaders --title "Budget season" --start "2027-03-14 10:00 Central"'
    )
    assert not reply.is_error
    listed = await bot.ok("convening list digital-leaders", "ana")
    ref = listed.items[0].ref
    await bot.ok(f"convening rsvp {ref} going", "ana")
    path = (await bot.ok("me calendar", "ana")).text.split(": ")[1].split("\n")[0]
    server = HttpServer(
        health=bot.app.healthy, services=bot.app.services, routes=bot.app.routes, host="127.0.0.1", port=0
    )
    port = await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}{path}") as r:
                assert r.status == 200
                feed = Calendar.from_ical(await r.read())
            async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                assert r.status == 200
    finally:
        await server.stop()
    assert [str(e["summary"]) for e in feed.walk("VEVENT")] == ["Budget season"]


def test_copbot_serve_host_and_port_flags_override_the_environment(tmp_path, database_url) -> None:  # type: ignore[no-untyped-def]
    """`copbot serve --host H --port P` (as --help says): the flags win over HOST and PORT."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("COPBOT_", "DATABASE_URL", "SLACK_", "DISCORD_"))
    }
    env.update(DATABASE_URL=database_url, COPBOT_DATA_DIR=str(tmp_path), HOST="192.0.2.1", PORT="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--demo"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "copbot serve did not come up"
                time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"serving on http://127.0.0.1:{port}" in out and "demo clock" in out


def test_a_bad_port_flag_is_one_clear_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve", "--port", "eighty"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2
    assert "'eighty' is not a port: give a whole number from 0 to 65535" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_slack_token_without_its_signing_secret_ends_with_one_line_not_a_traceback(tmp_path: Path) -> None:
    """Set-up mistakes in a platform's settings are told in one line naming the setting, as every other
    start error is, with exit code 2."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COPBOT_", "DATABASE_URL", "SLACK_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'copbot.db'}",
        COPBOT_DATA_DIR=str(tmp_path),
        SLACK_BOT_TOKEN="xoxb-test",
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "SLACK_SIGNING_SECRET is required" in done.stderr
    assert "Traceback" not in done.stderr
