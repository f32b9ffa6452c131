"""Members first (bot/foreground.py): the scheduler's posts wait while a member's request is answered,
and a stream of requests that never ends only slows them down, on both databases."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial

from bot.app import App
from bot.foreground import Foreground
from bot.messages import Reply
from scheduling.engine import outbox
from scheduling.engine.runner import Delivery, Scheduler
from tests.fakes import FakeClock, RecordingMessenger


def scheduler_for(
    app: App, clock: FakeClock, platform: RecordingMessenger, wait: float
) -> tuple[Scheduler, Foreground]:
    foreground = Foreground()
    store = app.store.sibling(workers=2, yield_to=partial(foreground.turn, wait))
    scheduler = Scheduler(
        store, app.settings, clock, messengers={"console": platform}, yield_to=partial(foreground.turn, wait)
    )

    @scheduler.handle("test.say")
    async def say(d: Delivery) -> dict:
        posted = await d.messenger("console").post("general", Reply(f"hello {d.post.payload['n']}"))
        return {"message_id": posted.message_id}

    return scheduler, foreground


async def plan(app: App, clock: FakeClock, n: int) -> None:
    due = clock()
    plans = [outbox.Plan(f"t:{i}", "test.say", due, due + timedelta(hours=1), {"n": i}) for i in range(n)]
    await app.store.run(lambda s: outbox.plan_many(s, plans))


async def test_posts_wait_while_a_request_is_answered_then_all_go_out(app: App) -> None:
    clock, platform = FakeClock(), RecordingMessenger()
    scheduler, foreground = scheduler_for(app, clock, platform, wait=30.0)
    await plan(app, clock, 20)
    async with foreground.serving():  # a member's request is being answered
        sending = asyncio.create_task(scheduler.tick())
        for _ in range(50):
            await asyncio.sleep(0.01)
        assert platform.sent == [] and not sending.done()
    report = await asyncio.wait_for(sending, 30)
    assert report.sent == 20 and sorted(platform.texts()) == sorted(f"hello {i}" for i in range(20))
    scheduler.store.close()


async def test_requests_that_never_stop_do_not_stop_the_posts(app: App) -> None:
    clock, platform = FakeClock(), RecordingMessenger()
    scheduler, foreground = scheduler_for(app, clock, platform, wait=0.001)
    await plan(app, clock, 20)
    async with foreground.serving():  # busy the whole time: each post waits its short turn, then goes
        report = await asyncio.wait_for(scheduler.tick(), 30)
    assert report.sent == 20 and len(platform.sent) == 20
    scheduler.store.close()
