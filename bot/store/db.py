"""The engine (always passed in, never a module global), migrations, and a transaction runner.

SQLite gets WAL and foreign keys on every connection; PostgreSQL comes through DATABASE_URL. Features call
`await store.run(fn)`: `fn(session)` runs in a worker thread inside one transaction, committed when it
returns and rolled back when it raises, so a failed command leaves nothing half written.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar, cast

from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from sqlalchemy import CursorResult, Engine, create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

log = logging.getLogger(__name__)
T = TypeVar("T")
MIGRATIONS = Path(__file__).with_name("migrations")
_MIGRATION_LOCK = 7_151_001  # pg_advisory_lock key: one process migrates at a time


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine for `url`, with SQLite tuned (WAL, foreign keys, busy timeout)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    # psycopg prepares a statement once it ran a few times, and PostgreSQL may then plan it once for any
    # parameters: a full-text query planned without knowing its words scans the whole table (20-50 ms at
    # 10,000 practices instead of 1-2 ms). Each execution is planned for its own parameters instead.
    connect_args = {}
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() == "psycopg":
        connect_args["options"] = "-c plan_cache_mode=force_custom_plan"
    return create_engine(
        url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=5, connect_args=connect_args
    )


def alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations. On PostgreSQL an advisory lock makes concurrent starts take turns."""
    cfg = alembic_config(engine)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
            try:
                alembic_command.upgrade(cfg, revision)
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK})
                conn.commit()
    else:
        alembic_command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except Exception:  # table absent: nothing applied yet
            return None


class Store:
    """Runs database work in a small thread pool, one transaction per call."""

    def __init__(
        self,
        engine: Engine,
        workers: int = 4,
        *,
        owns_engine: bool = True,
        yield_to: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.engine = engine
        self.owns_engine = owns_engine
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="copbot-db")
        # A background store (see sibling) awaits `yield_to` before each transaction, and hands its threads
        # one transaction each, keeping the rest waiting here, where they can still yield, rather than
        # queued inside the pool, where they could not.
        self._background = (asyncio.Semaphore(workers), yield_to) if yield_to is not None else None

    def sibling(self, workers: int, yield_to: Callable[[], Awaitable[None]] | None = None) -> Store:
        """A store on the same engine with its own threads: background work queued there (the scheduler's
        deliveries) cannot make members wait for their command replies. With `yield_to` (bot/foreground.py)
        each of its transactions first lets the requests being answered go first."""
        return Store(self.engine, workers, owns_engine=False, yield_to=yield_to)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def run_sync(self, fn: Callable[[Session], T]) -> T:
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                result = fn(session)
                session.commit()
                return result
            except BaseException:
                session.rollback()
                raise

    async def run(self, fn: Callable[[Session], T]) -> T:
        loop = asyncio.get_running_loop()
        if self._background is None:
            return await loop.run_in_executor(self._pool, self.run_sync, fn)
        turns, yield_to = self._background
        async with turns:
            await yield_to()
            return await loop.run_in_executor(self._pool, self.run_sync, fn)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        if self.owns_engine:
            self.engine.dispose()


def contains_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, lower-cased, with LIKE's own characters escaped (escape="\\")."""
    escaped = text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def typed_id(text: str, parse: Callable[[str], int]) -> int | None:
    """The id a member is typing (`P12`, `12`) read by its kind's own parser, when it is one a database
    INTEGER can hold (autocomplete matches it besides titles); None for anything else."""
    try:
        number = parse(text) if text.strip() else None
    except ValueError:
        return None
    return number if number is not None and 0 < number <= 2**31 - 1 else None


def rowcount(result: Any) -> int:
    """How many rows an UPDATE or DELETE changed (SQLAlchemy types `execute` as a plain Result)."""
    return cast(CursorResult[Any], result).rowcount


def delete_rows(session: Session, column: Any, value: Any) -> int:
    """Delete, through the ORM, the rows of `column`'s table whose `column` equals `value`; how many.
    For `forget_member` hooks: `delete_rows(session, col(Rsvp.member_id), record.id)`."""
    rows = session.execute(select(column.class_).where(column == value)).scalars().all()
    for row in rows:
        session.delete(row)
    return len(rows)


def unlink(session: Session, column: Any, value: Any) -> int:
    """Set `column` to NULL on the rows where it equals `value` (a forgotten member's name leaves the
    things they created); how many."""
    rows = session.execute(select(column.class_).where(column == value)).scalars().all()
    for row in rows:
        setattr(row, column.key, None)
        session.add(row)
    return len(rows)
