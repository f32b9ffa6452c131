"""Suggestions while a member types (Discord autocomplete): tags, networks, convenings, resources.

Read-only and platform-neutral: each kind returns up to `limit` (label, value) pairs whose value is what
the command accepts for that parameter (a tag, a network's slug, a convening's number, a resource's id).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import func, or_, select
from sqlmodel import Session, col

from bot.messages import Member
from bot.store.db import Store
from content.practices.models import LabelKind, PracticeLabel
from content.resources.models import Resource
from content.resources.models import Status as ResourceStatus
from scheduling.convenings_models import Convening, ConveningStatus
from scheduling.networks_models import Network

KINDS = ("tag", "network", "convening", "resource")
LIMIT = 25


def _like(prefix: str) -> str:
    escaped = prefix.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def tags(session: Session, prefix: str, limit: int) -> list[tuple[str, str]]:
    """Practice tags containing `prefix`, the most used first."""
    uses = func.count(col(PracticeLabel.id))
    rows = session.execute(select(PracticeLabel.value, uses).where(
        PracticeLabel.kind == LabelKind.TAG.value, col(PracticeLabel.value).ilike(_like(prefix), escape="\\"))
        .group_by(col(PracticeLabel.value)).order_by(uses.desc(), col(PracticeLabel.value)).limit(limit)).all()
    return [(f"{value} ({n})", value) for value, n in rows]


def networks(session: Session, prefix: str, limit: int) -> list[tuple[str, str]]:
    """Live networks whose slug or name contains `prefix`."""
    like = _like(prefix)
    rows = session.execute(select(Network).where(
        col(Network.archived).is_(False),
        or_(col(Network.slug).ilike(like, escape="\\"), col(Network.name).ilike(like, escape="\\")))
        .order_by(col(Network.name)).limit(limit)).scalars()
    return [(f"{n.name} ({n.slug})", n.slug) for n in rows]


def convenings(session: Session, prefix: str, limit: int, now: datetime) -> list[tuple[str, str]]:
    """Scheduled convenings not yet over, by number or title, the soonest first."""
    query = select(Convening).where(Convening.status == ConveningStatus.SCHEDULED.value, Convening.ends_at > now)
    text = prefix.strip().lstrip("#")
    if text.isdigit():
        query = query.where(Convening.id == int(text))
    elif text:
        query = query.where(col(Convening.title).ilike(_like(text), escape="\\"))
    rows = session.execute(query.order_by(col(Convening.starts_at)).limit(limit)).scalars()
    return [(f"{c.id}: {c.title} ({c.starts_at:%Y-%m-%d %H:%M} UTC)", str(c.id)) for c in rows]


def resources(session: Session, prefix: str, limit: int) -> list[tuple[str, str]]:
    """Active resources whose title or slug contains `prefix`."""
    like = _like(prefix)
    rows = session.execute(select(Resource).where(
        Resource.status == ResourceStatus.ACTIVE.value,
        or_(col(Resource.title).ilike(like, escape="\\"), col(Resource.slug).ilike(like, escape="\\")))
        .order_by(col(Resource.title)).limit(limit)).scalars()
    return [(f"L{r.id} {r.title}", f"L{r.id}") for r in rows]


def suggest_in(session: Session, kind: str, prefix: str, member: Member, *, limit: int = LIMIT,
               now: datetime | None = None) -> list[tuple[str, str]]:
    """Suggestions of one kind for what `member` has typed so far; unknown kinds give none."""
    del member  # the same for everyone today; kept so suggestions can be personalised later
    readers: dict[str, Callable[[], list[tuple[str, str]]]] = {
        "tag": lambda: tags(session, prefix, limit),
        "network": lambda: networks(session, prefix, limit),
        "convening": lambda: convenings(session, prefix, limit, now or datetime.now(timezone.utc)),
        "resource": lambda: resources(session, prefix, limit),
    }
    reader = readers.get(kind)
    return reader() if reader else []


async def suggest(store: Store, kind: str, prefix: str, member: Member, *, limit: int = LIMIT,
                  now: datetime | None = None) -> list[tuple[str, str]]:
    return await store.run(lambda s: suggest_in(s, kind, prefix[:100], member, limit=limit, now=now))
