"""Clocks. The real one, and a demo clock a newcomer moves by hand to watch a forum cycle in a minute."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
STATE_FILE = "demo_clock.json"  # in the data folder, beside the SQLite file


class DemoClock:
    """Real time shifted by an offset that `advance` and `set` change. Never runs backwards.

    With a `state_file`, the offset is kept there, so a demo started again goes on from the time it had
    reached (plus the real time that passed meanwhile). `start` puts a new clock at that moment (tests).
    """

    def __init__(self, state_file: Path | None = None, *, start: datetime | None = None) -> None:
        self.state_file = state_file
        self.offset = self._load()
        if start is not None:
            self.offset = start - datetime.now(UTC)
            self._save()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("the demo clock only moves forward")
        self.offset += delta
        self._save()
        return self()

    def set(self, when: datetime) -> datetime:
        return self.advance(max(timedelta(0), when - self()))

    def _load(self) -> timedelta:
        if self.state_file is None or not self.state_file.exists():
            return timedelta(0)
        try:
            state: Any = json.loads(self.state_file.read_text(encoding="utf-8"))
            return timedelta(seconds=float(state["offset_seconds"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning(
                "ignoring the demo clock file %s (%s); the demo clock starts at the real time",
                self.state_file,
                exc.__class__.__name__,
            )
            return timedelta(0)

    def _save(self) -> None:
        if self.state_file is None:
            return
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        partial = self.state_file.with_suffix(".tmp")
        partial.write_text(json.dumps({"offset_seconds": self.offset.total_seconds()}), encoding="utf-8")
        os.replace(partial, self.state_file)  # a crash leaves the old offset or the new one, never half


def is_demo(clock: object) -> bool:
    """True for a clock members may move (the `clock` commands exist only then)."""
    return isinstance(clock, DemoClock)
