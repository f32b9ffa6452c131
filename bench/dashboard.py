"""The coordinators' dashboard for 500 members and a year of activity: how long the page takes.

For each backend: a fresh database seeded with tests/community_year.py (500 members sharing, endorsing,
replying in twelve forums, answering and attending twelve convenings, reminders in every state, a digest
with ratings), `copbot serve`'s HTTP server on a free port, a coordinator signed in through `me web`.
It reports, over the same rounds, p50 and p99 of
  healthz     GET /healthz: the HTTP round trip and one trivial query (the floor of any page)
  figures     the six figures' queries and their bucketing, called directly (the floor of the data)
  dashboard   GET /dashboard: the `stats` command through the dispatcher, six SVG charts with their
              tables rendered to HTML, over HTTP
Target (issue 17): the dashboard renders in under 300 ms (p99); exit status 1 when missed. The figures
are only as quiet as the machine.

Run: ./dev bench dashboard [--members 500] [--rounds 40] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.runtime import start_platforms  # noqa: E402
from bench.common import postgres_database  # noqa: E402
from bot.app import build_app  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.messages import Incoming, Member, Place  # noqa: E402
from content.stats import service  # noqa: E402
from tests.community_year import seed_year  # noqa: E402

ADMIN = Member("console", "root", "Root")
NOW = datetime(2026, 12, 20, 12, tzinfo=UTC)
TARGET_MS = 300.0


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


async def run(url: str, data: Path, members: int, rounds: int) -> dict[str, tuple[float, float]]:
    settings = load_settings(_env_file=None, database_url=url, data_dir=data, admins="console:root", port=0)
    app = build_app(settings, clock=lambda: NOW)
    await app.store.run(lambda s: seed_year(s, members=members, end=datetime(2026, 12, 15, 12, tzinfo=UTC)))
    running = await start_platforms(app, http=True)
    base = f"http://127.0.0.1:{running.port}"
    try:
        reply = (await app.dispatch(Incoming(ADMIN, Place("console", "bench"), text="me web")))[0]
        link = re.search(r"(http://\S+/signin/\S+)", reply.text)
        assert link, reply.text
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.post(link.group(1), allow_redirects=False) as r:
                assert r.status == 303
            first, last = datetime(2026, 1, 1).date(), datetime(2026, 12, 1).date()
            samples: dict[str, list[float]] = {"healthz": [], "figures": [], "dashboard": []}
            for n in range(rounds + 3):  # the first three warm up and are not counted
                t0 = time.perf_counter()
                async with http.get(base + "/healthz") as r:
                    await r.read()
                t1 = time.perf_counter()
                charts = await app.store.run(
                    lambda s: service.figures(s, first, last, settings.timezone, NOW)
                )
                t2 = time.perf_counter()
                async with http.get(base + "/dashboard?from=2026-01&to=2026-12") as r:
                    page = await r.text()
                    assert r.status == 200 and page.count('role="img"') == len(charts) == 6
                t3 = time.perf_counter()
                if n >= 3:
                    samples["healthz"].append(t1 - t0)
                    samples["figures"].append(t2 - t1)
                    samples["dashboard"].append(t3 - t2)
        return {k: (pct(v, 50), pct(v, 99)) for k, v in samples.items()}
    finally:
        await running.stop()
        app.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    missed = False
    print(f"dashboard: {args.members} members, a year of activity, {args.rounds} rounds; ms (p50 / p99)")
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            drop = None
            if backend == "postgresql":
                url, drop = postgres_database(args.postgres)
            else:
                url = f"sqlite:///{tmp}/bench.sqlite3"
            try:
                found = asyncio.run(run(url, Path(tmp), args.members, args.rounds))
            finally:
                if drop is not None:
                    drop()
        line = "  ".join(f"{k} {p50:6.1f} / {p99:6.1f}" for k, (p50, p99) in found.items())
        ok = found["dashboard"][1] < TARGET_MS
        missed |= not ok
        print(f"{backend:10s}  {line}  -> dashboard p99 {'<' if ok else '>='} {TARGET_MS:.0f} ms")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
