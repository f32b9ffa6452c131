"""Fenced claims: a post is sent by one process only, even when a process pauses, dies or loses the lease.

Two Scheduler instances share one database (each with its own engine, as two processes would) and one
hand-moved clock. A "pause" is a handler held at a gate between the claim and the platform call, which is
where SIGSTOP hurts: the claim lapses, another process takes the post over, then the first one resumes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import text

from bot.app import App
from bot.messages import Reply
from bot.store.db import Store, make_engine
from scheduling.engine import outbox, runner
from scheduling.engine.runner import Delivery, Scheduler
from tests.fakes import FakeClock, RecordingMessenger

WINDOW = outbox.CLAIM_WINDOW


class World:
    """Two scheduler processes (a and b) on one database, one clock and one recording platform."""

    def __init__(self, app: App, other: Store) -> None:
        self.app, self.clock, self.platform = app, FakeClock(), RecordingMessenger()
        self.gate = asyncio.Event()
        self.gate.set()
        self.held = asyncio.Event()  # set once a handler of a waits at the closed gate
        self.post_seconds = 0.0
        self.a = self._scheduler(app.store, "a", gated=True)
        self.b = self._scheduler(other, "b")

    def _scheduler(self, store: Store, name: str, gated: bool = False) -> Scheduler:
        scheduler = Scheduler(
            store, self.app.settings, self.clock, messengers={"console": self.platform}, instance=name
        )

        @scheduler.handle("test.say")
        async def say(d: Delivery) -> dict:
            if gated and not self.gate.is_set():
                self.held.set()
                await self.gate.wait()  # paused between the claim and the platform call
            posted = await d.messenger("console").post("general", Reply(f"hello {d.post.payload['n']}"))
            return {"message_id": posted.message_id}

        return scheduler

    async def plan_due(self, n: int) -> None:
        due = self.clock()
        plans = [
            outbox.Plan(f"test:{i}", "test.say", due, due + timedelta(hours=1), {"n": i}) for i in range(n)
        ]
        await self.app.store.run(lambda s: outbox.plan_many(s, plans))

    async def rows(self) -> dict[str, tuple[str, str]]:
        """key -> (state, who holds or sent it)."""
        found = await self.app.store.run(
            lambda s: s.execute(text("SELECT key, state, claimed_by FROM planned_post")).all()
        )
        return {key: (state, holder.split(":")[0]) for key, state, holder in found}

    async def pause_a_in_its_tick(self) -> asyncio.Task[runner.TickReport]:
        self.gate.clear()
        task = asyncio.create_task(self.a.tick())
        await asyncio.wait_for(self.held.wait(), 10)
        return task


@pytest.fixture
async def world(app: App, database_url: str) -> AsyncIterator[World]:
    other = Store(make_engine(database_url))  # a second process: its own engine and pool
    try:
        yield World(app, other)
    finally:
        other.close()


async def test_a_paused_process_resumes_after_a_takeover_and_sends_and_marks_nothing(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await world.plan_due(5)
    paused = await world.pause_a_in_its_tick()
    assert set((await world.rows()).values()) == {("claimed", "a")}
    world.clock.advance(seconds=WINDOW.total_seconds() + 1)  # a's claim lapses while it is stopped
    assert (await world.b.tick()).sent == 5
    before = await world.rows()
    with caplog.at_level(logging.WARNING, logger="scheduling.engine.runner"):
        world.gate.set()  # a resumes
        report = await asyncio.wait_for(paused, 10)
    assert report.sent == 0 and report.retrying == 0 and report.failed == 0
    assert sorted(world.platform.texts()) == [f"hello {i}" for i in range(5)]  # each once, all from b
    assert await world.rows() == before == {f"test:{i}": ("sent", "b") for i in range(5)}
    assert sum("not sent" in r.getMessage() for r in caplog.records) == 5


async def test_a_process_that_lost_the_lease_sends_nothing_more_and_the_new_leader_sends_it(
    world: World,
) -> None:
    assert await world.a.renew_lease() is True
    await world.plan_due(3)
    paused = await world.pause_a_in_its_tick()
    world.clock.advance(seconds=runner.LEASE_TIME.total_seconds() + 1)  # a stopped renewing; its claims hold
    assert await world.b.renew_lease() is True and world.b.is_leader
    assert world.platform.sent == []  # b may not take claims that have not lapsed
    world.gate.set()
    assert (await asyncio.wait_for(paused, 10)).sent == 0  # a is no longer the leader: it sends nothing
    assert world.platform.sent == []
    world.clock.advance(seconds=WINDOW.total_seconds())
    assert await world.b.renew_lease() is True  # b's lease job has kept renewing meanwhile
    assert await world.a.renew_lease() is False and not world.a.is_leader
    assert (await world.b.tick()).sent == 3
    assert sorted(world.platform.texts()) == ["hello 0", "hello 1", "hello 2"]


def slow_scheduler(world: World, app: App, name: str, on_sent: Callable[[], Awaitable[None]]) -> Scheduler:
    """A process sending one post at a time; each post takes `world.post_seconds` on the clock."""
    slow = Scheduler(
        app.store,
        app.settings,
        world.clock,
        messengers={"console": world.platform},
        instance=name,
        concurrency=1,
    )

    @slow.handle("test.say")
    async def say(d: Delivery) -> dict:
        posted = await d.messenger("console").post("general", Reply(f"hello {d.post.payload['n']}"))
        world.clock.advance(seconds=world.post_seconds)
        await on_sent()
        return {"message_id": posted.message_id}

    return slow


async def test_a_long_batch_keeps_its_claims_while_it_sends(world: World, app: App) -> None:
    """The platform slows down after a fast batch: the next batch takes three claim windows, and
    renews as it goes, so no other process takes its posts over (without renewal b sends them again)."""
    b_reports: list[runner.TickReport] = []

    async def b_looks_mid_batch() -> None:
        if len(world.platform.sent) == 9:
            b_reports.append(await world.b.tick())

    slow = slow_scheduler(world, app, "slow", b_looks_mid_batch)
    await world.plan_due(1)
    assert (await slow.tick()).sent == 1  # fast: the next claim is sized for a fast platform
    world.post_seconds = WINDOW.total_seconds() / 4
    due = world.clock()
    plans = [
        outbox.Plan(f"more:{i}", "test.say", due, due + timedelta(hours=1), {"n": i}) for i in range(1, 13)
    ]
    await app.store.run(lambda s: outbox.plan_many(s, plans))
    report = await slow.tick()
    assert report.sent == 12 and [r.sent for r in b_reports] == [0]
    assert sorted(world.platform.texts()) == sorted(f"hello {i}" for i in range(13))


async def test_a_dead_process_posts_are_taken_over_mid_backlog_not_after_it(world: World, app: App) -> None:
    await world.plan_due(40)
    dead = await app.store.run(lambda s: outbox.claim_due(s, world.clock(), "dead", limit=2))
    assert [c.key for c in dead] == ["test:0", "test:1"]

    async def nothing() -> None:
        return None

    world.post_seconds = WINDOW.total_seconds() / 4
    report = await slow_scheduler(world, app, "leader", nothing).tick()
    texts = world.platform.texts()
    assert report.sent == 40 and sorted(texts) == sorted(f"hello {i}" for i in range(40))
    assert texts.index("hello 0") < 8 and texts.index("hello 1") < 8  # one window and a batch after death


async def test_claims_never_exceed_their_limit(world: World, app: App) -> None:
    await world.plan_due(400)
    now = world.clock()
    first = await app.store.run(lambda s: outbox.claim_due(s, now, "one", limit=150))
    assert len(first) == 150
    both = await asyncio.gather(
        app.store.run(lambda s: outbox.claim_due(s, now, "two", limit=120)),
        world.b.store.run(lambda s: outbox.claim_due(s, now, "three", limit=120)),
    )
    assert [len(c) for c in both] == [120, 120]
    rest = await app.store.run(lambda s: outbox.claim_due(s, now, "four", limit=150))
    assert len(rest) == 10
    ids = [c.id for batch in (first, *both, rest) for c in batch]
    assert len(ids) == len(set(ids)) == 400


async def test_a_dead_process_claims_go_out_once_the_window_ends_and_the_alarm_is_set_for_then(
    world: World, app: App
) -> None:
    await world.plan_due(4)
    claimed_at = world.clock()
    dead = await app.store.run(lambda s: outbox.claim_due(s, claimed_at, "dead", limit=10))
    assert len(dead) == 4
    assert (await world.b.tick()).sent == 0
    assert await world.b.store.run(outbox.next_wakeup) == claimed_at + WINDOW
    world.clock.set(claimed_at + WINDOW + timedelta(milliseconds=1))
    assert (await world.b.tick()).sent == 4
    assert await world.b.store.run(outbox.next_wakeup) is None


async def test_a_pass_cut_short_gives_back_the_batch_it_claimed_ahead_at_once(world: World, app: App) -> None:
    """The next batch is claimed while one is sent; a pass that stops (here: cancelled, as at shutdown)
    with such a batch waiting gives it back pending, its try not counted, rather than leave it claimed
    until the window ends; the post being sent keeps its claim and goes out once it lapses."""
    await world.plan_due(2)
    world.a.concurrency = 1  # one post a batch: test:0 is sent while test:1 is claimed ahead
    paused = await world.pause_a_in_its_tick()
    for _ in range(100):  # the claim ahead runs in the store's threads
        if (await world.rows())["test:1"][0] == "claimed":
            break
        await asyncio.sleep(0.01)
    assert await world.rows() == {"test:0": ("claimed", "a"), "test:1": ("claimed", "a")}
    paused.cancel()
    with pytest.raises(asyncio.CancelledError):
        await paused
    assert await world.rows() == {"test:0": ("claimed", "a"), "test:1": ("pending", "")}
    attempts = await app.store.run(
        lambda s: dict(s.execute(text("SELECT key, attempts FROM planned_post")).all())
    )
    assert attempts == {"test:0": 1, "test:1": 0}
    assert (await world.b.tick()).sent == 1 and world.platform.texts() == ["hello 1"]
    world.clock.advance(seconds=WINDOW.total_seconds() + 1)
    assert (await world.b.tick()).sent == 1 and sorted(world.platform.texts()) == ["hello 0", "hello 1"]
