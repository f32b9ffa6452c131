"""What journeys store about a member, for `me data` and `me forget`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from bot.store.models import MemberRecord
from scheduling.engine import outbox
from scheduling.journeys import service
from scheduling.journeys.models import (
    JourneyAnswer,
    JourneyHandover,
    JourneyIntro,
    JourneyPeer,
    JourneyRun,
    JourneyStepLog,
)


def export_member(session: Session, record: MemberRecord) -> dict[str, Any]:
    runs = service.runs_of(session, record.id or 0)
    out_runs, answers, handovers = [], [], []
    for run, row in runs:
        out_runs.append(
            {
                "journey": row.slug,
                "role": run.role,
                "level": run.level,
                "starts_on": run.starts_on.isoformat(),
                "state": run.state,
                "steps": {s: log.state for s, log in service.logged(session, run.id or 0).items()},
            }
        )
        for a in session.execute(select(JourneyAnswer).where(col(JourneyAnswer.run_id) == run.id)).scalars():
            answers.append(
                {
                    "journey": row.slug,
                    "step": a.step,
                    "answer": a.text,
                    "shared_as": f"P{a.practice_id}" if a.practice_id else None,
                }
            )
        note = (
            session.execute(select(JourneyHandover).where(col(JourneyHandover.run_id) == run.id))
            .scalars()
            .first()
        )
        if note is not None:
            handovers.append(
                {
                    "journey": row.slug,
                    "in_flight": note.in_flight,
                    "contacts": note.contacts,
                    "practices_to": note.practices_to,
                }
            )
    intros = (
        session.execute(
            select(JourneyIntro).where(
                (col(JourneyIntro.newcomer_id) == record.id) | (col(JourneyIntro.peer_id) == record.id)
            )
        )
        .scalars()
        .all()
    )
    return {
        "runs": out_runs,
        "answers": answers,
        "handover_notes": handovers,
        "offered_to_talk_with_newcomers": session.get(JourneyPeer, record.id) is not None,
        "introductions": [
            {"as": "newcomer" if i.newcomer_id == record.id else "peer", "at": i.created_at.isoformat()}
            for i in intros
        ],
    }


def forget_member(session: Session, record: MemberRecord, now: datetime) -> int:
    """Their runs (with their steps, answers, introductions and handover notes), their offer to talk and
    their place in others' introductions go; a practice shared from an answer stays, made anonymous by the
    practices' own hook; where they started another's run or were named a successor, the name goes."""
    changed = 0
    runs = session.execute(select(JourneyRun).where(col(JourneyRun.member_id) == record.id)).scalars().all()
    for run in runs:
        outbox.cancel(session, f"journey:{run.id}:")
        outbox.cancel(session, f"journey:handover:{run.id}:")
        for model in (JourneyStepLog, JourneyAnswer, JourneyIntro, JourneyHandover):
            for row in session.execute(select(model).where(model.run_id == run.id)).scalars():  # type: ignore[attr-defined]
                session.delete(row)
                changed += 1
        session.delete(run)
        changed += 1
    for row in session.execute(
        select(JourneyIntro).where(
            (col(JourneyIntro.peer_id) == record.id) | (col(JourneyIntro.newcomer_id) == record.id)
        )
    ).scalars():
        session.delete(row)
        changed += 1
    peer = session.get(JourneyPeer, record.id)
    if peer is not None:
        session.delete(peer)
        changed += 1
    for run in session.execute(select(JourneyRun).where(col(JourneyRun.started_by) == record.id)).scalars():
        run.started_by = None
        session.add(run)
        changed += 1
    for note in session.execute(
        select(JourneyHandover).where(col(JourneyHandover.successor_id) == record.id)
    ).scalars():
        note.successor_id = None
        session.add(note)
        changed += 1
    session.flush()
    return changed
