"""What adapters tell the core besides commands: events already seen, chat-profile time zones, members a
DM could not reach, the workspace an installation serves, and messages in a thread. Platform-neutral:
adapters call these through `bot.app.App`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, UniqueConstraint, and_, delete, exists, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from bot.context import ensure_member
from bot.messages import Member
from bot.store.db import rowcount
from bot.store.models import (
    ButtonCommand,
    MemberProfile,
    MemberRecord,
    ProcessedEvent,
    UnreachableMember,
    is_member,
)

EVENT_MEMORY = timedelta(days=2)  # Slack retries for about an hour; two days is plenty to recognise a repeat


def claim_events(session: Session, keys: Iterable[tuple[str, str]], now: datetime) -> set[tuple[str, str]]:
    """Claim several (platform, event_id) at once in one statement; the ones seen for the first time.

    The primary key decides: a key another process inserted first, even at the same moment, is skipped by
    `ON CONFLICT DO NOTHING`, so it is not returned (and a key twice in `keys` is claimed once). The rows
    go in sorted by key: on PostgreSQL a row waits for another transaction's uncommitted row with the same
    key, so two processes claiming overlapping sets in different orders (a burst arriving in another
    order) could each wait for the other, a deadlock; in one order the second simply waits its turn."""
    rows = {(p, e[:100]): {"platform": p, "event_id": e[:100], "received_at": now} for p, e in keys}
    if not rows:
        return set()
    table = ProcessedEvent.__table__  # type: ignore[attr-defined]
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(table)
        .values([rows[key] for key in sorted(rows)])
        .on_conflict_do_nothing(index_elements=["platform", "event_id"])
        .returning(table.c.platform, table.c.event_id)
    )
    return {(str(p), str(e)) for p, e in session.execute(stmt)}


def forget_old_events(session: Session, now: datetime) -> int:
    """Drop claims no platform will retry any more (the scheduler's housekeeping calls this)."""
    return rowcount(
        session.execute(delete(ProcessedEvent).where(col(ProcessedEvent.received_at) < now - EVENT_MEMORY))
    )


def learn_timezone(session: Session, member: Member, zone: str) -> bool:
    """Remember the zone a member's chat profile gives; a zone they chose themselves always wins."""
    record = ensure_member(session, member)
    profile = session.get(MemberProfile, record.id)
    if profile is None:
        profile = MemberProfile(member_id=record.id or 0)
    if profile.platform_timezone == zone:
        return False
    profile.platform_timezone = zone
    session.add(profile)
    return True


def record_unreachable(session: Session, member: Member, reason: str, now: datetime) -> bool:
    """Note that a DM could not reach a member; True when this is the first time (tell them elsewhere once)."""
    row = (
        session.execute(select(UnreachableMember).where(is_member(UnreachableMember, member)))
        .scalars()
        .first()
    )
    if row is None:
        session.add(
            UnreachableMember(
                platform=member.platform,
                workspace=member.workspace,
                user_id=member.user_id,
                reason=reason[:200],
                first_at=now,
                last_at=now,
            )
        )
        return True
    row.failures += 1
    row.last_at, row.reason = now, reason[:200]
    session.add(row)
    return False


def clear_unreachable(session: Session, member: Member) -> None:
    session.execute(delete(UnreachableMember).where(is_member(UnreachableMember, member)))


def unreachable_rows(session: Session) -> list[dict[str, Any]]:
    same = (
        (col(MemberRecord.platform) == col(UnreachableMember.platform))
        & (col(MemberRecord.workspace) == col(UnreachableMember.workspace))
        & (col(MemberRecord.user_id) == col(UnreachableMember.user_id))
    )
    rows = session.execute(
        select(UnreachableMember, col(MemberRecord.display_name))
        .join(MemberRecord, same, isouter=True)
        .order_by(col(UnreachableMember.last_at).desc())
    ).all()  # type: ignore[attr-defined]
    return [
        {
            "platform": u.platform,
            "user_id": u.user_id,
            "workspace": u.workspace,
            "name": name or "",
            "reason": u.reason,
            "failures": u.failures,
            "last_at": u.last_at,
        }
        for u, name in rows
    ]


def adopt_workspace(session: Session, tables: Iterable[Table], platform: str, workspace: str) -> int:
    """Give `platform`'s rows that name no workspace ("", from before identities carried one) the workspace
    the installation serves. Every table with `<prefix>platform`, `<prefix>workspace` and `<prefix>user_id`
    columns takes part. A row whose identity already exists with the workspace stays as it is (a unique
    constraint forbids the pair); there is none unless a `platform:user_id` id was typed where the
    workspace was not yet known. Returns how many rows changed."""
    changed = 0
    for table in tables:
        for column in table.columns:
            if not column.name.endswith("workspace"):
                continue
            prefix = column.name.removesuffix("workspace")
            platform_col, user_col = table.c.get(prefix + "platform"), table.c.get(prefix + "user_id")
            if platform_col is None or user_col is None:
                continue
            where = [platform_col == platform, column == ""]
            for unique in (c for c in table.constraints if isinstance(c, UniqueConstraint)):
                names = [c.name for c in unique.columns]
                if column.name in names:
                    other = table.alias("taken")
                    same = [other.c[n] == (workspace if n == column.name else table.c[n]) for n in names]
                    where.append(~exists().where(and_(*same)))
            changed += rowcount(session.execute(update(table).where(*where).values({column.name: workspace})))
    return changed


def remember_button(session: Session, key: str, command: str, now: datetime) -> None:
    """Keep a long button command under its hash key (idempotent)."""
    if session.get(ButtonCommand, key) is None:
        session.add(ButtonCommand(key=key, command=command, created_at=now))


def button_command(session: Session, key: str) -> str | None:
    row = session.get(ButtonCommand, key)
    return row.command if row else None


def forget_member(session: Session, record: MemberRecord) -> int:
    """Drop the claimed events and stored button commands that carry the member's user id (a button that
    approves, declines or names them); returns how many went."""
    named = re.compile(rf"(?<!\w){re.escape(record.user_id)}(?!\w)")
    gone = 0
    for event in (
        session.execute(
            select(ProcessedEvent).where(
                col(ProcessedEvent.event_id).contains(record.user_id, autoescape=True)
            )
        )
        .scalars()
        .all()
    ):
        if named.search(event.event_id):
            session.delete(event)
            gone += 1
    for button in (
        session.execute(
            select(ButtonCommand).where(col(ButtonCommand.command).contains(record.user_id, autoescape=True))
        )
        .scalars()
        .all()
    ):
        if named.search(button.command):
            session.delete(button)
            gone += 1
    return gone
