"""Members first: background work yields, briefly, while a member's request is being answered.

The dispatcher marks each request it answers (`serving`); the scheduler asks `turn` before it starts each
post. While any request is being answered the post waits, at most `at_most` seconds, so a burst of
thousands of reminders never makes a member wait on their reply, and a steady stream of requests never
stops the reminders (each waits that long at most).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Foreground:
    def __init__(self) -> None:
        self.active = 0  # requests being answered now
        self._idle = asyncio.Event()
        self._idle.set()

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[None]:
        self.active += 1
        self._idle.clear()
        try:
            yield
        finally:
            self.active -= 1
            if not self.active:
                self._idle.set()

    async def turn(self, at_most: float = 0.05) -> None:
        """Return when no request is being answered, or after `at_most` seconds."""
        if self.active:
            try:
                await asyncio.wait_for(self._idle.wait(), at_most)
            except TimeoutError:
                pass
