"""Which resources the next digest presents.

The digest walks the catalog in rounds. Within a round no resource is shown twice, and a new round
starts only when every active resource has been shown. The order of a round is a round-robin over the
learning areas (one resource from each area's list in turn, each list in catalog order), so consecutive
digests move across areas instead of exhausting one. Resources a coordinator added in chat that no digest
has shown yet go to the front of the queue.

A digest's picks are recorded under its key before it is posted, so a retried post presents the same
resources and a digest counts as shown once, whatever happens to the post.
"""

from __future__ import annotations

from datetime import datetime
from itertools import zip_longest

from sqlalchemy import func
from sqlmodel import Session, col, select

from content.resources.catalog import AREAS
from content.resources.models import DigestSettings, DigestShown, Origin, Resource, ResourceArea, Status


def settings_row(session: Session, *, lock: bool = False) -> DigestSettings | None:
    """The digest's settings; with `lock`, held until the transaction ends (PostgreSQL), so the copies of
    one digest posted to several workspaces at once pick its resources one after the other, the later
    reading what the first recorded (SQLite writes one transaction at a time anyway)."""
    stmt = select(DigestSettings).order_by(col(DigestSettings.id)).limit(1)
    return session.exec(stmt.with_for_update() if lock else stmt).first()


def queue(session: Session, shown_ever: set[int]) -> list[int]:
    """Every active resource, in the order digests present them."""
    rows: list[tuple[int, str, datetime, str]] = session.exec(  # type: ignore[assignment]
        select(col(Resource.id), col(Resource.origin), col(Resource.created_at), col(ResourceArea.area))
        .join(ResourceArea, col(ResourceArea.resource_id) == col(Resource.id))
        .where(col(Resource.status) == Status.ACTIVE.value, col(ResourceArea.position) == 0)
    ).all()
    front = sorted(
        (
            (created, rid)
            for rid, origin, created, _ in rows
            if origin == Origin.CHAT.value and rid not in shown_ever
        )
    )
    ahead = {rid for _, rid in front}
    by_area: dict[str, list[int]] = {}
    for rid, _, _, area in rows:
        if rid not in ahead:
            by_area.setdefault(area, []).append(rid)
    order = sorted(by_area, key=lambda a: (list(AREAS).index(a) if a in AREAS else len(AREAS), a))
    lists = [sorted(by_area[a]) for a in order]
    interleaved = [rid for group in zip_longest(*lists) for rid in group if rid is not None]
    return [rid for _, rid in front] + interleaved


def pick(session: Session, key: str, count: int, now: datetime) -> list[int]:
    """The resource ids digest `key` presents: recorded on the first call, the same ones after."""
    done = session.exec(
        select(col(DigestShown.resource_id))
        .where(col(DigestShown.digest_key) == key)
        .order_by(col(DigestShown.position))
    ).all()
    if done:
        return list(done)
    current = session.exec(select(func.max(col(DigestShown.round)))).one() or 1
    shown_ever = set(session.exec(select(col(DigestShown.resource_id))).all())
    this_round = set(
        session.exec(select(col(DigestShown.resource_id)).where(col(DigestShown.round) == current)).all()
    )
    order = queue(session, shown_ever)
    picks = [(rid, current) for rid in order if rid not in this_round][:count]
    if len(picks) < count:
        # The round is complete: start the next one, without repeating a resource within this digest.
        taken = {rid for rid, _ in picks}
        fresh = [rid for rid in queue(session, shown_ever | taken) if rid not in taken]
        picks += [(rid, current + 1) for rid in fresh[: count - len(picks)]]
    for position, (rid, round_no) in enumerate(picks):
        session.add(
            DigestShown(resource_id=rid, round=round_no, digest_key=key, position=position, shown_at=now)
        )
    session.flush()
    return [rid for rid, _ in picks]


def progress(session: Session) -> tuple[int, int, int]:
    """(current round, resources shown in it, active resources)."""
    current = session.exec(select(func.max(col(DigestShown.round)))).one() or 1
    shown = session.exec(
        select(func.count()).select_from(DigestShown).where(col(DigestShown.round) == current)
    ).one()
    active = session.exec(
        select(func.count()).select_from(Resource).where(col(Resource.status) == Status.ACTIVE.value)
    ).one()
    return int(current), int(shown), int(active)


def note(summary: str, limit: int = 180) -> str:
    """A short note from a summary: its first sentence, clipped."""
    first = summary.split(". ")[0].strip()
    first = first if first.endswith(".") else first + "."
    return first if len(first) <= limit else first[: limit - 1].rsplit(" ", 1)[0] + "…"
