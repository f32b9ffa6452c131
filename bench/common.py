"""What the benchmarks share: a throw-away PostgreSQL database, a convening with thousands going."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.engine import make_url
from sqlmodel import col

from bot.messages import Incoming, Member, Place
from bot.store.db import make_engine
from bot.store.models import MemberRecord
from scheduling.convenings import service as convenings
from scheduling.convenings.models import Convening, Rsvp


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


async def convening_with_members_going(
    app: Any, admin: Member, place: Place, platform: str, user_ids: list[str], clock: Callable[[], datetime]
) -> Any:
    """A network and a convening 30 days ahead scheduled through the dispatcher, `user_ids` added as members
    of `platform` who all RSVP'd going (bulk inserts, so thousands take a moment), and the convening's
    reminders planned as `convening schedule` would; returns the convening."""
    start = (clock() + timedelta(days=30)).strftime("%Y-%m-%d 10:00")
    for line in (
        'network create "Bench Network"',
        f'convening schedule bench-network --title "Annual convening" --start "{start} UTC"',
    ):
        reply = (await app.dispatch(Incoming(member=admin, place=place, text=line)))[0]
        assert not reply.is_error, reply.text
    now = clock()

    def add_members(session: Any) -> None:
        rows = [
            {"platform": platform, "user_id": u, "display_name": f"Member {u}", "created_at": now}
            for u in user_ids
        ]
        session.execute(insert(MemberRecord.__table__), rows)  # type: ignore[attr-defined]
        ids = (
            session.execute(select(col(MemberRecord.id)).where(col(MemberRecord.user_id).in_(user_ids)))
            .scalars()
            .all()
        )
        rsvps = [
            {
                "convening_id": 1,
                "member_id": i,
                "answer": "going",
                "remind_on_maybe": False,
                "answered_at": now,
            }
            for i in ids
        ]
        session.execute(insert(Rsvp.__table__), rsvps)  # type: ignore[attr-defined]

    await app.store.run(add_members)
    tz = app.settings.timezone
    await app.store.run(lambda s: convenings.plan_reminders(s, s.get(Convening, 1), clock(), tz))
    return await app.store.run(lambda s: s.get(Convening, 1))
