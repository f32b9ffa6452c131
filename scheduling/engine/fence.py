"""The fence around a batch of claimed posts: nothing reaches a platform on a claim that no longer holds.

Right before each platform call the post's claim must hold. Every RENEW_EVERY the whole batch is
re-checked and extended in one UPDATE (outbox.renew), so posts waiting their turn, or a call waiting out
a rate limit, keep their claims while the process is alive, and lapse within CLAIM_WINDOW when it is
not. A call within RENEW_EVERY of the batch's last extension (or its claim) goes ahead without asking
the database: on this process's clock its claim still has at least CLAIM_WINDOW - RENEW_EVERY to run,
and no other process takes a post before its claim lapses. A call later than that (the process stalled,
or the extension is late) re-checks and extends that post's claim in the database first; checks that
arrive while one is in the database go together in the next statement. Handlers never see any of this:
`Delivery.messenger()` hands them a FencedMessenger.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

from bot.messages import Reply
from bot.messenger import SEND_KEY, EventMirror, Messenger, MirrorEvent, Posted, PostTags
from bot.store.db import Store
from scheduling.engine import outbox

log = logging.getLogger(__name__)
RENEW_EVERY = outbox.CLAIM_WINDOW / 4
T = TypeVar("T")


class ClaimLost(Exception):
    """The claim lapsed (the process stalled) or the scheduler lease went to another process: the post
    must not be sent from here; whoever holds it now sends it."""


class Fence:
    """The claims of one batch (one token), as seen from the process that holds them."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime],
        token: str,
        lease: str | None,
        claimed_at: datetime,
        ids: Iterable[int],
    ) -> None:
        self.store, self.clock, self.token, self.lease = store, clock, token, lease
        self.renewed_at = claimed_at  # when the database last confirmed the whole batch's claims
        self._confirmed = set(ids)  # the posts it confirmed then
        self._waiting: dict[int, list[asyncio.Future[bool]]] = {}
        self._checking: asyncio.Task[None] | None = None

    async def hold(self, post_id: int) -> None:
        """Return once the claim on `post_id` is known to hold for a while yet; else raise ClaimLost."""
        if post_id in self._confirmed and self.clock() - self.renewed_at < RENEW_EVERY:
            return
        held = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(post_id, []).append(held)
        self._start()
        if not await held:
            raise ClaimLost(f"post {post_id}: its claim lapsed or the scheduler lease moved")

    def keep(self) -> None:
        """Extend the whole batch if RENEW_EVERY has passed (called often, by the runner's flusher)."""
        if self.clock() - self.renewed_at >= RENEW_EVERY:
            self._start()

    async def close(self) -> None:
        if self._checking is not None:
            await asyncio.gather(self._checking, return_exceptions=True)

    def _start(self) -> None:
        if self._checking is None or self._checking.done():
            self._checking = asyncio.create_task(self._check())

    async def _check(self) -> None:
        while True:
            group, self._waiting = self._waiting, {}
            now = self.clock()
            whole = now - self.renewed_at >= RENEW_EVERY
            if group or whole:
                ids = None if whole else list(group)
                try:
                    held = await self.store.run(
                        lambda s, at=now, only=ids: outbox.renew(s, self.token, at, only, lease=self.lease)
                    )
                except Exception:  # noqa: BLE001 - unchecked means unsent; the claims lapse and are retried
                    log.exception("could not check %d claim(s); they are not sent from here", len(group))
                    held = set()
                else:
                    if whole:
                        self.renewed_at, self._confirmed = now, held
                for post_id, futures in group.items():
                    for future in futures:
                        if not future.done():
                            future.set_result(post_id in held)
            if not self._waiting:
                return


class FencedMessenger:
    """A Messenger for one delivery: each call first holds the claim, then runs with SEND_KEY set."""

    def __init__(self, inner: Messenger, before_call: Callable[[], Awaitable[str]]) -> None:
        self.inner, self.platform, self._before_call = inner, inner.platform, before_call

    async def _call(self, send: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        key = SEND_KEY.set(await self._before_call())
        try:
            return await send(*args, **kwargs)
        finally:
            SEND_KEY.reset(key)

    async def post(
        self, channel_id: str, reply: Reply, *, tags: PostTags | None = None, workspace: str = ""
    ) -> Posted:
        return await self._call(self.inner.post, channel_id, reply, tags=tags, workspace=workspace)

    async def open_thread(
        self, channel_id: str, title: str, reply: Reply, *, tags: PostTags | None = None, workspace: str = ""
    ) -> Posted:
        return await self._call(
            self.inner.open_thread, channel_id, title, reply, tags=tags, workspace=workspace
        )

    async def reply_in_thread(
        self, channel_id: str, thread_id: str, reply: Reply, *, workspace: str = ""
    ) -> Posted:
        return await self._call(self.inner.reply_in_thread, channel_id, thread_id, reply, workspace=workspace)

    async def send_dm(self, user_id: str, reply: Reply, *, workspace: str = "") -> Posted:
        return await self._call(self.inner.send_dm, user_id, reply, workspace=workspace)


class FencedMirror(FencedMessenger):
    """The same for a messenger that also mirrors convenings (bot.messenger.EventMirror)."""

    def mirror_scopes(self) -> tuple[str, ...]:
        return self._mirror.mirror_scopes()

    async def mirror_convening(
        self, scope_id: str, event: MirrorEvent, external_id: str | None
    ) -> str | None:
        return await self._call(self._mirror.mirror_convening, scope_id, event, external_id)

    @property
    def _mirror(self) -> EventMirror:
        assert isinstance(self.inner, EventMirror)
        return self.inner


def fenced(inner: Messenger, before_call: Callable[[], Awaitable[str]]) -> FencedMessenger:
    mirrors = _MIRRORS.get(type(inner))
    if mirrors is None:  # a Protocol's isinstance check reads every attribute it names: once per class
        mirrors = _MIRRORS[type(inner)] = isinstance(inner, EventMirror)
    return (FencedMirror if mirrors else FencedMessenger)(inner, before_call)


_MIRRORS: dict[type, bool] = {}
