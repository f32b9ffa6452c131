"""Reminders for a 5,000-member convening: planning, sending, and command latency meanwhile.

For each backend: a fresh database, a network and a convening with the default leads (a week, a day
and an hour before), 5,000 members answering "going". It reports
  plan      time to plan every reminder (5,000 members x 3 leads) as `convening move` does: more than
            a command plans in line, so one durable post hands them to the scheduler, which plans them
            in committed chunks of 1,000 (scheduling/convenings/service.py plan_reminders)
  send      time to send the 5,000 "one day before" DMs through the console messenger (output to memory)
  latency   `convening show` / `practice search` through the dispatcher: idle, while planning, while sending
and checks that every reminder was planned once and each member got exactly one DM. Target (issue 14):
command p99 while planning and while sending at most 2x the idle p99 (printed as a ratio; exit status 1
when missed). The figures are only as quiet as the machine.

Run: ./dev bench convening_reminders [--members 5000] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlmodel import col

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.console.adapter import ConsoleAdapter  # noqa: E402
from bench.common import postgres_database  # noqa: E402
from bot.app import build_app  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.messages import Incoming, Member, Place  # noqa: E402
from bot.store.models import MemberRecord  # noqa: E402
from scheduling.convenings import service as convenings  # noqa: E402
from scheduling.convenings.models import Convening, Rsvp  # noqa: E402
from scheduling.engine.models import PlannedPost  # noqa: E402

ADMIN = Member("console", "root", "Root")


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


async def probe(app, stop: asyncio.Event, samples: list[float]) -> None:  # type: ignore[no-untyped-def]
    """Ask the bot something every 20 ms until told to stop, recording how long each answer took."""
    place = Place("console", "general")
    n = 0
    while not stop.is_set():
        text = "convening show 1" if n % 2 else "practice search budget"
        t0 = time.perf_counter()
        replies = await app.dispatch(
            Incoming(member=Member("console", "reader", "Reader"), place=place, text=text)
        )
        samples.append(time.perf_counter() - t0)
        assert replies and not replies[0].is_error, replies[0].text
        n += 1
        await asyncio.sleep(0.02)


async def run(url: str, data: Path, members: int) -> dict[str, object]:
    clock = Clock()
    settings = load_settings(_env_file=None, database_url=url, data_dir=data, admins="console:root")
    app = build_app(settings, clock=clock)
    out = io.StringIO()
    console = ConsoleAdapter(app.dispatch, user="root", export_dir=data, stdout=out, interactive=False)
    app.add_messenger(console.messenger)
    place = Place("console", "general")
    start = (clock() + timedelta(days=30)).astimezone(UTC).strftime("%Y-%m-%d 10:00")
    for text in (
        'network create "Bench Network"',
        f'convening schedule bench-network --title "Annual convening" --start "{start} UTC"',
    ):
        reply = (await app.dispatch(Incoming(member=ADMIN, place=place, text=text)))[0]
        assert not reply.is_error, reply.text
    now = clock()

    def add_members(session) -> None:  # type: ignore[no-untyped-def]
        session.execute(
            insert(MemberRecord.__table__),
            [  # type: ignore[attr-defined]
                {"platform": "console", "user_id": f"m{i}", "display_name": f"Member {i}", "created_at": now}
                for i in range(members)
            ],
        )
        ids = session.execute(select(MemberRecord.id).where(MemberRecord.user_id.like("m%"))).scalars().all()  # type: ignore[attr-defined]
        session.execute(
            insert(Rsvp.__table__),
            [  # type: ignore[attr-defined]
                {
                    "convening_id": 1,
                    "member_id": i,
                    "answer": "going",
                    "remind_on_maybe": False,
                    "answered_at": now,
                }
                for i in ids
            ],
        )

    await app.store.run(add_members)
    result: dict[str, object] = {}
    idle: list[float] = []
    stop = asyncio.Event()
    task = asyncio.create_task(probe(app, stop, idle))
    await asyncio.sleep(1.0)
    stop.set()
    await task
    result["idle"] = idle

    during_plan: list[float] = []
    stop = asyncio.Event()
    task = asyncio.create_task(probe(app, stop, during_plan))
    t0 = time.perf_counter()
    planned = await app.store.run(  # as `convening move` does: too many to plan in line, handed over
        lambda s: convenings.plan_reminders(s, s.get(Convening, 1), clock(), settings.timezone)
    )
    await app.scheduler.tick()  # the scheduler plans them in committed chunks
    result["plan_s"] = time.perf_counter() - t0
    result["rows"] = await app.store.run(
        lambda s: s.execute(
            select(func.count()).where(col(PlannedPost.kind) == convenings.REMIND)
        ).scalar_one()
    )
    stop.set()
    await task
    result["planned"], result["during_plan"] = planned, during_plan

    conv = await app.store.run(lambda s: s.get(Convening, 1))
    clock.now = convenings.lead_due(conv.starts_at, conv.tz, "7d")
    await app.scheduler.tick()  # the week-before reminders go first, unmeasured
    out.seek(0)
    out.truncate()
    clock.now = convenings.lead_due(conv.starts_at, conv.tz, "1d")
    during_send: list[float] = []
    stop = asyncio.Event()
    task = asyncio.create_task(probe(app, stop, during_send))
    t0 = time.perf_counter()
    report = await app.scheduler.tick()
    result["send_s"] = time.perf_counter() - t0
    stop.set()
    await task
    result["sent"], result["during_send"] = report.sent, during_send
    dms = Counter(line.split("]")[0] for line in out.getvalue().splitlines() if line.startswith("[DM to m"))
    result["dm_members"], result["dupes"] = len(dms), sum(n - 1 for n in dms.values())
    app.close()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    print(
        f"convening reminders: {args.members:,} members going, leads 7d/1d/1h; command latency in ms (p50/p99)"
    )
    print(
        f"{'backend':<11} {'planned':>8} {'plan s':>7} {'sent':>6} {'send s':>7} {'DM/s':>6} {'dupes':>5} "
        f"{'idle':>13} {'while planning':>15} {'while sending':>14}"
    )
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            drop = None
            url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}" if backend == "sqlite" else None
            if url is None:
                url, drop = postgres_database(args.postgres)
            try:
                r = asyncio.run(run(url, Path(tmp) / backend, args.members))
            finally:
                if drop:
                    drop()

            def lat(key: str, r: dict = r) -> str:  # type: ignore[type-arg]
                values = r[key]  # type: ignore[index]
                return f"{pct(values, 50):5.1f}/{pct(values, 99):6.1f}" if values else "  -"  # type: ignore[arg-type]

            print(
                f"{backend:<11} {r['planned']:>8,} {r['plan_s']:>7.2f} {r['sent']:>6,} {r['send_s']:>7.2f} "
                f"{r['sent'] / r['send_s']:>6.0f} {r['dupes']:>5} {lat('idle'):>13} {lat('during_plan'):>15} "
                f"{lat('during_send'):>14}"
            )
            checks = (
                r["sent"] == args.members
                and r["dm_members"] == args.members
                and r["dupes"] == 0
                and r["rows"] == args.members * 3
            )
            idle99 = pct(r["idle"], 99)  # type: ignore[arg-type]
            ratios = {k: pct(r[k], 99) / idle99 for k in ("during_plan", "during_send")}  # type: ignore[arg-type]
            print(
                f"{'':<11} p99 / idle p99: while planning {ratios['during_plan']:.1f}x, while sending "
                f"{ratios['during_send']:.1f}x (target <= 2x); {r['rows']:,} reminders planned, "
                f"{len(r['during_plan'])} commands answered while planning"  # type: ignore[arg-type]
            )
            ok = ok and all(x <= 2 for x in ratios.values())
            print(
                f"{'':<11} {len(r['during_send'])} commands answered while sending; "  # type: ignore[arg-type]
                f"mean {statistics.mean(r['during_send']) * 1000:.1f} ms; "  # type: ignore[arg-type]
                f"each member got one DM: {'yes' if checks else 'NO'}"
            )
            ok = ok and checks
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
