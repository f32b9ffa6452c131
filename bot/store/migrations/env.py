"""Alembic environment: the engine is handed in by bot.store.db (no alembic.ini, no global URL)."""

from __future__ import annotations

from alembic import context

from bot.store.schema import metadata

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # pragma: no cover - only reached when someone runs the alembic CLI by hand
    raise SystemExit("Run migrations with `copbot db upgrade`; it passes the configured database.")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
