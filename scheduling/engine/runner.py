"""The scheduler: wakes when a planned post falls due, claims it, hands it to its kind's handler.

APScheduler 3 (AsyncIOScheduler, in the bot's one event loop) is only the alarm clock: a wake-up job at
the next due time (or when the oldest claim lapses), a sweep every 30 s as a safety net, and a lease job.
Jobs carry no objects and no state; everything is read from `planned_post` rows
(scheduling/engine/outbox.py). With several bot processes on one database, the one holding the
`scheduler_lease` row runs the ticks. When the leader dies or stalls: its lease (LEASE_TIME, renewed every
LEASE_TIME / 3) runs out within 15 s and another process takes it within 5 s more; the posts the dead one
had claimed lapse CLAIM_WINDOW (20 s) after their last renewal, and the new leader takes them at its next
batch or at its alarm, which is set for that moment. Measured (bench/failover.py): takeover in 11-18 s,
the claimed posts (up to two batches: one being sent, one claimed ahead) out within 20-67 s. Every
platform call is fenced (scheduling/engine/fence.py): a stalled process that wakes up sends nothing its
claim or lease no longer covers. Members come first: before each post, and each transaction of its own
store, the scheduler waits while a member's request is being answered, 50 ms at most (bot/foreground.py).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import Settings
from bot.members.events import forget_old_events
from bot.messenger import DeliveryError, Messenger
from bot.store.db import Store
from scheduling.engine import outbox
from scheduling.engine.fence import ClaimLost, Fence, fenced
from scheduling.engine.outbox import CLAIM_WINDOW, LEASE_NAME, Claimed

log = logging.getLogger(__name__)
LEASE_TIME = timedelta(seconds=15)
SWEEP_SECONDS = 30
SEND_TIMEOUT = 60.0  # may exceed CLAIM_WINDOW: the fence keeps renewing a live batch's claims meanwhile
FLUSH_SECONDS = 0.025
MAX_CLAIM = 1000  # a batch's claims are renewed as a whole (fence.py), so a big batch is safe
_NOT_SENT = object()  # failed, lost its claim, or postponed


@dataclass
class Delivery:
    """What a handler gets: the claimed post and the means to act on it. Its messengers are fenced: each
    call first re-checks and extends the claim (ClaimLost if it no longer holds) and carries SEND_KEY."""

    post: Claimed
    now: datetime
    store: Store
    platforms: Mapping[str, Messenger]
    settings: Settings
    scheduler: Scheduler
    fence: Fence
    calls: int = 0

    def messenger(self, platform: str) -> Messenger:
        try:
            return fenced(self.platforms[platform], self._before_call)
        except KeyError:
            raise DeliveryError(f"no adapter for platform {platform!r} is running", retryable=True) from None

    @property
    def messengers(self) -> dict[str, Messenger]:
        return {name: fenced(m, self._before_call) for name, m in self.platforms.items()}

    async def _before_call(self) -> str:
        await self.fence.hold(self.post.id)
        self.calls += 1
        return f"{self.post.key}#{self.calls}"


class Later(Exception):
    """Raised by a handler: not now (say, the reader's quiet hours); try again at `until`."""

    def __init__(self, until: datetime, why: str) -> None:
        super().__init__(why)
        self.until, self.why = until, why


Handler = Callable[[Delivery], Awaitable[dict[str, Any] | None]]
Upcoming = asyncio.Future[tuple[list[Claimed], Fence]]  # the next batch, being claimed or claimed
Notifier = Callable[[str], Awaitable[None]]


@dataclass
class TickReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0
    postponed: int = 0
    lateness: list[float] = field(default_factory=list)  # seconds between due and sent, per sent post


class Scheduler:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        clock: Callable[[], datetime],
        *,
        messengers: Mapping[str, Messenger] | None = None,
        notify: Notifier | None = None,
        instance: str | None = None,
        concurrency: int = 50,
        yield_to: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.messengers: dict[str, Messenger] = dict(messengers or {})
        self.handlers: dict[str, Handler] = {}
        self.notify = notify
        self.instance = instance or f"copbot-{uuid.uuid4().hex[:8]}"
        self.concurrency = concurrency
        self.yield_to = yield_to  # awaited before each post: members' requests go first (bot/foreground.py)
        self.is_leader = False
        self._pace: float | None = None  # posts per second in the last batch
        self._lock = asyncio.Lock()
        self._aps: AsyncIOScheduler | None = None
        self._passes: set[asyncio.Task[Any]] = set()  # alarm passes and lease renewals under way
        self._pass_wanted = False  # an alarm pass is waiting to start: later alarms need no other
        self._renewal: asyncio.Task[Any] | None = None
        self._live: set[str] = set()  # the claims (tokens) of batches being delivered or recorded

    # ---- wiring ------------------------------------------------------------------------------
    def handle(self, kind: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self.handlers[kind] = fn
            return fn

        return register

    def add_messenger(self, messenger: Messenger) -> None:
        self.messengers[messenger.platform] = messenger

    # ---- one pass ----------------------------------------------------------------------------
    async def tick(self) -> TickReport:
        """Send everything due now. Safe to call at any time; one pass runs at a time. The leader claims
        and sends only while the lease is still its own."""
        async with self._lock:
            self._pass_wanted = False  # this pass serves every alarm rung so far
            report = TickReport()
            lease = self.instance if self.is_leader else None
            now = self.clock()
            skipped = await self.store.run(lambda s: self._housekeeping(s, now))
            report.skipped = len(skipped)
            for key, why in skipped:
                await self._tell_coordinators(f"A scheduled post was skipped ({key}): {why}.")
            # A pipeline: the next batch is claimed while this one is delivered, so a burst of posts due
            # at once never waits on a claim between batches; its claims are kept while it waits.
            upcoming = self._claim_next(lease)
            closing: list[asyncio.Future[None]] = []
            stale = False  # `upcoming` was claimed before the last batch's handlers ran
            try:
                while True:
                    batch, fence = await upcoming
                    if not batch and stale:  # what those handlers planned due now goes in this pass too
                        upcoming, stale = self._claim_next(lease), False
                        continue
                    if not batch:
                        break
                    stale = True
                    self._live.add(fence.token)
                    upcoming = self._claim_next(lease)
                    started = self.clock()
                    closing.append(await self._deliver_batch(batch, fence, report, upcoming))
                    self._pace = len(batch) / max((self.clock() - started).total_seconds(), 1e-3)
            finally:
                await asyncio.gather(*closing, return_exceptions=True)
                await self._give_back(upcoming)
            await self._arm_wakeup()
            return report

    def _claim_next(self, lease: str | None) -> Upcoming:
        async def claim() -> tuple[list[Claimed], Fence]:
            now, size, live = self.clock(), self.claim_size(), list(self._live)
            batch = await self.store.run(lambda s: self._claim(s, now, size, lease, live))
            token = batch[0].token if batch else ""
            return batch, Fence(self.store, self.clock, token, lease, now, (p.id for p in batch))

        return asyncio.ensure_future(claim())

    async def _give_back(self, upcoming: Upcoming) -> None:
        """A batch claimed ahead that this pass will not deliver (it ended, or failed) goes back at once
        rather than when its claim lapses."""
        try:
            batch, fence = await asyncio.shield(upcoming)
        except Exception:  # noqa: BLE001 - nothing was claimed, or the claim lapses by itself
            return
        if batch:
            token = batch[0].token
            await fence.close()
            try:
                await self.store.run(lambda s: outbox.release(s, token))
            except Exception:  # noqa: BLE001 - the claims lapse within CLAIM_WINDOW instead
                log.exception(
                    "could not give back %d claimed post(s); they go out once their claim lapses", len(batch)
                )

    def claim_size(self) -> int:
        """How many posts to claim at once: what this process sent in half a claim window at the pace of
        its last batch (on the scheduler's clock, which the window is measured on), at least
        `concurrency` (what it sends at once) and at most MAX_CLAIM. A batch that turns out slower
        (a platform's rate limit) keeps its claims by renewing them (fence.py)."""
        if self._pace is None:
            return self.concurrency
        return max(self.concurrency, min(MAX_CLAIM, int(self._pace * CLAIM_WINDOW.total_seconds() / 2)))

    def _claim(
        self, session: Any, now: datetime, size: int, lease: str | None, live: Sequence[str]
    ) -> list[Claimed]:
        """Lapsed claims first go back to pending (a dead process's posts, taken over between batches, so
        a long backlog does not hold them up), but not those of `live`, the batches this pass is still
        working on; then the next batch is claimed."""
        outbox.release_stale_claims(session, now, keep=live)
        return outbox.claim_due(session, now, self.instance, size, lease=lease)

    @staticmethod
    def _housekeeping(session: Any, now: datetime) -> list[tuple[str, str]]:
        outbox.release_stale_claims(session, now)
        forget_old_events(session, now)
        return [(p.key, p.last_error) for p in outbox.skip_expired(session, now)]

    async def _deliver_batch(
        self, batch: list[Claimed], fence: Fence, report: TickReport, upcoming: Upcoming | None = None
    ) -> asyncio.Future[None]:
        """Deliver concurrently. Successes are recorded in small groups as they complete (every
        FLUSH_SECONDS), so a crash can repeat at most the few posts sent in that instant, and a
        thousand posts do not cost a thousand transactions. Returns once every post was tried, with
        what finishes the batch (its last records, its fence) still under way: the caller awaits it."""
        done: list[tuple[Claimed, datetime, dict[str, Any] | None]] = []
        finished = asyncio.Event()

        async def flush() -> None:
            if not done:
                return
            group = done[:]
            del done[:]
            try:
                confirmed = await self.store.run(lambda s: outbox.mark_sent(s, group))
            except Exception:  # noqa: BLE001 - the claims time out and the posts are retried
                log.exception("could not record %d sent post(s); they may be sent again", len(group))
                return
            for claimed, sent_at, _ in group:
                if claimed.id in confirmed:
                    report.sent += 1
                    report.lateness.append((sent_at - claimed.due_at).total_seconds())
                else:
                    log.warning("post %s was sent but its claim had lapsed", claimed.key)

        async def flusher() -> None:
            while not finished.is_set():
                try:
                    await asyncio.wait_for(finished.wait(), FLUSH_SECONDS)
                except TimeoutError:
                    pass
                fence.keep()
                if upcoming is not None and upcoming.done() and not upcoming.cancelled():
                    if upcoming.exception() is None and upcoming.result()[0]:
                        upcoming.result()[1].keep()  # the next batch, claimed and waiting its turn
                await flush()

        posts = iter(batch)

        async def sender() -> None:  # `concurrency` of these take the batch's posts in turn
            for post in posts:
                if self.yield_to is not None:
                    await self.yield_to()
                result = await self._attempt(post, fence, report)
                if result is not _NOT_SENT:
                    done.append((post, self.clock(), result))

        async def close() -> None:
            try:
                finished.set()
                await flushing
                await flush()  # what completed while the last flush was writing
                await fence.close()
            finally:
                self._live.discard(fence.token)

        flushing = asyncio.create_task(flusher())
        try:
            await asyncio.gather(*(sender() for _ in range(min(self.concurrency, len(batch)))))
        except BaseException:
            await close()
            raise
        # the batch's last records are written while the next batch goes out
        return asyncio.ensure_future(close())

    async def _attempt(self, post: Claimed, fence: Fence, report: TickReport) -> Any:
        handler = self.handlers.get(post.kind)
        try:
            if handler is None:
                raise DeliveryError(f"no handler for kind {post.kind!r}", retryable=False)
            delivery = Delivery(post, self.clock(), self.store, self.messengers, self.settings, self, fence)
            async with asyncio.timeout(SEND_TIMEOUT):
                return await handler(delivery)
        except Later as later:
            until, why = later.until, later.why
            try:
                await self.store.run(lambda s: outbox.postpone(s, post, until, self.clock(), why))
                report.postponed += 1
            except Exception:  # noqa: BLE001 - the claim times out and the post is tried again
                log.exception("could not postpone %s", post.key)
            return _NOT_SENT
        except ClaimLost:
            log.warning(
                "post %s (%s) not sent by %s: its claim lapsed or the scheduler lease moved; "
                "the process that holds it now sends it",
                post.id,
                post.key,
                self.instance,
            )
            return _NOT_SENT
        except Exception as exc:  # noqa: BLE001 - every failure is recorded, none is lost
            retryable = (
                exc.retryable
                if isinstance(exc, DeliveryError)
                else not isinstance(exc, (KeyError, TypeError))
            )
            error = f"{exc.__class__.__name__}: {exc}"
            log.warning("post %s (%s) failed on try %d: %s", post.id, post.key, post.attempts, error)
            try:
                state = await self.store.run(
                    lambda s: outbox.mark_failed(s, post, self.clock(), error, retryable=retryable)
                )
            except Exception:  # noqa: BLE001 - the claim times out and the post is retried
                log.exception("could not record the failure of %s", post.key)
                return _NOT_SENT
            if state == "failed":
                report.failed += 1
                await self._tell_coordinators(
                    f"A scheduled post failed after {post.attempts} tries ({post.key}): {error}. "
                    f"See schedule list; retry it with: schedule retry {post.id}"
                )
            else:
                report.retrying += 1
            return _NOT_SENT

    async def _tell_coordinators(self, text: str) -> None:
        log.warning(text)
        if self.notify is not None:
            try:
                await self.notify(text)
            except Exception:  # noqa: BLE001 - a failed notice must not stop the scheduler
                log.exception("could not notify coordinators")

    # ---- running -----------------------------------------------------------------------------
    def wake(self) -> None:
        """Something was planned or the clock moved: run a pass soon (only the leader does)."""
        if self._aps is not None and self.is_leader:
            self._aps.add_job(self._start_pass, id="wake", replace_existing=True, misfire_grace_time=None)

    async def _start_pass(self) -> None:
        """The alarm's job: start a pass as a task of our own and return. APScheduler cancels the jobs it
        runs when it shuts down; our own tasks are left to finish their posts and record them (`stop`)."""
        if not self._pass_wanted:
            self._pass_wanted = True
            self._spawn(self._safe_tick())

    async def _start_lease_renewal(self) -> None:
        """The lease job: renew in a task of our own, one at a time (see `_start_pass`)."""
        if self._renewal is None or self._renewal.done():
            self._renewal = self._spawn(self._renew())

    async def _renew(self) -> None:
        await self.renew_lease()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(work)
        self._passes.add(task)
        task.add_done_callback(self._passes.discard)
        return task

    async def settle(self) -> None:
        """Wait for passes under way, then send whatever is due now (when this process runs the
        scheduler). A piped console session calls this after each command and before it exits, so what
        its commands made due is delivered in order, in that session."""
        if self._passes:
            await asyncio.wait(set(self._passes), timeout=SEND_TIMEOUT)
        if self.is_leader:
            await self._safe_tick()

    async def _arm_wakeup(self) -> None:
        """Set the alarm for the next due post (only the leader keeps an alarm)."""
        if self._aps is None or not self.is_leader:
            return
        due = await self.store.run(outbox.next_wakeup)
        if due is None or self._aps is None:
            return
        delay = max(0.0, (due - self.clock()).total_seconds())
        run_at = datetime.now(UTC) + timedelta(seconds=delay)
        self._aps.add_job(
            self._start_pass,
            "date",
            run_date=run_at,
            id="wake",
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
        )

    async def _safe_tick(self) -> None:
        if not self.is_leader:
            self._pass_wanted = False
            return
        try:
            await self.tick()
        except Exception:  # noqa: BLE001
            log.exception("scheduler pass failed; the next sweep tries again")

    async def renew_lease(self) -> bool:
        """Take or keep the scheduler lease; a process that just became the leader runs a pass at once.
        Returns whether this process is the leader."""
        now = self.clock()
        try:
            leader = await self.store.run(
                lambda s: outbox.take_lease(s, LEASE_NAME, self.instance, now, LEASE_TIME)
            )
        except Exception:  # noqa: BLE001
            log.exception("could not renew the scheduler lease")
            leader = False
        if leader and not self.is_leader:
            log.info("this process (%s) now runs the scheduler", self.instance)
            self.is_leader = True
            if self._aps is not None:
                self.wake()  # a pass at once, outside the lease job, which must keep renewing meanwhile
            else:
                await self._safe_tick()
        elif not leader and self.is_leader:
            log.warning("lost the scheduler lease; another process runs it now")
            self.is_leader = False
        return self.is_leader

    async def start(self) -> None:
        self._aps = AsyncIOScheduler(timezone=UTC)
        self._aps.add_job(
            self._start_lease_renewal,
            "interval",
            seconds=LEASE_TIME.total_seconds() / 3,
            id="lease",
            misfire_grace_time=None,
            coalesce=True,
            max_instances=1,
        )
        self._aps.add_job(
            self._start_pass,
            "interval",
            seconds=SWEEP_SECONDS,
            id="sweep",
            misfire_grace_time=None,
            coalesce=True,
            max_instances=1,
        )
        self._aps.start()
        await self.renew_lease()

    async def stop(self) -> None:
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None
        while self._passes:  # let passes in progress finish their posts and record them (never half-sent)
            _, pending = await asyncio.wait(set(self._passes), timeout=SEND_TIMEOUT)
            if pending:
                log.warning(
                    "%d scheduler pass(es) still running at stop; their claims time out", len(pending)
                )
                break
        if self.is_leader:
            self.is_leader = False
            await self.store.run(lambda s: outbox.drop_lease(s, LEASE_NAME, self.instance))
