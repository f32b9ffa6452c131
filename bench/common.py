"""What the benchmarks share: a throw-away PostgreSQL database."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.store.db import make_engine


def postgres_database(base: str) -> tuple[str, Callable[[], None]]:
    """Create a fresh database on the server at `base`; return its URL and a function that drops it."""
    admin_url = make_url(base)
    name = f"copbot_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(admin_url.render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return admin_url.set(database=name).render_as_string(hide_password=False), drop
