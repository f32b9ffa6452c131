"""The scheduler's promises: each planned post exactly once, retried, skipped-and-reported, never lost."""

from __future__ import annotations

import asyncio
import threading
import types
from datetime import timedelta

import pytest

from bot.app import App
from bot.messages import Reply
from bot.store.db import Store, make_engine
from scheduling.engine import outbox, runner
from scheduling.engine.runner import Delivery, Scheduler
from tests.fakes import FakeClock, RecordingMessenger


def make_scheduler(
    app: App,
    clock: FakeClock,
    messenger: RecordingMessenger,
    notices: list[str],
    store: Store | None = None,
    instance: str | None = None,
) -> Scheduler:
    async def notify(text: str) -> None:
        notices.append(text)

    scheduler = Scheduler(
        store or app.store,
        app.settings,
        clock,
        messengers={"console": messenger},
        notify=notify,
        instance=instance,
    )

    @scheduler.handle("test.say")
    async def say(d: Delivery) -> dict:
        posted = await d.messenger("console").post("general", Reply(f"hello {d.post.payload['n']}"))
        return {"message_id": posted.message_id}

    return scheduler


async def plan(
    app: App,
    clock: FakeClock,
    n: int,
    *,
    due_in: timedelta = timedelta(minutes=5),
    expires_in: timedelta = timedelta(hours=1),
) -> None:
    due = clock() + due_in

    def apply(session):  # type: ignore[no-untyped-def]
        for i in range(n):
            outbox.plan(
                session,
                key=f"test:{i}",
                kind="test.say",
                due_at=due,
                expires_at=due + expires_in,
                payload={"n": i},
            )

    await app.store.run(apply)


async def states(app: App) -> dict[str, str]:
    from sqlalchemy import text

    rows = await app.store.run(lambda s: s.execute(text("SELECT key, state FROM planned_post")).all())
    return {k: v for k, v in rows}


async def test_each_post_goes_out_once_when_due(app: App) -> None:
    clock, messenger, notices = FakeClock(), RecordingMessenger(), []
    scheduler = make_scheduler(app, clock, messenger, notices)
    await plan(app, clock, 3)
    await plan(app, clock, 3)  # planning again changes nothing
    assert (await scheduler.tick()).sent == 0
    clock.advance(minutes=5)
    report = await scheduler.tick()
    assert report.sent == 3 and sorted(messenger.texts()) == ["hello 0", "hello 1", "hello 2"]
    assert (await scheduler.tick()).sent == 0 and len(messenger.sent) == 3
    await plan(app, clock, 3)  # re-planning a sent post does not send it again
    clock.advance(minutes=10)
    assert (await scheduler.tick()).sent == 0
    assert set((await states(app)).values()) == {"sent"}


async def test_a_failing_platform_is_retried_with_backoff_then_reported(app: App) -> None:
    clock, messenger, notices = FakeClock(), RecordingMessenger(fail_always=True), []
    scheduler = make_scheduler(app, clock, messenger, notices)
    await plan(app, clock, 1, expires_in=timedelta(days=1))
    clock.advance(minutes=5)
    assert (await scheduler.tick()).retrying == 1
    assert (await scheduler.tick()).retrying == 0  # not before its backoff
    for wait in (30, 120, 600):
        clock.advance(seconds=wait)
        await scheduler.tick()
    assert (await states(app)) == {"test:0": "failed"}
    assert (
        len(notices) == 1 and "failed after 4 tries (test:0)" in notices[0] and "schedule retry" in notices[0]
    )
    messenger.fail_always = False
    post_id = await app.store.run(lambda s: s.execute(outbox.select(outbox.PlannedPost.id)).scalar())
    assert (await app.store.run(lambda s: outbox.retry(s, post_id, clock())))[1]  # type: ignore[index]
    assert (await scheduler.tick()).sent == 1 and messenger.texts() == ["hello 0"]


async def test_a_process_killed_after_claiming_posts_once_after_restart(app: App) -> None:
    clock, messenger, notices = FakeClock(), RecordingMessenger(), []
    await plan(app, clock, 2)
    clock.advance(minutes=5)
    # The first process claims both posts and dies before posting.
    claimed = await app.store.run(lambda s: outbox.claim_due(s, clock(), "dead-process"))
    assert len(claimed) == 2 and messenger.sent == []
    restarted = make_scheduler(app, clock, messenger, notices, instance="new-process")
    assert (await restarted.tick()).sent == 0  # the claim may still be live
    clock.advance(minutes=3)  # older than the claim timeout: the process is gone
    assert (await restarted.tick()).sent == 2
    await restarted.tick()
    assert sorted(messenger.texts()) == ["hello 0", "hello 1"]


async def test_downtime_past_the_grace_window_skips_and_reports(app: App) -> None:
    clock, messenger, notices = FakeClock(), RecordingMessenger(), []
    scheduler = make_scheduler(app, clock, messenger, notices)
    await plan(app, clock, 1, expires_in=timedelta(hours=1))
    clock.advance(hours=3)  # the bot was down
    report = await scheduler.tick()
    assert report.skipped == 1 and report.sent == 0 and messenger.sent == []
    assert (await states(app)) == {"test:0": "skipped"}
    assert len(notices) == 1 and "skipped (test:0): missed" in notices[0]


async def test_a_late_post_within_its_grace_window_is_sent_late(app: App) -> None:
    clock, messenger, notices = FakeClock(), RecordingMessenger(), []
    scheduler = make_scheduler(app, clock, messenger, notices)
    await plan(app, clock, 1, expires_in=timedelta(hours=6))
    clock.advance(hours=2)
    report = await scheduler.tick()
    assert report.sent == 1 and report.lateness[0] == pytest.approx(2 * 3600 - 300)


async def test_two_schedulers_on_one_database_post_each_item_once(app: App, database_url: str) -> None:
    clock = FakeClock()
    messenger, notices = RecordingMessenger(), []
    other_store = Store(make_engine(database_url))  # a second process: its own engine and pool
    try:
        first = make_scheduler(app, clock, messenger, notices, instance="one")
        second = make_scheduler(app, clock, messenger, notices, store=other_store, instance="two")
        await plan(app, clock, 300)
        clock.advance(minutes=5)
        a, b = await asyncio.gather(first.tick(), second.tick())
        assert a.sent + b.sent == 300
        assert sorted(messenger.texts()) == sorted(f"hello {i}" for i in range(300))
    finally:
        other_store.close()


async def test_only_one_process_holds_the_lease_and_another_takes_over(app: App) -> None:
    clock = FakeClock()
    lease = timedelta(seconds=45)
    take = lambda who: app.store.run(lambda s: outbox.take_lease(s, "scheduler", who, clock(), lease))  # noqa: E731
    assert await take("a") is True
    assert await take("b") is False
    clock.advance(seconds=30)
    assert await take("a") is True  # renewed
    clock.advance(seconds=40)
    assert await take("b") is False  # a's renewal still holds
    clock.advance(seconds=10)  # a stopped renewing 50 s ago
    assert await take("b") is True
    assert await take("a") is False


async def test_cancel_stops_pending_posts(app: App) -> None:
    clock, messenger, notices = FakeClock(), RecordingMessenger(), []
    scheduler = make_scheduler(app, clock, messenger, notices)
    await plan(app, clock, 2)
    assert await app.store.run(lambda s: outbox.cancel(s, "test:1")) == 1
    clock.advance(minutes=5)
    await scheduler.tick()
    assert messenger.texts() == ["hello 0"]


async def test_a_really_killed_process_leaves_its_claim_and_the_post_goes_out_once(
    app: App, database_url: str
) -> None:
    import signal
    import subprocess
    import sys

    clock, messenger, notices = FakeClock(), RecordingMessenger(), []
    await plan(app, clock, 1)
    clock.advance(minutes=5)
    script = (
        "import os, signal, sys\n"
        "from datetime import datetime\n"
        "from bot.store.db import Store, make_engine\n"
        "from scheduling.engine import outbox\n"
        "store = Store(make_engine(sys.argv[1]))\n"
        "claimed = store.run_sync(lambda s: outbox.claim_due(s, datetime.fromisoformat(sys.argv[2]), 'doomed'))\n"
        "assert len(claimed) == 1\n"
        "os.kill(os.getpid(), signal.SIGKILL)  # dies after claiming, before posting\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, database_url, clock().isoformat()],
        timeout=60,
        capture_output=True,
        text=True,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert (await states(app)) == {"test:0": "claimed"}
    restarted = make_scheduler(app, clock, messenger, notices, instance="after-restart")
    clock.advance(minutes=3)
    await restarted.tick()
    await restarted.tick()
    assert messenger.texts() == ["hello 0"] and (await states(app)) == {"test:0": "sent"}


async def test_posts_finishing_while_sent_marks_are_written_are_all_recorded(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: a post that finished while the batch's last sent-marks were being written was never marked
    sent, so it stayed claimed and went out again after the claim timeout. The interleaving is forced: the
    first post's mark is held until the second post has finished and the batch has ended."""
    loop = asyncio.get_running_loop()
    first_mark_started = asyncio.Event()
    batch_ended = threading.Event()
    marked: list[list[str]] = []
    real_mark_sent = outbox.mark_sent

    def held_mark_sent(session, done):  # type: ignore[no-untyped-def]
        if not marked:  # runs in a store thread; the event loop goes on meanwhile
            loop.call_soon_threadsafe(first_mark_started.set)
            assert batch_ended.wait(timeout=30), "the batch did not end while its first mark was written"
        marked.append([claimed.key for claimed, _, _ in done])
        return real_mark_sent(session, done)

    class BatchEnd(asyncio.Event):
        """The runner's one Event: set when every post of the batch is done."""

        def set(self) -> None:
            super().set()
            batch_ended.set()

    runner_asyncio = types.ModuleType("asyncio")  # the runner's view of asyncio, with its Event observed
    runner_asyncio.__dict__.update(vars(asyncio))
    runner_asyncio.Event = BatchEnd  # type: ignore[attr-defined]
    monkeypatch.setattr(runner, "asyncio", runner_asyncio)
    monkeypatch.setattr(outbox, "mark_sent", held_mark_sent)
    clock, messenger, notices = FakeClock(), RecordingMessenger(), []
    scheduler = make_scheduler(app, clock, messenger, notices)

    @scheduler.handle("test.say")
    async def say(d: Delivery) -> dict:
        if d.post.payload["n"] == 1:
            await first_mark_started.wait()  # finishes only while the first post's mark is being written
        posted = await d.messenger("console").post("general", Reply(f"hello {d.post.payload['n']}"))
        return {"message_id": posted.message_id}

    await plan(app, clock, 2)
    clock.advance(minutes=5)
    report = await scheduler.tick()
    assert marked == [["test:0"], ["test:1"]]  # the second was marked after the first's write, not lost
    assert report.sent == 2 and messenger.texts() == ["hello 0", "hello 1"]
    assert set((await states(app)).values()) == {"sent"}
    clock.advance(minutes=3)  # past the claim timeout: nothing may come back
    await scheduler.tick()
    assert len(messenger.sent) == 2


async def test_planning_in_bulk_is_exactly_once_and_replans_only_what_is_not_yet_sent(app: App) -> None:
    clock, messenger, notices = FakeClock(), RecordingMessenger(), []
    scheduler = make_scheduler(app, clock, messenger, notices)
    due = clock() + timedelta(minutes=5)
    plans = [
        outbox.Plan(f"test:{i}", "test.say", due, due + timedelta(hours=1), {"n": i}) for i in range(1200)
    ]
    assert await app.store.run(lambda s: outbox.plan_many(s, plans)) == 1200
    assert await app.store.run(lambda s: outbox.plan_many(s, plans)) == 0  # nothing twice
    clock.advance(minutes=5)
    assert (await scheduler.tick()).sent == 1200
    later = due + timedelta(days=1)
    moved = [
        outbox.Plan("test:0", "test.say", later, later + timedelta(hours=1), {"n": 0}),
        outbox.Plan("test:new", "test.say", later, later + timedelta(hours=1), {"n": "new"}),
    ]
    assert await app.store.run(lambda s: outbox.plan_many(s, moved)) == 1
    clock.set(later)
    await scheduler.tick()
    assert messenger.texts().count("hello 0") == 1 and messenger.texts()[-1] == "hello new"
    assert len(messenger.sent) == 1201


async def test_stopping_lets_an_alarm_pass_under_way_finish_and_record_its_post(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    """APScheduler cancels its own jobs at shutdown; the pass it started is ours and is not cancelled."""
    clock, messenger, notices = FakeClock(), RecordingMessenger(), []
    scheduler = make_scheduler(app, clock, messenger, notices)
    entered, release = asyncio.Event(), asyncio.Event()

    @scheduler.handle("test.slow")
    async def slow(d: Delivery) -> dict:
        entered.set()
        await release.wait()
        await d.messenger("console").post("general", Reply("slow but sent"))
        return {}

    due = clock() + timedelta(minutes=5)
    await app.store.run(
        lambda s: outbox.plan(
            s, key="test:slow", kind="test.slow", due_at=due, expires_at=due + timedelta(hours=1)
        )
    )
    await scheduler.start()  # takes the lease; its first pass finds nothing due yet
    clock.advance(minutes=5)
    scheduler.wake()  # the alarm: APScheduler runs a pass, whose handler now waits
    await asyncio.wait_for(entered.wait(), 10)
    stopping = asyncio.create_task(scheduler.stop())
    await asyncio.sleep(0)
    release.set()
    await asyncio.wait_for(stopping, 10)
    assert await states(app) == {"test:slow": "sent"} and messenger.texts() == ["slow but sent"]
    assert "CancelledError" not in caplog.text
