"""Group commit for claims: claims that arrive while a transaction for earlier ones runs share the next one.

A burst of small writes (a claim of each incoming request or event, so a retry or a replay is not acted on
twice) would otherwise be a burst of transactions, each waiting for the database's write lock in turn;
gathered, the burst costs a few.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from sqlmodel import Session

from bot.store.db import Store

K = TypeVar("K", bound=Hashable)


class GatheredClaims(Generic[K]):
    """`await claims(key)` is True the first time `key` is claimed. `insert(session, keys)` claims `keys`
    in one transaction and returns those it inserted (the others were claimed before, by any process).
    The same key twice among the gathered calls is True for the first only. If a transaction fails, each
    call gathered into it raises that error; the calls after it go on."""

    def __init__(self, store: Store, insert: Callable[[Session, list[K]], set[K]], limit: int = 500) -> None:
        self.store = store
        self.insert = insert
        self.limit = limit  # at most this many keys per transaction
        self._waiting: list[tuple[K, asyncio.Future[bool]]] = []
        self._running: asyncio.Task[None] | None = None
        self.transactions = 0  # how many were run (tests, benchmarks)

    async def __call__(self, key: K) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((key, future))
        if self._running is None or self._running.done():
            self._running = asyncio.ensure_future(self._run())
        return await future

    async def _run(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self.limit], self._waiting[self.limit :]
            keys = list(dict.fromkeys(key for key, _ in batch))
            try:
                self.transactions += 1
                fresh = await self.store.run(lambda s, keys=keys: self.insert(s, keys))
            except Exception as exc:  # noqa: BLE001 - handed to each caller, who decides
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for key, future in batch:
                if not future.done():
                    future.set_result(key in fresh)
                fresh.discard(key)  # a second call for the same key is a repeat
