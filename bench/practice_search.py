"""Practice search at scale: the whole dispatcher path beside the raw full-text query, same run.

Loads N synthetic practices into a SQLite file (cached between runs under /tmp/copbot-bench, keyed by
size, so a 1,000,000-practice store is seeded once) and a fresh PostgreSQL database, then runs the same
queries two ways, alternating, and prints p50/p99 latency for each, unfiltered and filtered apart:
  raw        fulltext.search() on a session (the database's full-text query alone)
  dispatch   "practice search ..." text in, Reply out through the dispatcher (parse, role check,
             query, labels, endorsement counts, rendering), as an adapter calls it
Targets (issue 14): dispatch p99 < 50 ms at 1M on SQLite and 100k on PostgreSQL, filtered or not;
p50 < 4 ms at 10k; dispatch within 2x of raw at every size.

Run: ./dev bench practice_search [--sizes 10000,100000,1000000] [--rounds 300]
     [--backends sqlite,postgresql] [--postgres-max 100000]
The default covers 10k, 100k and 1M on SQLite and 10k, 100k on PostgreSQL (--postgres-max).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import postgres_database  # noqa: E402
from bot.app import build_app  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.messages import Incoming, Member, Place  # noqa: E402
from bot.store import fulltext  # noqa: E402
from bot.store.db import make_engine, upgrade  # noqa: E402
from content.practices.models import Practice, PracticeLabel  # noqa: E402
from content.practices.service import PRACTICE_INDEX, Filters, filter_keys  # noqa: E402

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


def make_rows(n: int, seed: int = 7, first_id: int = 1) -> tuple[list[dict], list[dict]]:
    """Synthetic practices with document frequencies like a real library of practices.

    Each text mixes topic words (the domain list, Zipf-weighted: the most common is in roughly a
    quarter of practices, the rarest in well under 1%) with a long tail of made-up words. The figures
    printed below include how many practices each query matched, so the load is visible.
    """
    rng = random.Random(7)  # the same vocabulary for every chunk
    syllables = ["ka", "lo", "mi", "ren", "tas", "vo", "dun", "pel", "sor", "bri", "tek", "nal"]
    tail = sorted({"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(8000)})
    domain = DOMAIN[:]
    rng.shuffle(domain)
    domain_cw = list(itertools.accumulate(1 / (i + 1) for i in range(len(domain))))
    tail_cw = list(itertools.accumulate(1 / (i + 1) ** 0.8 for i in range(len(tail))))
    rng = random.Random(seed)

    def words(k: int) -> str:
        n_domain = sum(rng.random() < 0.3 for _ in range(k))
        out = rng.choices(domain, cum_weights=domain_cw, k=n_domain)
        out += rng.choices(tail, cum_weights=tail_cw, k=k - n_domain)
        rng.shuffle(out)
        return " ".join(out)

    now = datetime(2026, 1, 1, tzinfo=UTC)
    practices, labels = [], []
    for i in range(first_id, first_id + n):
        tags = rng.sample(TAGS, 2)
        frameworks = rng.sample(FRAMEWORKS, 1)
        title, what = words(6).capitalize(), words(45) + "."
        level = rng.choice(LEVELS)  # drawn after the words, as before: the cached stores stay the same
        practices.append(
            dict(
                id=i,
                title=title,
                what=what,
                level=level,
                links="",
                attribution="anonymous",
                author_name="",
                author_role="",
                source_platform="bench",
                source_link="",
                source_note="",
                status="active",
                search_extra=" ".join(t for t in tags + frameworks).replace("-", " "),
                filter_keys=filter_keys({"tag": tags, "framework": frameworks}, level, None),
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


CACHE = Path(tempfile.gettempdir()) / "copbot-bench"
CACHE_VERSION = 1  # bump when make_rows changes


def cached_sqlite(n: int) -> tuple[str, float]:
    """A SQLite store of `n` practices, seeded once and kept under /tmp keyed by size."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"practices-{n}-v{CACHE_VERSION}.sqlite3"
    url = f"sqlite:///{path}"
    if path.exists():
        upgrade(make_engine(url))
        return url, 0.0
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    seconds = load(f"sqlite:///{partial}", n)
    partial.rename(path)
    return url, seconds


def load(url: str, n: int) -> float:
    """Seed `n` practices in bulk (multi-row inserts in chunks, one transaction)."""
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    chunk = 50_000
    with engine.begin() as conn:
        for start in range(0, n, chunk):
            practices, labels = make_rows(min(chunk, n - start), seed=7 + start, first_id=start + 1)
            conn.execute(insert(Practice.__table__), practices)  # type: ignore[attr-defined]
            conn.execute(insert(PracticeLabel.__table__), labels)  # type: ignore[attr-defined]
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


async def measure(url: str, data_dir: Path, rounds: int) -> dict[str, Any]:
    settings = load_settings(_env_file=None, database_url=url, data_dir=data_dir)
    app = build_app(settings)
    member = Member("bench", "reader", "Reader")
    place = Place("bench", "general")
    queries = QUERIES + FILTERED
    raw: dict[bool, list[float]] = {False: [], True: []}
    dispatched: dict[bool, list[float]] = {False: [], True: []}
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
        raw["--" in q].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        replies = await app.dispatch(Incoming(member=member, place=place, text=f"practice search {q}"))
        dispatched["--" in q].append(time.perf_counter() - t0)
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
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres-max", type=int, default=100_000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    print(f"practice search benchmark: {args.rounds} queries per path, raw and dispatch alternated")
    print(
        "raw = fulltext.search() alone (the floor); dispatch = 'practice search ...' through the dispatcher"
    )
    print(
        f"{'backend':<11} {'size':>9} {'kind':<10} {'load s':>7} {'raw p50':>8} {'raw p99':>8} "
        f"{'disp p50':>9} {'disp p99':>9} {'p50 ratio':>9} {'p99 ratio':>9}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            for backend in args.backends.split(","):
                drop = None
                if backend == "sqlite":
                    url, load_s = cached_sqlite(size)
                elif size > args.postgres_max:
                    continue
                else:
                    url, drop = postgres_database(args.postgres)
                try:
                    if drop:
                        load_s = load(url, size)
                    result = asyncio.run(measure(url, Path(tmp) / f"{backend}-{size}", args.rounds))
                finally:
                    if drop:
                        drop()
                for filtered in (False, True):
                    raw, disp = result["raw"][filtered], result["dispatch"][filtered]
                    r50, r99 = pct(raw, 50), pct(raw, 99)
                    d50, d99 = pct(disp, 50), pct(disp, 99)
                    print(
                        f"{backend:<11} {size:>9,} {'filtered' if filtered else 'unfiltered':<10} "
                        f"{load_s:>7.1f} {r50:>6.2f}ms {r99:>6.2f}ms {d50:>7.2f}ms {d99:>7.2f}ms "
                        f"{d50 / r50:>8.2f}x {d99 / r99:>8.2f}x"
                    )
                counts = result["counts"]
                print(f"{'':<11} matches per query: " + ", ".join(f"{q} {n:,}" for q, n in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
