"""Clocks. The real one, and a demo clock a newcomer moves by hand to watch a forum cycle in a minute."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


class DemoClock:
    """Real time shifted by an offset that `advance` and `set` change. Never runs backwards."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("the demo clock only moves forward")
        self.offset += delta
        return self()

    def set(self, when: datetime) -> datetime:
        return self.advance(max(timedelta(0), when - self()))
