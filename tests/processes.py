"""Starting the real `copbot` command in a child process, for tests of the entry points."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ANNOUNCED = b"copbot: running on "
START_TIMEOUT = 60.0  # a guard against a hung start, not a measure of it


async def start_copbot(*args: str, env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    """Run `python -m bot.cli ARGS` and return once it has announced that it is running (its first line on
    standard output, printed after the platforms and the HTTP server have started)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    line = await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT)
    if not line.startswith(ANNOUNCED):
        if proc.returncode is None:
            proc.kill()
        err = await proc.stderr.read()
        await proc.wait()
        raise AssertionError(
            f"copbot {' '.join(args)} did not start: {line!r}\n{err.decode(errors='replace')}"
        )
    return proc
