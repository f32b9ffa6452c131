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
        mode, fks = await store.run(
            lambda s: (
                s.execute(text("PRAGMA journal_mode")).scalar(),
                s.execute(text("PRAGMA foreign_keys")).scalar(),
            )
        )
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


async def test_a_database_at_the_previous_head_upgrades_and_keeps_its_rows(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The layout moved every table to its feature's folder; the tables did not change. A store created by
    the last release (migration 0010) upgrades in place and keeps what it holds."""
    from alembic import command
    from sqlalchemy import text

    from bot.app import build_app
    from bot.config import load_settings
    from bot.store.db import alembic_config, make_engine

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = make_engine(url)
    command.upgrade(alembic_config(engine), "0010")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO member (platform, user_id, display_name, created_at) "
                "VALUES ('console', 'ana', 'Ana', '2026-11-01 10:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO forum_settings (cadence, platform, channel_id, announce_days, prompt, "
                "join_info, holiday_country, facilitator_platform, facilitator_user_id, "
                "facilitator_name, updated_at) VALUES ('x', 'console', 'forum', 7, '', '', 'US', '', "
                "'', '', '2026-11-01 10:00:00')"
            )
        )
    engine.dispose()
    app = build_app(
        load_settings(
            _env_file=None,
            database_url=url,
            data_dir=tmp_path / "data",
            admins="console:root",
            timezone="America/New_York",
        )
    )
    try:
        rows = await app.store.run(
            lambda s: s.execute(
                text("SELECT m.display_name, f.channel_id FROM member m, forum_settings f")
            ).all()
        )
        assert [tuple(r) for r in rows] == [("Ana", "forum")]
        assert current_revision(app.store.engine) != "0010"
    finally:
        app.close()


def test_the_shared_postgresql_database_is_emptied_between_tests(
    postgres_url: str, postgres_cleaner: PostgresCleaner
) -> None:
    """The fixture every PostgreSQL test relies on: rows gone and ids from 1 again, even for a table whose
    only insert was rolled back (it still used the sequence)."""
    engine = make_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO member (platform, user_id, display_name, created_at) "
                    "VALUES ('console', 'ana', 'Ana', now())"
                )
            )
        with pytest.raises(RuntimeError), engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO audit_log (platform, user_id, action, actor_name, detail, at) "
                    "VALUES ('console', 'ana', 'x', 'Ana', '', now())"
                )
            )
            raise RuntimeError("rolled back")
        postgres_cleaner.empty()
        with engine.begin() as conn:
            assert conn.execute(text("SELECT count(*) FROM member")).scalar() == 0
            ids = [
                conn.execute(text(f"INSERT INTO {sql} RETURNING id")).scalar()
                for sql in (
                    "member (platform, user_id, display_name, created_at) VALUES ('console', 'bo', 'Bo', now())",
                    "audit_log (platform, user_id, action, actor_name, detail, at) "
                    "VALUES ('console', 'bo', 'x', 'Bo', '', now())",
                )
            ]
            assert ids == [1, 1]
        postgres_cleaner.empty()
    finally:
        engine.dispose()
