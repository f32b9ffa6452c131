"""The store: SQLite settings, transactions that leave nothing half written, migrations."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bot.app import App
from bot.store.db import current_revision
from bot.store.models import AuditEntry


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


async def test_migrations_are_applied_at_start(app: App) -> None:
    from alembic.script import ScriptDirectory

    from bot.store.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config(app.store.engine)).get_current_head()
    assert head and current_revision(app.store.engine) == head


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
