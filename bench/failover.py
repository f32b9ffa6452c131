"""Failover under fire: three real scheduler processes, 2,000 posts, the leader killed and paused.

For each backend (a fresh PostgreSQL database it creates and drops, one SQLite file) it plans N posts due
now and starts three worker processes (this file with --worker), each running the real Scheduler with the
production lease, claim window and fence. A worker's platform records every delivery in one shared file
(key, process, time) the moment it "accepts" the post, between the request and the answer, so a record is
always written before the sent mark, as on a real platform. Then, at random moments while posts flow, it
strikes the leader (the holder of `scheduler_lease`): SIGKILL four times (restarting a worker in its place
each time) and SIGSTOP once for longer than the claim window (then SIGCONT). It reports per run:

  lost       posts never delivered
  doubled    extra deliveries (a post delivered twice counts 1); per strike, those of the posts at risk
  at risk    calls the struck process had in flight at the strike (begun, past the fence) whose post it
             never marked sent: the only ones the engine cannot protect (doubled may not exceed this)
  refused    platform calls a resumed process did not make because its claim or lease had moved on;
             per pause, posts it sent after resuming without holding their claim (must be 0)
  takeover   per strike: seconds until the next lease holder delivered its first post
  stranded   per strike: the posts the struck process held claimed, and the seconds until the last of
             them was delivered (by the new leader, or by a paused process that resumed in time)
  last post  seconds from the first strike until the last post went out

and how many doubles came within 3 minutes of the first delivery, which a platform that honours a
message nonce (Discord with enforce_nonce) would have answered with the first message instead.
Exit status 1 when a post is lost, doubles exceed the posts at risk, or a resumed process sent a post
it no longer held.

Run: ./dev bench failover [--posts 2000] [--backends postgresql,sqlite] [--seed 7]
Everything runs on 127.0.0.1 and local files; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Engine, func, select
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import postgres_database  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.messages import Reply  # noqa: E402
from bot.messenger import Posted, PostTags  # noqa: E402
from bot.store.db import Store, make_engine, upgrade  # noqa: E402
from scheduling.engine import outbox  # noqa: E402
from scheduling.engine.models import PlannedPost, SchedulerLease  # noqa: E402
from scheduling.engine.runner import Delivery, Scheduler  # noqa: E402

KIND = "bench.failover"
WORKER_LIFETIME = 900.0  # a worker never outlives this, whatever happens to the bench
NONCE_WINDOW = 180.0
PAUSE_MARGIN = 15.0  # the pause lasts the claim window and this much more: time for a takeover


def utcnow() -> datetime:
    return datetime.now(UTC)


# ---- the worker: one scheduler process ---------------------------------------------------------------


class RecordingPlatform:
    """bot.messenger.Messenger whose platform is a shared file: one line per delivery, written when the
    platform accepts the post (after the request's trip, before the answer's)."""

    platform = "bench"

    def __init__(self, path: Path, instance: str, latency: float) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.instance, self.latency, self.n = instance, latency, 0

    async def post(
        self, channel_id: str, reply: Reply, *, tags: PostTags | None = None, workspace: str = ""
    ) -> Posted:
        started = time.time()  # the fence has passed: the call is in flight from here
        await asyncio.sleep(random.uniform(0, self.latency))
        line = f"{reply.text}\t{self.instance}\t{started:.3f}\t{time.time():.3f}\n"
        os.write(self.fd, line.encode())  # one write of a short line: whole, even with three writers
        await asyncio.sleep(random.uniform(0, self.latency))
        self.n += 1
        return Posted(self.platform, channel_id, f"{self.instance}-{self.n}")

    async def open_thread(
        self, channel_id: str, title: str, reply: Reply, *, tags: PostTags | None = None, workspace: str = ""
    ) -> Posted:
        return await self.post(channel_id, reply)

    async def reply_in_thread(
        self, channel_id: str, thread_id: str, reply: Reply, *, workspace: str = ""
    ) -> Posted:
        return await self.post(channel_id, reply)

    async def send_dm(self, user_id: str, reply: Reply, *, workspace: str = "") -> Posted:
        return await self.post(user_id, reply)


async def worker(url: str, instance: str, records: Path, concurrency: int, latency: float) -> None:
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {instance} %(levelname)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    store = Store(make_engine(url))
    settings = load_settings(_env_file=None, database_url=url, data_dir=records.parent / instance)
    platform = RecordingPlatform(records, instance, latency)
    scheduler = Scheduler(
        store,
        settings,
        utcnow,
        messengers={platform.platform: platform},
        instance=instance,
        concurrency=concurrency,
    )

    @scheduler.handle(KIND)
    async def send(d: Delivery) -> dict[str, Any]:
        posted = await d.messenger(platform.platform).post("general", Reply(d.post.key))
        return {"message_id": posted.message_id}

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await scheduler.start()
    try:
        await asyncio.wait_for(stop.wait(), WORKER_LIFETIME)
    except TimeoutError:
        pass
    await scheduler.stop()
    store.close()


# ---- the bench: plan, start, strike, count ------------------------------------------------------------


class Record(NamedTuple):
    key: str
    who: str  # the worker instance
    started: float  # when its platform call began
    at: float  # when the platform accepted the post


@dataclass
class Strike:
    kind: str  # kill | stop
    victim: str
    at: float
    stranded: set[str] = field(default_factory=set)  # keys the victim held claimed at the strike
    successor: str | None = None  # the next process to hold the lease
    takeover: float | None = None  # seconds until the successor delivered its first post


@dataclass
class Run:
    strikes: list[Strike] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    offset: int = 0  # bytes of the records file read so far


class Workers:
    """Three slots, each running one worker process; a killed worker is replaced in its slot."""

    def __init__(self, url: str, tmp: Path, args: argparse.Namespace) -> None:
        self.url, self.tmp, self.args = url, tmp, args
        self.records = tmp / "deliveries.tsv"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}  # instance -> process
        self.generation = 0

    def start(self, slot: str) -> str:
        self.generation += 1
        instance = f"{slot}.{self.generation}"
        with open(self.tmp / f"{instance}.log", "wb") as log:  # the worker keeps its own copy
            self.procs[instance] = subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    self.url,
                    instance,
                    str(self.records),
                    str(self.args.concurrency),
                    str(self.args.latency),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return instance

    def live(self, instance: str) -> bool:
        proc = self.procs.get(instance)
        return proc is not None and proc.poll() is None

    def refused(self) -> int:
        logs = (self.tmp / f"{instance}.log" for instance in self.procs)
        return sum(log.read_text(errors="replace").count(" not sent by ") for log in logs)

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.terminate()
        deadline = time.monotonic() + 15
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def plan_all(url: str, n: int) -> None:
    store = Store(make_engine(url))
    now = utcnow()
    plans = [outbox.Plan(f"post-{i:05d}", KIND, now, now + timedelta(hours=2)) for i in range(n)]
    for k in range(0, n, 1000):
        store.run_sync(lambda s, chunk=plans[k : k + 1000]: outbox.plan_many(s, chunk))
    store.close()


def leader(engine: Engine) -> str | None:
    with Session(engine) as s:
        row = s.get(SchedulerLease, outbox.LEASE_NAME)
        return row.holder if row is not None and row.expires_at > utcnow() else None


def claimed_by(engine: Engine, instance: str) -> set[str]:
    with Session(engine) as s:
        return set(
            s.execute(
                select(PlannedPost.key).where(
                    PlannedPost.state == "claimed", PlannedPost.claimed_by.startswith(f"{instance}:")
                )
            ).scalars()
        )


def sent_count(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.execute(select(func.count()).where(PlannedPost.state == "sent")).scalar() or 0)


def read_records(run: Run, path: Path) -> None:
    if not path.exists():
        return
    with open(path, "rb") as f:
        f.seek(run.offset)
        data = f.read()
    complete = data[: data.rfind(b"\n") + 1]
    run.offset += len(complete)
    for line in complete.decode().splitlines():
        key, instance, started, at = line.split("\t")
        run.records.append(Record(key, instance, float(started), float(at)))


def wait(seconds: float, run: Run, workers: Workers, engine: Engine) -> None:
    """Sleep, keeping the records and the open strikes' takeover times up to date."""
    end = time.monotonic() + seconds
    while True:
        read_records(run, workers.records)
        for strike in run.strikes:
            if strike.successor is None:
                holder = leader(engine)
                strike.successor = holder if holder not in (None, strike.victim) else None
            elif strike.takeover is None:
                after = [r.at for r in run.records if r.who == strike.successor and r.at > strike.at]
                strike.takeover = min(after) - strike.at if after else None
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(0.1, left))


def strike_leader(
    kind: str, run: Run, workers: Workers, engine: Engine, rng: random.Random, deadline: float
) -> bool:
    """Wait until the last strike's stranded posts are out and a leader is delivering, let it send for a
    random moment, then strike it."""
    last = run.strikes[-1] if run.strikes else None
    while time.monotonic() < deadline and sent_count(engine) < workers.args.posts:
        holder = leader(engine)
        flowing = (
            holder is not None
            and workers.live(holder)
            and any(r.who == holder and r.at > (last.at if last else 0.0) for r in run.records)
        )
        delivered = {r.key for r in run.records}
        if flowing and (last is None or last.stranded <= delivered):
            break
        wait(0.1, run, workers, engine)
    else:
        return False
    wait(rng.uniform(0.3, 2.5), run, workers, engine)
    holder = leader(engine)
    if holder is None or not workers.live(holder) or sent_count(engine) >= workers.args.posts:
        return False
    proc = workers.procs[holder]
    proc.send_signal(signal.SIGKILL if kind == "kill" else signal.SIGSTOP)
    run.strikes.append(Strike(kind, holder, time.time(), claimed_by(engine, holder)))
    if kind == "kill":
        proc.wait(10)
        workers.start(holder.split(".")[0])
    else:
        wait(outbox.CLAIM_WINDOW.total_seconds() + PAUSE_MARGIN, run, workers, engine)
        proc.send_signal(signal.SIGCONT)
    return True


def run_backend(url: str, tmp: Path, args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    engine = make_engine(url)
    upgrade(engine)
    plan_all(url, args.posts)
    workers, run = Workers(url, tmp, args), Run()
    events = ["kill"] * 4 + ["stop"]
    rng.shuffle(events)
    began = time.monotonic()
    try:
        for slot in ("w1", "w2", "w3"):
            workers.start(slot)
        for kind in events:
            if not strike_leader(kind, run, workers, engine, rng, began + args.timeout):
                break
        while sent_count(engine) < args.posts and time.monotonic() < began + args.timeout:
            wait(0.2, run, workers, engine)
        wait(outbox.CLAIM_WINDOW.total_seconds() / 4, run, workers, engine)  # what a resumed process may do
        result = {"run": run, "sent": sent_count(engine), "holders": holders(engine)}
    finally:
        workers.close()
        read_records(run, workers.records)
        engine.dispose()
    return {**result, "refused": workers.refused(), "elapsed": time.monotonic() - began}


def holders(engine: Engine) -> dict[str, str]:
    """key -> the instance whose claim marked it sent."""
    with Session(engine) as s:
        rows = s.execute(
            select(PlannedPost.key, PlannedPost.claimed_by).where(PlannedPost.state == "sent")
        ).all()
    return {key: by.split(":")[0] for key, by in rows}


def report(backend: str, r: dict[str, Any], posts: int) -> bool:
    run: Run = r["run"]
    per_key: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for rec in run.records:
        per_key[rec.key].append((rec.who, rec.at))
    lost = posts - len(per_key)
    doubled = sum(len(v) - 1 for v in per_key.values())
    absorbed = 0
    for v in per_key.values():
        times = sorted(at for _, at in v)
        absorbed += sum(1 for at in times[1:] if at - times[0] < NONCE_WINDOW)
    last = max((rec.at for rec in run.records), default=0.0)
    first_strike = run.strikes[0].at if run.strikes else last
    risky = unheld_total = 0
    details = []
    for s in run.strikes:
        unmarked = {
            rec.key
            for rec in run.records
            if rec.who == s.victim and rec.started <= s.at and r["holders"].get(rec.key) != rec.who
        }
        at_risk = len(unmarked)
        doubles = sum(len(per_key[key]) - 1 for key in unmarked)
        risky += at_risk
        took = f"{s.takeover:.1f}s" if s.takeover is not None else "-"
        out = [min(at for _, at in per_key[key]) for key in s.stranded if per_key[key]]
        went = (
            f"all out after {max(out) - s.at:.1f}s"
            if len(out) == len(s.stranded) and out
            else (f"{len(s.stranded) - len(out)} never delivered" if s.stranded else "none")
        )
        unheld = sum(
            1
            for rec in run.records
            if rec.who == s.victim and rec.started > s.at and r["holders"].get(rec.key) != rec.who
        )
        unheld_total += unheld
        resumed = f"; posts sent after it resumed without their claim {unheld}" if s.kind == "stop" else ""
        details.append(
            f"{s.kind} {s.victim} +{s.at - first_strike:.0f}s: takeover {took}; stranded "
            f"{len(s.stranded)} ({went}); in flight {at_risk}, doubled {doubles}{resumed}"
        )
    print(
        f"{backend:<11} {posts:>5} {r['sent']:>5} {lost:>5} {doubled:>7} {risky:>7} {r['refused']:>7}  "
        f"{last - first_strike:>8.1f}s  {r['elapsed']:>5.0f}s"
    )
    for line in details:
        print(f"{'':<13}{line}")
    print(
        f"{'':<13}of the doubles, {absorbed} came within {NONCE_WINDOW:.0f} s of the first delivery "
        "(a platform honouring a message nonce answers those with the first message)"
    )
    return lost == 0 and r["sent"] == posts and doubled <= risky and not unheld_total


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        url, instance, records, concurrency, latency = sys.argv[2:7]
        asyncio.run(worker(url, instance, Path(records), int(concurrency), float(latency)))
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=2, help="platform calls at once per process")
    parser.add_argument("--latency", type=float, default=0.1, help="max seconds each way of a platform call")
    parser.add_argument("--timeout", type=float, default=400.0, help="seconds a run may take at most")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--keep", help="copy the workers' logs and the deliveries file into this folder")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    window = outbox.CLAIM_WINDOW.total_seconds()
    print(
        f"failover benchmark: {args.posts:,} posts due now, 3 scheduler processes, the leader SIGKILLed "
        f"4 times and SIGSTOPped once for {window + PAUSE_MARGIN:.0f} s (seed {seed}); claim window "
        f"{window:.0f} s, {args.concurrency} platform calls at once per process"
    )
    print(
        f"{'backend':<11} {'posts':>5} {'sent':>5} {'lost':>5} {'doubled':>7} {'at risk':>7} "
        f"{'refused':>7}  {'last post':>9}  {'run':>6}"
    )
    ok = True
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            drop = None
            if backend == "sqlite":
                url = f"sqlite:///{Path(tmp) / 'failover.sqlite3'}"
            else:
                url, drop = postgres_database(args.postgres)
            try:
                result = run_backend(url, Path(tmp), args, random.Random(f"{seed}-{backend}"))
                ok &= report(backend, result, args.posts)
            finally:
                if drop:
                    drop()
                if args.keep:
                    shutil.copytree(tmp, Path(args.keep) / backend, dirs_exist_ok=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
