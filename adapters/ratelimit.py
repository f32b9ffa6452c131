"""A client-side rate limiter with one bucket per key (a Slack method, a Discord route), learned from 429s.

Platforms publish their limits loosely ("about 1 per second per channel", tiers per minute) and change
them, so nothing here is configured: a bucket sends freely until the platform first answers 429, then
(1) honours Retry-After for that key only: a 429 on `chat.postMessage` holds back no `conversations.open`,
and (2) paces the key at a little under the rate that was getting through when the 429 came (the calls
that succeeded in the window before it), so a sustained fan-out settles at the platform's rate instead of
bursting into 429s and waiting out a second after each. Calls take their turn in order of arrival, and a
call that is next in line starts as soon as its slot comes, whatever else is still in flight.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

MARGIN = 0.97  # pace at this share of the rate that got through: jitter alone should not cross the limit
HISTORY = 60.0  # seconds of successful calls remembered per bucket, to estimate the rate from


class Bucket:
    """One key's pacing: `rate` calls a second once learned (None before the first 429), nothing at all
    before `blocked_until` (a Retry-After)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.rate: float | None = None
        self.blocked_until = 0.0
        self.next_slot = 0.0
        self.sent: deque[float] = deque()  # when calls got through (the last HISTORY seconds)
        self.refusals = 0

    async def acquire(self) -> None:
        """Wait for this key's next slot, then take it."""
        while True:
            now = self.clock()
            start = max(now, self.blocked_until, self.next_slot if self.rate else 0.0)
            if start <= now:
                if self.rate:
                    self.next_slot = max(self.next_slot, now) + 1.0 / self.rate
                return
            await asyncio.sleep(start - now)

    def succeeded(self) -> None:
        self.sent.append(self.clock())
        while self.sent and self.sent[0] < self.clock() - HISTORY:
            self.sent.popleft()

    def refused(self, retry_after: float) -> None:
        """A 429: nothing on this key for `retry_after` seconds, and a rate learned from what got through
        in the window before it (never faster than the rate that just failed)."""
        now = self.clock()
        self.refusals += 1
        already_held = now < self.blocked_until  # a call sent before the first refusal: learnt from it
        self.blocked_until = max(self.blocked_until, now + retry_after)
        self.next_slot = max(self.next_slot, self.blocked_until)
        if already_held:
            return
        window = max(1.0, retry_after)
        got_through = sum(1 for t in self.sent if t >= now - window)
        learned = max(got_through / window, 1.0 / window) * MARGIN
        if self.rate is not None and learned >= self.rate:
            learned = self.rate * MARGIN
        self.rate = learned


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
        """A call on `key` got through: counted towards the rate learned at the next 429."""
        self.bucket(key).succeeded()

    def refused(self, key: str, retry_after: float) -> None:
        self.bucket(key).refused(retry_after)
