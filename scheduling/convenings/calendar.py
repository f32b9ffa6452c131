"""Calendar files for convenings: one .ics per convening, and subscribable feeds per network and per
member ("what I'm going to") behind an unguessable token.

A token is 32 random URL-safe characters (secrets.token_urlsafe(24)), one per owner; resetting it
makes the old address stop working. Serving `/calendar/<token>.ics` over HTTP is the web adapter's job:
it calls `feed_for_token`.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlmodel import Session, col

from bot.networks.models import Network
from scheduling.convenings.models import Answer, CalendarToken, Convening, ConveningStatus, Rsvp
from scheduling.time.calendar_files import CalendarEvent, event_ics, feed_ics, stable_uid

FEED_ANSWERS = (Answer.GOING.value, Answer.MAYBE.value, Answer.WAITLIST.value)


def uid_for(conv: Convening) -> str:
    return conv.uid or stable_uid("convening", conv.id or 0)


def event_for(conv: Convening, network_name: str = "") -> CalendarEvent:
    agenda = conv.agenda + (f"\n\nNetwork: {network_name}" if network_name else "")
    return CalendarEvent(
        uid=uid_for(conv),
        sequence=conv.sequence,
        title=conv.title,
        description=agenda.strip(),
        start=conv.starts_at,
        end=conv.ends_at,
        tz=conv.tz,
        location=conv.place,
        updated=conv.updated_at,
        status="CANCELLED" if conv.status == ConveningStatus.CANCELLED.value else "CONFIRMED",
    )


def ics_for(session: Session, conv: Convening) -> bytes:
    """The convening's own .ics (METHOD:CANCEL once it is cancelled)."""
    network = session.get(Network, conv.network_id)
    return event_ics(event_for(conv, network.name if network else ""))


def feed_for_network(session: Session, network_id: int) -> bytes:
    """Every convening of a network, cancelled ones marked so, as a subscribable calendar."""
    network = session.get(Network, network_id)
    if network is None:
        raise LookupError(f"no network {network_id}")
    convs = (
        session.execute(
            select(Convening)
            .where(col(Convening.network_id) == network_id)
            .order_by(col(Convening.starts_at))
        )
        .scalars()
        .all()
    )
    return feed_ics(f"{network.name} convenings", [event_for(c, network.name) for c in convs])


def feed_for_member(session: Session, member_id: int) -> bytes:
    """The convenings a member is going to, might go to or is waitlisted for."""
    rows = session.execute(
        select(Convening, Network)
        .join(Rsvp, col(Rsvp.convening_id) == col(Convening.id))
        .join(Network, col(Network.id) == col(Convening.network_id))
        .where(col(Rsvp.member_id) == member_id, col(Rsvp.answer).in_(FEED_ANSWERS))
        .order_by(col(Convening.starts_at))
    ).all()
    return feed_ics("My convenings (copbot)", [event_for(c, n.name) for c, n in rows])


def token_for(session: Session, owner_kind: str, owner_id: int, *, reset: bool = False) -> str:
    """The owner's feed token, made on first use; `reset` replaces it (the old address stops working)."""
    row = (
        session.execute(
            select(CalendarToken).where(
                col(CalendarToken.owner_kind) == owner_kind, col(CalendarToken.owner_id) == owner_id
            )
        )
        .scalars()
        .first()
    )
    if row is None:
        row = CalendarToken(owner_kind=owner_kind, owner_id=owner_id, token=secrets.token_urlsafe(24))
    elif reset:
        row.token = secrets.token_urlsafe(24)
    session.add(row)
    session.flush()
    return row.token


def feed_path(token: str) -> str:
    return f"/calendar/{token}.ics"


def feed_for_token(session: Session, token: str) -> bytes | None:
    """The feed a token opens, or None for an unknown (or reset) token."""
    row = session.execute(select(CalendarToken).where(col(CalendarToken.token) == token)).scalars().first()
    if row is None:
        return None
    if row.owner_kind == "network":
        return feed_for_network(session, row.owner_id)
    return feed_for_member(session, row.owner_id)


def forget_tokens(session: Session, owner_kind: str, owner_id: int) -> int:
    rows = (
        session.execute(
            select(CalendarToken).where(
                col(CalendarToken.owner_kind) == owner_kind, col(CalendarToken.owner_id) == owner_id
            )
        )
        .scalars()
        .all()
    )
    for row in rows:
        session.delete(row)
    return len(rows)
