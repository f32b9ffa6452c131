"""A leaving member's handover: a note (what is in flight, who to call), their practices passed for
review to a named successor (told once, with the note) or to the coordinators (told once), and a reminder
that `me data` exists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from bot.context import ensure_member
from bot.errors import ArgumentError, CommandError
from bot.messages import Member, mention
from bot.permissions import Role
from bot.store.models import MemberRecord, RoleGrant
from bot.words import counted
from content.practices import service as practices
from content.practices.models import Practice
from scheduling.journeys import service
from scheduling.journeys.models import Journey as JourneyRow
from scheduling.journeys.models import JourneyHandover, JourneyRun, RunState

ME_DATA = "Before you go, me data downloads everything copbot stores about you."


def leaving_run(session: Session, member: Member) -> tuple[JourneyRun, JourneyRow]:
    """The member's latest run (not stopped) of a journey with a handover step."""
    record = service.record_of(session, member)
    rows = session.execute(
        select(JourneyRun, JourneyRow)
        .join(JourneyRow, col(JourneyRow.id) == col(JourneyRun.journey_id))
        .where(
            col(JourneyRun.member_id) == (record.id if record else -1),
            col(JourneyRun.state) != RunState.STOPPED.value,
        )
        .order_by(col(JourneyRun.id).desc())
    ).all()
    for run, row in rows:
        if any(s.handover for s in service.definition(row).steps):
            return run, row
    raise CommandError(
        "A handover belongs to the Leaving office journey. Start it with: me transition start "
        "leaving-office --role chief-of-staff --level city"
    )


def note_of(session: Session, run: JourneyRun) -> JourneyHandover | None:
    return (
        session.execute(select(JourneyHandover).where(col(JourneyHandover.run_id) == run.id))
        .scalars()
        .first()
    )


def owned(session: Session, member_id: int) -> list[Practice]:
    return list(
        session.execute(
            select(Practice).where(col(Practice.author_id) == member_id).order_by(col(Practice.id))
        ).scalars()
    )


def coordinators(session: Session) -> list[tuple[str, str]]:
    """(platform, user id) of the community's coordinators and admins."""
    grants = (
        session.execute(
            select(RoleGrant).where(
                col(RoleGrant.role) >= int(Role.COORDINATOR), col(RoleGrant.scope) == "community"
            )
        )
        .scalars()
        .all()
    )
    return sorted({(g.platform, g.user_id) for g in grants})


@dataclass
class Handover:
    run: JourneyRun
    row: JourneyRow
    note: JourneyHandover | None
    practices: list[Practice]
    successor: MemberRecord | None = None
    told: str = ""


def show(session: Session, member: Member) -> Handover:
    run, row = leaving_run(session, member)
    note = note_of(session, run)
    successor = session.get(MemberRecord, note.successor_id) if note and note.successor_id else None
    return Handover(run, row, note, owned(session, run.member_id), successor)


def _refs(items: list[Practice]) -> str:
    return ", ".join(f"{practices.practice_ref(p.id or 0)} {p.title}" for p in items) or "none"


def record(
    session: Session,
    member: Member,
    in_flight: str | None,
    contacts: str | None,
    successor: Member | None,
    to_coordinators: bool,
    now: datetime,
) -> Handover:
    if successor is not None and to_coordinators:
        raise ArgumentError("Give --successor or --to-coordinators, not both.", "successor")
    if successor is not None and successor.key == member.key:
        raise ArgumentError(
            "--successor: name the person taking over from you, not yourself. Example: --successor @jordan",
            "successor",
        )
    run, row = leaving_run(session, member)
    me = ensure_member(session, member)
    note = note_of(session, run) or JourneyHandover(run_id=run.id or 0, created_at=now)
    if in_flight is not None:
        note.in_flight = in_flight
    if contacts is not None:
        note.contacts = contacts
    note.updated_at = now
    told = ""
    mine = owned(session, me.id or 0)
    if successor is not None:
        heir = ensure_member(session, successor)
        handed = practices.hand_over(session, me.id or 0, heir.id or 0, now)
        note.successor_id, note.practices_to = heir.id, "successor"
        text = (
            f"{mention(me.as_member())} is leaving their role and named you as their successor. "
            "They passed you their practices to look after (you may edit, retire or restore them; the credit "
            f"stays theirs): {_refs(handed)}."
        )
        if note.in_flight:
            text += f"\n\nWhat is in flight:\n{note.in_flight}"
        if note.contacts:
            text += f"\n\nWho to call:\n{note.contacts}"
        service.dm(
            session,
            f"journey:handover:{run.id}:successor",
            now,
            heir,
            text,
            [("My practices", "practice mine")],
        )
        told = f"{mention(heir.as_member())} is told once, with your note and {counted(len(handed), 'practice')}."
    elif to_coordinators:
        note.practices_to = "coordinators"
        text = (
            f"{mention(me.as_member())} is leaving their role and passed their practices to the "
            f"coordinators for review: {_refs(mine)}."
        )
        for platform, user_id in coordinators(session):
            if (platform, user_id) != (member.platform, member.user_id):
                service.dm(
                    session,
                    f"journey:handover:{run.id}:coordinators",
                    now,
                    MemberRecord(platform=platform, user_id=user_id),
                    text,
                )
        told = f"The coordinators are told once about your {counted(len(mine), 'practice')}."
    session.add(note)
    session.flush()
    return Handover(
        run,
        row,
        note,
        mine,
        session.get(MemberRecord, note.successor_id) if note.successor_id else None,
        told,
    )
