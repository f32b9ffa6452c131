"""The scheduler pipeline in bulk: planning many posts at once, in committed chunks, and claiming them in
batches from several processes, without ever making a post twice or handing one post to two workers."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, overload

from sqlalchemy import insert, select, text
from sqlmodel import Session, col

from bot.app import App
from bot.config import Settings
from bot.messages import Reply
from bot.store.db import Store, make_engine
from bot.store.models import MemberRecord
from scheduling.convenings import service as convenings
from scheduling.convenings.models import Rsvp
from scheduling.engine import outbox
from scheduling.engine.runner import Delivery, Scheduler
from tests.convening_world import digital_leaders, schedule, utc
from tests.fakes import FakeClock, RecordingMessenger


def plans_due(clock: FakeClock, n: int, *, prefix: str = "bulk", minutes: int = 5) -> list[outbox.Plan]:
    due = clock() + timedelta(minutes=minutes)
    return [
        outbox.Plan(f"{prefix}:{i}", "test.say", due, due + timedelta(hours=1), {"n": i}) for i in range(n)
    ]


async def counts(app: App) -> tuple[int, int]:
    """(rows, distinct keys) in planned_post."""
    row = await app.store.run(
        lambda s: s.execute(text("SELECT COUNT(*), COUNT(DISTINCT key) FROM planned_post")).one()
    )
    return int(row[0]), int(row[1])


async def test_planning_the_same_posts_twice_in_chunks_makes_no_duplicates(app: App) -> None:
    clock = FakeClock()
    plans = plans_due(clock, 2_345)
    assert await outbox.plan_in_chunks(app.store, plans, chunk=500) == 2_345
    assert await outbox.plan_in_chunks(app.store, plans, chunk=700) == 0
    assert await app.store.run(lambda s: outbox.plan_many(s, plans)) == 0
    assert await counts(app) == (2_345, 2_345)
    # a list naming one key twice plans it once, the last plan winning
    later = clock() + timedelta(days=2)
    twice = [*plans_due(clock, 1, prefix="dup"), outbox.Plan("dup:0", "test.say", later, later, {"n": "x"})]
    assert await app.store.run(lambda s: outbox.plan_many(s, twice)) == 1
    due = await app.store.run(
        lambda s: s.execute(text("SELECT payload FROM planned_post WHERE key = 'dup:0'")).scalar_one()
    )
    assert due == '{"n": "x"}'


async def test_replanning_in_bulk_moves_pending_and_cancelled_posts_and_leaves_sent_ones(app: App) -> None:
    clock, messenger = FakeClock(), RecordingMessenger()
    scheduler = Scheduler(app.store, app.settings, clock, messengers={"console": messenger})

    @scheduler.handle("test.say")
    async def say(d: Delivery) -> dict[str, Any]:
        posted = await d.messenger("console").post("general", Reply(f"hello {d.post.payload['n']}"))
        return {"message_id": posted.message_id}

    await outbox.plan_in_chunks(app.store, plans_due(clock, 30, prefix="sent"), chunk=7)
    clock.advance(minutes=5)
    assert (await scheduler.tick()).sent == 30
    await outbox.plan_in_chunks(app.store, plans_due(clock, 30, prefix="kept"), chunk=7)
    await app.store.run(lambda s: outbox.cancel(s, "kept:1"))  # kept:1, kept:10..19 cancelled
    later = plans_due(clock, 30, prefix="sent", minutes=60) + plans_due(clock, 30, prefix="kept", minutes=60)
    assert await outbox.plan_in_chunks(app.store, later, chunk=9) == 0
    rows = await app.store.run(
        lambda s: s.execute(text("SELECT key, state FROM planned_post ORDER BY key")).all()
    )
    states = {key: state for key, state in rows}
    assert all(states[f"sent:{i}"] == "sent" for i in range(30))
    assert all(states[f"kept:{i}"] == "pending" for i in range(30))  # cancelled ones planned again
    clock.advance(minutes=60)
    assert (await scheduler.tick()).sent == 30
    assert sorted(messenger.texts()) == sorted(f"hello {i}" for i in range(30) for _ in range(2))


class Watched(Sequence[outbox.Plan]):
    """A list of plans that, each time a chunk of it is taken, notes how many posts another connection
    (another process) can already see in the database."""

    def __init__(self, plans: list[outbox.Plan], other: Store) -> None:
        self.plans, self.other, self.seen = plans, other, []

    def __len__(self) -> int:
        return len(self.plans)

    @overload
    def __getitem__(self, i: int) -> outbox.Plan: ...
    @overload
    def __getitem__(self, i: slice) -> list[outbox.Plan]: ...
    def __getitem__(self, i: int | slice) -> outbox.Plan | list[outbox.Plan]:
        if isinstance(i, slice):
            self.seen.append(
                self.other.run_sync(lambda s: s.execute(text("SELECT COUNT(*) FROM planned_post")).scalar())
            )
        return self.plans[i]


async def test_chunked_planning_commits_each_chunk_before_planning_the_next(
    app: App, database_url: str
) -> None:
    other = Store(make_engine(database_url))  # another process's view of the database
    try:
        watched = Watched(plans_due(FakeClock(), 1_000), other)
        assert await outbox.plan_in_chunks(app.store, watched, chunk=250) == 1_000
        assert watched.seen == [0, 250, 500, 750]
        assert (
            other.run_sync(lambda s: s.execute(text("SELECT COUNT(*) FROM planned_post")).scalar()) == 1_000
        )
    finally:
        other.close()


async def test_bulk_claims_from_many_workers_never_hand_one_post_to_two(app: App, database_url: str) -> None:
    clock = FakeClock()
    await outbox.plan_in_chunks(app.store, plans_due(clock, 3_000, minutes=0))
    stores = [app.store, *(Store(make_engine(database_url)) for _ in range(3))]  # four processes
    now = clock()
    taken: dict[int, list[str]] = {}

    async def worker(store: Store, name: str) -> None:
        while True:
            batch = await store.run(lambda s: outbox.claim_due(s, now, name, limit=400))
            if not batch:
                return
            for claimed in batch:
                taken.setdefault(claimed.id, []).append(name)
            done = [(c, now, {"by": name}) for c in batch]
            confirmed = await store.run(lambda s, d=done: outbox.mark_sent(s, d))
            assert confirmed == {c.id for c in batch}

    try:
        await asyncio.gather(*(worker(store, f"w{i}") for i, store in enumerate(stores) for _ in range(2)))
    finally:
        for store in stores[1:]:
            store.close()
    assert len(taken) == 3_000
    assert all(len(names) == 1 for names in taken.values())
    rows = await app.store.run(
        lambda s: s.execute(text("SELECT state, COUNT(*) FROM planned_post GROUP BY state")).all()
    )
    assert dict(rows) == {"sent": 3_000}


async def test_moving_a_big_convening_plans_its_reminders_in_chunks_once_each(settings: Settings) -> None:
    """More reminders than a command plans in its own transaction: the move hands them to the scheduler,
    which plans them in committed chunks; each member then gets each reminder exactly once."""
    members = convenings.IN_LINE // 3 + 50  # three leads each: more than IN_LINE reminders
    async with digital_leaders(settings, zones=False) as cb:
        cid = await schedule(cb)
        now = cb.clock()

        def going(session: Session) -> None:
            session.execute(
                insert(MemberRecord.__table__),  # type: ignore[attr-defined]
                [
                    {"platform": "console", "user_id": f"m{i}", "display_name": f"M {i}", "created_at": now}
                    for i in range(members)
                ],
            )
            ids = session.execute(
                select(col(MemberRecord.id)).where(col(MemberRecord.user_id).like("m%"))
            ).scalars()
            session.execute(
                insert(Rsvp.__table__),  # type: ignore[attr-defined]
                [
                    {
                        "convening_id": cid,
                        "member_id": i,
                        "answer": "going",
                        "remind_on_maybe": False,
                        "answered_at": now,
                    }
                    for i in ids
                ],
            )

        await cb.app.store.run(going)
        await cb.ok(f'convening move {cid} --to "March 21 2027 10:00"', "cora")
        await cb.app.scheduler.tick()  # the planning post: chunks of outbox.PLAN_CHUNK
        assert len(await cb.reminder_dues()) == members * 3
        await cb.ok(f'convening move {cid} --to "March 22 2027 10:00"', "cora")
        await cb.app.scheduler.tick()
        dues = await cb.reminder_dues()
        assert len(dues) == members * 3
        assert sorted(set(dues.values())) == [
            utc(2027, 3, 15, 15),
            utc(2027, 3, 21, 15),
            utc(2027, 3, 22, 14),
        ]
        await cb.run_until(utc(2027, 3, 22, 16, 0))
        reminders = Counter(
            s.target for s in cb.messenger.sent if s.kind == "dm" and s.reply.text.startswith("Reminder:")
        )
        assert len(reminders) == members and set(reminders.values()) == {3}
        planned = await cb.count("planned_post WHERE kind = 'convening.remind'")
        assert planned == members * 3
