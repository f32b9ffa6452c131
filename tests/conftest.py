"""Shared fixtures. Every test that takes `app` runs twice: on SQLite and on the local PostgreSQL.

PostgreSQL comes from COPBOT_TEST_POSTGRES_URL (./dev test sets it). When COPBOT_REQUIRE_POSTGRES=1
(./dev test and CI), an unreachable server fails the run instead of skipping, so the PostgreSQL path is
never silently skipped.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from pathlib import Path
from typing import AsyncIterator, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.app import App, build_app
from bot.config import Settings, load_settings
from bot.store.db import make_engine, upgrade
from bot.store.schema import metadata
from tests.harness import Harness

PG_URL = os.environ.get("COPBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REQUIRE_PG = os.environ.get("COPBOT_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test run, dropped at the end."""
    admin_url = make_url(PG_URL)
    name = f"copbot_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = make_engine(admin_url.render_as_string(hide_password=False))
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure means "no server"
        message = f"PostgreSQL not reachable at {admin_url.render_as_string()}: {exc.__class__.__name__}"
        if REQUIRE_PG:
            pytest.fail(message + " (COPBOT_REQUIRE_POSTGRES=1)")
        pytest.skip(message)
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_postgres(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(t.name for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite database migrated to the head (with the catalog loaded) per test run; each test gets a copy."""
    folder = tmp_path_factory.mktemp("template")
    path = folder / "template.sqlite3"
    settings = load_settings(_env_file=None, database_url=f"sqlite:///{path}", data_dir=folder / "data",
                             admins="console:root", timezone="America/New_York")
    build_app(settings).close()
    with sqlite3.connect(path) as conn:  # fold the write-ahead log into the file before it is copied
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "copbot.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url = request.getfixturevalue("postgres_url")
    _truncate_postgres(url)
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return load_settings(_env_file=None, database_url=database_url, data_dir=tmp_path / "data",
                         admins="console:root", timezone="America/New_York")


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    built = build_app(settings)
    yield built
    built.close()


@pytest.fixture
async def bot(app: App) -> Harness:
    return Harness(app)
