"""A client-side rate limiter with one bucket per key (a Slack method, a Discord route), learned from 429s.

Platforms publish their limits loosely ("about 1 per second per channel", tiers per minute) and change
them, so nothing here needs configuring (a limit the platform does publish, such as Discord's global 50
requests a second, may be given from the start): a bucket sends freely until the platform first answers
429, then (1) honours Retry-After for that key only: a 429 on `chat.postMessage` holds back no
`conversations.open`, and (2) lets the key make at most a little under the number of calls that got
through in the window before the 429, in any such window, so a sustained fan-out settles at the
platform's rate instead of bursting into 429s and waiting out a second after each. A call starts as
soon as its slot comes, whatever else is still in flight.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

MARGIN = 0.96  # keep this share of the calls that got through: a little room for jitter in arrival
HISTORY = 60.0  # seconds of calls remembered per bucket


class Bucket:
    """One key's pacing: once learned, calls evenly spaced at `limit` per `window` seconds and at most
    `limit` in any `window` (so neither a burst after a pause nor a rush after a stall crowds one of the
    platform's windows), and nothing at all before `blocked_until` (a Retry-After)."""

    def __init__(self, clock: Callable[[], float], limit: int | None = None, window: float = 1.0) -> None:
        self.clock = clock
        self.limit = limit  # None until a 429 teaches it; a published limit may be given from the start
        self.window = window
        self.blocked_until = 0.0
        self.next_slot = 0.0  # once a limit is learned: the earliest moment the next caller may go
        self.started: deque[float] = deque()  # when calls were let go (the last HISTORY seconds)
        self.sent: deque[float] = deque()  # when calls got through (the last HISTORY seconds)
        self.refusals = 0

    async def acquire(self) -> None:
        """Wait for this key's next slot, then take it. Once a limit is learned, each caller reserves its
        own slot, evenly spaced after the last one reserved: a caller woken late (a busy event loop) does
        not push every later slot back, so the pace stays the learned one, and waiters are not all woken
        for each slot. A Retry-After that comes while one waits sends it to the back of the queue."""
        while True:
            now = self.clock()
            start = max(now, self.blocked_until)
            if self.limit is not None:
                start = max(start, self.next_slot)
                self.next_slot = start + self.window / self.limit
            if start > now:
                await asyncio.sleep(start - now)
                now = self.clock()
                if now < self.blocked_until:  # refused meanwhile: wait for a slot after the block
                    continue
            self.started.append(now)
            self._forget(self.started, now)
            return

    def _forget(self, times: deque[float], now: float) -> None:
        while times and times[0] < now - max(HISTORY, self.window):
            times.popleft()

    def succeeded(self) -> None:
        now = self.clock()
        self.sent.append(now)
        self._forget(self.sent, now)

    def refused(self, retry_after: float) -> None:
        """A 429: nothing on this key for `retry_after` seconds, and a limit learned from what got through
        in the window before it (lowered later only if fewer got through than were let go)."""
        now = self.clock()
        self.refusals += 1
        already_held = now < self.blocked_until  # a call sent before the first refusal: learnt from it
        self.blocked_until = max(self.blocked_until, now + retry_after)
        if already_held:
            return
        self.window = max(1.0, retry_after)
        got_through = sum(1 for t in self.sent if t >= now - self.window)
        if self.limit is None or got_through < self.limit:
            self.limit = max(1, int(got_through * MARGIN))
        # else: as many got through as were let go, so the limit is not lower than that; the 429 came from
        # calls bunched up on the way (a busy loop, a slow network), which the MARGIN leaves room for


class RateLimiter:
    """Buckets by key, made on first use. One limiter per platform connection (per workspace/token)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.buckets: dict[str, Bucket] = {}

    def bucket(self, key: str) -> Bucket:
        if (found := self.buckets.get(key)) is None:
            found = self.buckets[key] = Bucket(self.clock)
        return found

    async def acquire(self, key: str) -> None:
        """Wait for `key`'s next slot."""
        await self.bucket(key).acquire()

    def succeeded(self, key: str) -> None:
        """A call on `key` got through: counted towards the limit learned at the next 429."""
        self.bucket(key).succeeded()

    def refused(self, key: str, retry_after: float) -> None:
        self.bucket(key).refused(retry_after)
