"""Practice search at scale: the whole dispatcher path beside the raw full-text query, same run.

Loads N synthetic practices (default 100,000) into a fresh SQLite file and a fresh PostgreSQL database,
then runs the same queries two ways and prints p50/p99 latency for each:
  raw        fulltext.search() on a session (the database's full-text query alone)
  dispatch   "practice search ..." text in, Reply out through the dispatcher (parse, role check,
             query, labels, endorsement counts, rendering), as an adapter calls it
Targets (issue 2): dispatch within 2x of raw, and p99 under 50 ms on SQLite at 100,000 practices.

Run: ./dev bench practice_search [--size 100000] [--rounds 300] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import postgres_database  # noqa: E402
from bot.app import build_app  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.messages import Incoming, Member, Place  # noqa: E402
from bot.store import fulltext  # noqa: E402
from bot.store.db import make_engine, upgrade  # noqa: E402
from content.practices.models import Practice, PracticeLabel  # noqa: E402
from content.practices.service import PRACTICE_INDEX, Filters  # noqa: E402

DOMAIN = """budget partnership county housing transit equity residents hearing council mayor manager
chief staff agency permit zoning library police fire water sewer parks recreation workforce hiring
retention onboarding transition dashboard performance data analytics outcome accountability results
collaboration nonprofit philanthropy university private sector procurement contract grant federal state
regional tribal climate resilience flood heat energy broadband digital service customer survey feedback
engagement facilitation meeting forum network cohort mentoring coaching leadership adaptive systems
strategy plan pilot evaluation evidence homelessness shelter health clinic vaccination school youth
senior aging transportation road bridge snow waste recycling compost tree canopy street lighting safety
violence prevention court jail reentry employment training apprenticeship small business downtown
tourism festival arts culture immigrant language access translation equity inclusion trust transparency
""".split()
LEVELS = ["local", "county", "regional", "state", "tribal", "federal", "international"]
TAGS = [
    "budgeting",
    "equity",
    "transit",
    "housing",
    "hiring",
    "data",
    "climate",
    "engagement",
    "youth",
    "safety",
]
FRAMEWORKS = [
    "systems-thinking",
    "adaptive-leadership",
    "results-based-accountability",
    "facilitative-leadership",
    "leadership-transitions",
    "cross-sector-collaboration",
]


def make_rows(n: int, seed: int = 7) -> tuple[list[dict], list[dict]]:
    """Synthetic practices with document frequencies like a real library of practices.

    Each text mixes topic words (the domain list, Zipf-weighted: the most common is in roughly a
    quarter of practices, the rarest in well under 1%) with a long tail of made-up words. The figures
    printed below include how many practices each query matched, so the load is visible.
    """
    rng = random.Random(seed)
    syllables = ["ka", "lo", "mi", "ren", "tas", "vo", "dun", "pel", "sor", "bri", "tek", "nal"]
    tail = sorted({"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(8000)})
    domain = DOMAIN[:]
    rng.shuffle(domain)
    domain_cw = list(itertools.accumulate(1 / (i + 1) for i in range(len(domain))))
    tail_cw = list(itertools.accumulate(1 / (i + 1) ** 0.8 for i in range(len(tail))))

    def words(k: int) -> str:
        n_domain = sum(rng.random() < 0.3 for _ in range(k))
        out = rng.choices(domain, cum_weights=domain_cw, k=n_domain)
        out += rng.choices(tail, cum_weights=tail_cw, k=k - n_domain)
        rng.shuffle(out)
        return " ".join(out)

    now = datetime(2026, 1, 1, tzinfo=UTC)
    practices, labels = [], []
    for i in range(1, n + 1):
        tags = rng.sample(TAGS, 2)
        frameworks = rng.sample(FRAMEWORKS, 1)
        practices.append(
            dict(
                id=i,
                title=words(6).capitalize(),
                what=words(45) + ".",
                level=rng.choice(LEVELS),
                links="",
                attribution="anonymous",
                author_name="",
                author_role="",
                source_platform="bench",
                source_link="",
                source_note="",
                status="active",
                search_extra=" ".join(t for t in tags + frameworks).replace("-", " "),
                created_at=now,
                updated_at=now,
            )
        )
        labels += [dict(practice_id=i, kind="tag", value=t) for t in tags]
        labels += [dict(practice_id=i, kind="framework", value=f) for f in frameworks]
    return practices, labels


QUERIES = [
    "budget",
    "partnership",
    "transit equity",
    '"small business"',
    "hiring retention",
    "zoning",
    "broadband",
    "homelessness shelter",
    "climate resilience",
    "volunteers",
    "dashboard",
    "reentry employment",
    "procurement contract",
    "librar*",
    "canopy",
    "translation",
    "apprenticeship",
    "festival",
    "council -mayor",
    "flood OR heat",
    "onboarding",
    "evaluation evidence",
    "compost",
    "youth mentoring",
]
FILTERED = ["budget --tag equity", "housing --level county", "data --framework systems-thinking"]


def load(url: str, n: int) -> float:
    engine = make_engine(url)
    upgrade(engine)
    practices, labels = make_rows(n)
    started = time.perf_counter()
    with engine.begin() as conn:
        for i in range(0, len(practices), 5000):
            conn.execute(insert(Practice.__table__), practices[i : i + 5000])  # type: ignore[attr-defined]
        for i in range(0, len(labels), 20000):
            conn.execute(insert(PracticeLabel.__table__), labels[i : i + 20000])  # type: ignore[attr-defined]
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval('practice_id_seq', :n)"), {"n": n})
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
        if engine.dialect.name == "sqlite":
            conn.execute(text("INSERT INTO practice_fts(practice_fts) VALUES ('optimize')"))
    engine.dispose()
    return time.perf_counter() - started


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


async def measure(url: str, data_dir: Path, rounds: int) -> dict[str, list[float]]:
    settings = load_settings(_env_file=None, database_url=url, data_dir=data_dir)
    app = build_app(settings)
    member = Member("bench", "reader", "Reader")
    place = Place("bench", "general")
    queries = QUERIES + FILTERED
    raw: list[float] = []
    dispatched: list[float] = []
    parsed = {q: fulltext.parse_query(q.split(" --")[0]) for q in queries}
    filters = {
        q: Filters(tags=["equity"])
        if "--tag" in q
        else Filters(level="county")
        if "--level" in q
        else Filters(frameworks=["systems-thinking"])
        if "--framework" in q
        else Filters()
        for q in queries
    }
    # Warm caches once, like a running bot.
    for q in queries:
        await app.dispatch(Incoming(member=member, place=place, text=f"practice search {q}"))
    for r in range(rounds):
        q = queries[r % len(queries)]
        where, params = filters[q].sql()
        t0 = time.perf_counter()
        app.store.run_sync(
            lambda s, q=q, where=where, params=params: fulltext.search(
                s, PRACTICE_INDEX, parsed[q], id_sets=where, params=params, limit=6
            )
        )
        raw.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        replies = await app.dispatch(Incoming(member=member, place=place, text=f"practice search {q}"))
        dispatched.append(time.perf_counter() - t0)
        assert replies and not replies[0].is_error, replies[0].text
    counts = {}
    for q in QUERIES:
        counts[q] = app.store.run_sync(lambda s, q=q: fulltext.count(s, PRACTICE_INDEX, parsed[q]))
    app.close()
    return {"raw": raw, "dispatch": dispatched, "counts": counts}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    print(f"practice search benchmark: {args.size:,} practices, {args.rounds} queries per path")
    print(
        f"{'backend':<11} {'load s':>7} {'raw p50':>8} {'raw p99':>8} {'disp p50':>9} {'disp p99':>9} "
        f"{'p50 ratio':>9} {'p99 ratio':>9}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            drop = None
            if backend == "sqlite":
                url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
            else:
                url, drop = postgres_database(args.postgres)
            try:
                load_s = load(url, args.size)
                result = asyncio.run(measure(url, Path(tmp) / backend, args.rounds))
            finally:
                if drop:
                    drop()
            r50, r99 = pct(result["raw"], 50), pct(result["raw"], 99)
            d50, d99 = pct(result["dispatch"], 50), pct(result["dispatch"], 99)
            print(
                f"{backend:<11} {load_s:>7.1f} {r50:>6.2f}ms {r99:>6.2f}ms {d50:>7.2f}ms {d99:>7.2f}ms "
                f"{d50 / r50:>8.2f}x {d99 / r99:>8.2f}x"
            )
            print(
                f"{'':<11} raw mean {statistics.mean(result['raw']) * 1000:.2f}ms, "
                f"dispatch mean {statistics.mean(result['dispatch']) * 1000:.2f}ms"
            )
            counts = result["counts"]
            print(f"{'':<11} matches per query: " + ", ".join(f"{q} {n:,}" for q, n in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
