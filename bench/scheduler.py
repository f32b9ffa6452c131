"""The scheduler at scale: 10,000 planned posts, 1,000 of them due at the same instant T.

For each backend (a fresh SQLite file, a fresh PostgreSQL database) it plans N posts with outbox.plan
(1,000 due at T = a few seconds ahead on the real clock, the rest spread over the next 30 days), then
measures: plan (all N, a few transactions), start (`await Scheduler.start()` over N pending rows: lease,
first pass, housekeeping), an empty `tick()`, and the burst's lateness (sent_at - due_at read back from
the database) once APScheduler's wake-up job fired at T and the real scheduler delivered it to an
in-memory messenger. Checks: exactly the burst sent, the rest pending, none failed/skipped, no duplicates.
Target: lateness p99 under 1 s. Exit status 1 when a check or the target fails.

Run: ./dev bench scheduler [--posts 10000] [--burst 1000] [--lead 8] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import postgres_database  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.messages import Reply  # noqa: E402
from bot.messenger import Posted, PostTags  # noqa: E402
from bot.store.db import Store, make_engine, upgrade  # noqa: E402
from scheduling.engine import outbox  # noqa: E402
from scheduling.engine.models import PlannedPost  # noqa: E402
from scheduling.engine.runner import Delivery, Scheduler  # noqa: E402

KIND = "bench.post"
CHUNK = 2_500  # posts planned per transaction


def utcnow() -> datetime:
    return datetime.now(UTC)


class MemoryMessenger:
    """bot.messenger.Messenger in memory: records each message's text, does no I/O."""

    platform = "bench"

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.first: float | None = None  # perf_counter of the first and last message
        self.last: float | None = None

    def _posted(self, channel_id: str, text_: str, thread_id: str | None = None) -> Posted:
        self.texts.append(text_)
        self.last = time.perf_counter()
        self.first = self.first or self.last
        return Posted(self.platform, channel_id, f"m{len(self.texts)}", thread_id)

    async def post(self, channel_id: str, reply: Reply, *, tags: PostTags | None = None) -> Posted:
        return self._posted(channel_id, reply.text)

    async def open_thread(
        self, channel_id: str, title: str, reply: Reply, *, tags: PostTags | None = None
    ) -> Posted:
        return self._posted(channel_id, reply.text, f"t{len(self.texts) + 1}")

    async def reply_in_thread(self, channel_id: str, thread_id: str, reply: Reply) -> Posted:
        return self._posted(channel_id, reply.text, thread_id)

    async def send_dm(self, user_id: str, reply: Reply) -> Posted:
        return self._posted(f"dm:{user_id}", reply.text)


def plan_all(store: Store, posts: int, burst: int, lead: float) -> tuple[datetime, float]:
    """Plan the spread posts, then the burst due at T = now + lead. Returns T and the seconds spent."""
    started, now = time.perf_counter(), utcnow()
    horizon = now + timedelta(seconds=lead)
    spread = [
        (burst + j, horizon + timedelta(days=30) * (j + 1) / max(1, posts - burst))
        for j in range(posts - burst)
    ]

    def plan_rows(rows: list[tuple[int, datetime]]) -> Callable[[Session], None]:
        def apply(session: Session) -> None:
            outbox.plan_many(
                session,
                [outbox.Plan(f"bench:{i}", KIND, due, due + timedelta(hours=1), {"i": i}) for i, due in rows],
            )

        return apply

    for k in range(0, len(spread), CHUNK):
        store.run_sync(plan_rows(spread[k : k + CHUNK]))
    due_at = utcnow() + timedelta(seconds=lead)  # the burst's T, set once the spread rows are in
    for k in range(0, burst, CHUNK):
        store.run_sync(plan_rows([(i, due_at) for i in range(k, min(burst, k + CHUNK))]))
    return due_at, time.perf_counter() - started


def states(engine: Engine) -> Counter[str]:
    with Session(engine) as s:
        rows = s.execute(select(PlannedPost.state, func.count()).group_by(PlannedPost.state)).all()
    return Counter({state: int(n) for state, n in rows})


def lateness_ms(engine: Engine) -> list[float]:
    with Session(engine) as s:
        rows = s.execute(
            select(PlannedPost.sent_at, PlannedPost.due_at).where(
                PlannedPost.kind == KIND, PlannedPost.state == "sent"
            )
        ).all()
    return sorted((sent - due).total_seconds() * 1000 for sent, due in rows)


def pct(ordered: list[float], p: float) -> float:
    ordered = ordered or [float("nan")]
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def run_backend(url: str, data_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    engine = make_engine(url)
    upgrade(engine)
    store = Store(engine)
    probe = make_engine(url)  # the bench's own reads, outside the scheduler's thread pool
    settings = load_settings(_env_file=None, database_url=url, data_dir=data_dir)
    messenger = MemoryMessenger()
    scheduler = Scheduler(store, settings, utcnow, messengers={messenger.platform: messenger})

    @scheduler.handle(KIND)
    async def send(d: Delivery) -> dict[str, Any]:
        reply = Reply(f"bench post {d.post.payload['i']}")
        posted = await d.messenger(messenger.platform).post("general", reply)
        return {"message_id": posted.message_id}

    out: dict[str, Any] = {}
    try:
        due_at, out["plan"] = plan_all(store, args.posts, args.burst, args.lead)
        t0 = time.perf_counter()
        await scheduler.start()
        out["start"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = await scheduler.tick()
        out["tick"] = time.perf_counter() - t0
        out["headroom"] = (due_at - utcnow()).total_seconds()  # > 0: everything above finished before T
        if report.sent:
            raise SystemExit("posts went out before T: raise --lead")
        deadline = time.monotonic() + args.timeout
        while (await asyncio.to_thread(states, probe))["sent"] < args.burst and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        out["wall"] = (messenger.last or 0) - (messenger.first or 0)
        out["lateness"] = await asyncio.to_thread(lateness_ms, probe)
        out["states"] = await asyncio.to_thread(states, probe)
        counts = Counter(messenger.texts)
        out["messages"], out["dupes"] = len(messenger.texts), sum(n - 1 for n in counts.values())
        out["distinct_ok"] = set(counts) == {f"bench post {i}" for i in range(args.burst)}
    finally:
        await scheduler.stop()
        store.close()
        probe.dispose()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--burst", type=int, default=1_000, help="posts due at the same instant T")
    parser.add_argument("--lead", type=float, default=8.0, help="seconds from planning the burst to T")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the burst")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    print(
        f"scheduler benchmark: {args.posts:,} planned posts, {args.burst:,} due at one instant T (real "
        f"clock, APScheduler wake-up); lateness = sent_at - due_at in the database; target p99 < 1 s"
    )
    print(
        f"{'backend':<11} {'plan':>7} {'start':>8} {'tick':>8} {'late p50':>9} {'p99':>8} {'max':>8} "
        f"{'sent':>5} {'pending':>7} {'fail/skip':>9} {'msgs':>5} {'dupes':>5}"
    )
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            drop = None
            if backend == "sqlite":
                url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
            else:
                url, drop = postgres_database(args.postgres)
            try:
                r = asyncio.run(run_backend(url, Path(tmp) / backend, args))
            finally:
                if drop:
                    drop()
            late, st = r["lateness"], r["states"]
            bad = st["failed"] + st["skipped"]
            ok = (
                st["sent"] == args.burst
                and st["pending"] == args.posts - args.burst
                and bad == 0
                and r["messages"] == args.burst
                and r["dupes"] == 0
                and r["distinct_ok"]
            )
            failed |= not ok or pct(late, 99) >= 1000
            print(
                f"{backend:<11} {r['plan']:>6.2f}s {r['start'] * 1000:>6.1f}ms {r['tick'] * 1000:>6.1f}ms "
                f"{pct(late, 50):>7.0f}ms {pct(late, 99):>6.0f}ms {pct(late, 100):>6.0f}ms "
                f"{st['sent']:>5} {st['pending']:>7} {bad:>9} {r['messages']:>5} {r['dupes']:>5}"
            )
            print(
                f"{'':<11} first post sent {pct(late, 0):.0f}ms after T, last {r['wall'] * 1000:.0f}ms "
                f"after the first; start + empty tick finished "
                f"{r['headroom']:.2f}s before T; checks {'ok' if ok else 'FAILED: ' + str(dict(st))}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
