"""Convenings mirrored on platform calendars (Discord Guild Scheduled Events), through the outbox.

Every change to a convening (created, edited, moved, cancelled) plans one post with the key
`convening:<id>:mirror:<sequence>` and the kind `convening.mirror`. Its handler reads the convening as
it is now and, for each messenger that keeps a calendar (`bot.messenger.EventMirror`) and each of its
scopes (Discord: guilds), creates or updates the copy, then records it in `convening_mirror` (the
external id and the sequence the copy reflects).

Never doubled: a post for an older sequence does nothing (a newer post carries the change), a copy
already at the convening's sequence is left alone, and the scheduler runs one pass at a time, so two
posts for one convening never run side by side. A platform failure is retried by the outbox like any
post. Reminders are not mirrored: they stay direct messages. Nor are the convenings of a closed network
(joined by approval or invitation): a platform calendar shows them to everyone on the server.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from bot.messenger import EventMirror, MirrorEvent
from bot.networks.models import Network
from bot.networks.service import is_closed
from scheduling.convenings.models import Convening, ConveningMirror, ConveningStatus
from scheduling.engine import outbox
from scheduling.engine.runner import Delivery

MIRROR = "convening.mirror"


def plan_sync(session: Session, conv: Convening, now: datetime) -> None:
    """Plan bringing the platform copies of `conv` in step with its current sequence."""
    outbox.plan(
        session,
        key=f"convening:{conv.id}:mirror:{conv.sequence}",
        kind=MIRROR,
        due_at=now,
        expires_at=max(conv.ends_at, now + timedelta(hours=1)),
        payload={"convening_id": conv.id, "sequence": conv.sequence},
    )


def mirror_event(conv: Convening, network_name: str) -> MirrorEvent:
    """The platform copy of a convening: its title, agenda and network; its place or "Online"."""
    lines = [conv.agenda] if conv.agenda else []
    if network_name:
        lines.append(f"A convening of {network_name}.")
    return MirrorEvent(
        convening_id=conv.id or 0,
        title=conv.title,
        description="\n\n".join(lines),
        starts_at=conv.starts_at,
        ends_at=conv.ends_at,
        location=conv.place or "Online",
        cancelled=conv.status == ConveningStatus.CANCELLED.value,
    )


def _read(
    session: Session, convening_id: int
) -> tuple[Convening | None, Network | None, dict[tuple[str, str], ConveningMirror]]:
    conv = session.get(Convening, convening_id)
    if conv is None:
        return None, None, {}
    network = session.get(Network, conv.network_id)
    rows = list(
        session.execute(
            select(ConveningMirror).where(col(ConveningMirror.convening_id) == convening_id)
        ).scalars()
    )
    return conv, network, {(r.platform, r.scope_id): r for r in rows}


def _save(
    session: Session,
    convening_id: int,
    platform: str,
    scope_id: str,
    external_id: str,
    sequence: int,
    now: datetime,
) -> None:
    row = (
        session.execute(
            select(ConveningMirror).where(
                col(ConveningMirror.convening_id) == convening_id,
                col(ConveningMirror.platform) == platform,
                col(ConveningMirror.scope_id) == scope_id,
            )
        )
        .scalars()
        .first()
    )
    if row is None:
        row = ConveningMirror(
            convening_id=convening_id, platform=platform, scope_id=scope_id, external_id=external_id
        )
    row.external_id, row.synced_sequence, row.updated_at = external_id, sequence, now
    session.add(row)


async def on_mirror(d: Delivery) -> dict[str, Any]:
    mirrors = [m for m in d.messengers.values() if isinstance(m, EventMirror)]
    if not mirrors:
        return {"mirrored": 0}
    conv_id = int(d.post.payload["convening_id"])
    conv, network, rows = await d.store.run(lambda s: _read(s, conv_id))
    if conv is None:
        return {"gone": True}
    if network is not None and is_closed(network):
        return {"not_mirrored": "a closed network's convenings are for its members only"}
    if int(d.post.payload.get("sequence", conv.sequence)) < conv.sequence:
        return {"superseded": True}
    event = mirror_event(conv, network.name if network else "")
    done = 0
    for mirror in mirrors:
        for scope in mirror.mirror_scopes():
            row = rows.get((mirror.platform, scope))
            if row is not None and (row.synced_sequence >= conv.sequence or not row.external_id):
                continue  # in step already, or its copy is gone (removed on the platform): left alone
            if row is None and (event.cancelled or conv.starts_at <= d.now):
                continue  # nothing to show: never create a copy of a cancelled or past convening
            external = await mirror.mirror_convening(scope, event, row.external_id if row else None)
            await d.store.run(
                lambda s, p=mirror.platform, sc=scope, x=external or "": _save(
                    s, conv_id, p, sc, x, conv.sequence, d.now
                )
            )
            done += 1
    return {"mirrored": done}


POSTS = {MIRROR: on_mirror}
