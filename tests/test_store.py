"""The store: SQLite settings, transactions that leave nothing half written, migrations."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text

from bot.app import App
from bot.store.db import current_revision, make_engine
from bot.store.models import AuditEntry

if TYPE_CHECKING:
    from tests.conftest import PostgresCleaner


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bot.store.db import Store, make_engine, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    upgrade(engine)
    store = Store(engine)
    try:
        mode, fks = await store.run(lambda s: (s.execute(text("PRAGMA journal_mode")).scalar(),
                                               s.execute(text("PRAGMA foreign_keys")).scalar()))
        assert (mode, fks) == ("wal", 1)
    finally:
        store.close()


async def test_migrations_are_applied_at_start(freshly_migrated_app: App) -> None:
    from alembic.script import ScriptDirectory

    from bot.store.db import alembic_config

    engine = freshly_migrated_app.store.engine
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    assert head and current_revision(engine) == head


async def test_a_failing_unit_of_work_writes_nothing(app: App) -> None:
    def half(session):  # type: ignore[no-untyped-def]
        session.add(AuditEntry(platform="console", user_id="x", action="a"))
        session.flush()
        raise RuntimeError("platform call failed")

    with pytest.raises(RuntimeError):
        await app.store.run(half)
    assert await app.store.run(lambda s: s.execute(text("SELECT count(*) FROM audit_log")).scalar()) == 0


async def test_deleting_a_member_keeps_their_practices_but_unlinks_them(app: App) -> None:
    from tests.harness import Harness

    bot = Harness(app)
    await bot.ok('practice share --title "T" --what "W" --attribution anonymous', "ana")
    await app.store.run(lambda s: s.execute(text("DELETE FROM member WHERE user_id = 'ana'")))
    author = await app.store.run(lambda s: s.execute(text("SELECT author_id FROM practice")).scalar())
    assert author is None


def test_the_shared_postgresql_database_is_emptied_between_tests(postgres_url: str,
                                                                  postgres_cleaner: PostgresCleaner) -> None:
    """The fixture every PostgreSQL test relies on: rows gone and ids from 1 again, even for a table whose
    only insert was rolled back (it still used the sequence)."""
    engine = make_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO member (platform, user_id, display_name, created_at) "
                              "VALUES ('console', 'ana', 'Ana', now())"))
        with pytest.raises(RuntimeError), engine.begin() as conn:
            conn.execute(text("INSERT INTO audit_log (platform, user_id, action, actor_name, detail, at) "
                              "VALUES ('console', 'ana', 'x', 'Ana', '', now())"))
            raise RuntimeError("rolled back")
        postgres_cleaner.empty()
        with engine.begin() as conn:
            assert conn.execute(text("SELECT count(*) FROM member")).scalar() == 0
            ids = [conn.execute(text(f"INSERT INTO {sql} RETURNING id")).scalar() for sql in (
                "member (platform, user_id, display_name, created_at) VALUES ('console', 'bo', 'Bo', now())",
                "audit_log (platform, user_id, action, actor_name, detail, at) "
                "VALUES ('console', 'bo', 'x', 'Bo', '', now())")]
            assert ids == [1, 1]
        postgres_cleaner.empty()
    finally:
        engine.dispose()
