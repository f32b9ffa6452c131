"""Sending a journey step: the `journey.step` handler, and peers who went through the same transition.

Peers: a step with `introduce: true` introduces the newcomer to up to MAX_PEERS members who opted in
(`me transition peers on`) and started the same journey, for the same kind of role at the same level of
government, before the newcomer and within the last PEER_YEARS years; whose working hours (09:00-17:00 in
each one's zone) overlap the newcomer's by at least an hour, as in peer introductions; and to whom the
newcomer was never introduced before (`journey_intro` is unique per pair). Each peer is told once, outside
their quiet hours.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from bot.members.dm_prefs import dm_prefs, quiet_end
from bot.messages import mention
from bot.messenger import DeliveryError
from bot.store.models import MemberProfile, MemberRecord
from scheduling.engine import outbox
from scheduling.engine.runner import Delivery
from scheduling.introductions.service import MIN_OVERLAP, overlap
from scheduling.journeys import service
from scheduling.journeys.definitions import Journey, Step
from scheduling.journeys.models import Journey as JourneyRow
from scheduling.journeys.models import JourneyIntro, JourneyPeer, JourneyRun, RunState, StepState

MAX_PEERS = 2
PEER_YEARS = 3


def describe(session: Session, record: MemberRecord, default_zone: str) -> str:
    profile = session.get(MemberProfile, record.id)
    work = [x for x in ((profile.role_title, profile.organisation) if profile else ()) if x]
    zone = (profile.zone if profile else None) or default_zone
    return (
        mention(record.as_member())
        + (f" ({', '.join(work)})" if work else "")
        + f", works 09:00-17:00 {zone}"
    )


def find_peers(
    session: Session, run: JourneyRun, zone: str, now: datetime, default_zone: str, limit: int = MAX_PEERS
) -> list[MemberRecord]:
    """The peers to introduce to the newcomer on `run` (see the module docstring)."""
    since = run.starts_on - timedelta(days=365 * PEER_YEARS)
    met = select(col(JourneyIntro.peer_id)).where(col(JourneyIntro.newcomer_id) == run.member_id)
    rows = (
        session.execute(
            select(MemberRecord)
            .join(JourneyRun, col(JourneyRun.member_id) == col(MemberRecord.id))
            .join(JourneyPeer, col(JourneyPeer.member_id) == col(MemberRecord.id))
            .where(
                col(JourneyRun.journey_id) == run.journey_id,
                col(JourneyRun.role) == run.role,
                col(JourneyRun.level) == run.level,
                col(JourneyRun.member_id) != run.member_id,
                col(JourneyRun.starts_on) < run.starts_on,
                col(JourneyRun.starts_on) >= since,
                col(MemberRecord.id).not_in(met),
            )
            .order_by(col(JourneyRun.starts_on).desc(), col(MemberRecord.id))
        )
        .scalars()
        .all()
    )
    out: list[MemberRecord] = []
    for record in rows:
        if record in out:
            continue
        if overlap(zone, dm_prefs(session, record.id or 0, default_zone).zone, now) < MIN_OVERLAP:
            continue
        out.append(record)
        if len(out) == limit:
            break
    return out


def introduce(
    session: Session,
    run: JourneyRun,
    row: JourneyRow,
    step: Step,
    newcomer: MemberRecord,
    zone: str,
    now: datetime,
    default_zone: str,
) -> list[str]:
    """Introduce the newcomer to their peers; returns a line per peer for the newcomer's message."""
    lines = []
    for peer in find_peers(session, run, zone, now, default_zone):
        try:
            with session.begin_nested():
                session.add(
                    JourneyIntro(
                        run_id=run.id or 0,
                        newcomer_id=newcomer.id or 0,
                        peer_id=peer.id or 0,
                        step=step.id,
                        created_at=now,
                    )
                )
                session.flush()
        except IntegrityError:  # introduced at this moment by another process
            continue
        lines.append("- " + describe(session, peer, default_zone))
        rules = dm_prefs(session, peer.id or 0, default_zone)
        when = quiet_end(now, rules.quiet, rules.zone) or now
        text = (
            f"Peer introduction: {describe(session, newcomer, default_zone)} has just begun "
            f"'{row.title}' as {run.role.replace('-', ' ')} ({run.level} level), a move you made too. You "
            "offered to talk with newcomers; they have your name and may get in touch. "
            "To stop being asked: me transition peers off"
        )
        service.dm(session, f"journey:{run.id}:{step.id}:peer", when, peer, text)
    return lines


def compose(session: Session, run: JourneyRun, journey: Journey, step: Step, peers: list[str] | None) -> str:
    number = journey.steps.index(step) + 1
    parts = [f"{journey.title} · step {number} of {len(journey.steps)}: {step.title}", step.message]
    named = service.resources_named(session, step.resources)
    if named:
        parts.append("To read: " + "; ".join(f"{ref} {title}" for ref, title in named))
    if peers is not None:
        parts.append(
            "Members who made the same move and offered to talk:\n" + "\n".join(peers)
            if peers
            else "No member who made the same move has offered to talk yet."
        )
    if step.handover:
        parts.append(
            'Your handover: me transition handover --in-flight "..." --contacts "..." --successor @name '
            "(or --to-coordinators). See what you have so far: me transition handover. "
            "Before you go, me data downloads everything copbot stores about you."
        )
    if step.question:
        parts.append(
            f"A question to reflect on: {step.question}\nAnswer privately with: me transition answer "
            "<your answer> (add --share named, role or anonymous to share it as a practice)."
        )
    return "\n\n".join(parts)


async def on_step(d: Delivery) -> dict[str, Any]:
    p = d.post.payload
    tz = d.settings.timezone

    def apply(session: Session) -> dict[str, Any]:
        run = session.get(JourneyRun, p["run_id"])
        if run is None:
            raise DeliveryError("this journey run no longer exists", retryable=False)
        if run.state != RunState.ACTIVE.value:
            return {"not_sent": run.state}
        row = session.get(JourneyRow, run.journey_id)
        journey = service.definition(row) if row is not None else None
        step = journey.step(p["step"]) if journey is not None else None
        record = session.get(MemberRecord, run.member_id)
        if row is None or journey is None or step is None or record is None:
            return {"not_sent": "step no longer in the journey"}
        if p["step"] in service.logged(session, run.id or 0):
            return {"not_sent": "already"}
        rules = dm_prefs(session, run.member_id, tz)
        later = quiet_end(d.now, rules.quiet, rules.zone)
        if later is not None:  # their quiet hours changed since it was planned: it waits for their end
            outbox.plan(
                session,
                key=f"{service.step_key(run.id or 0, step.id)}at:{later:%Y%m%dT%H%M}",
                kind=service.KIND,
                due_at=later,
                expires_at=later + service.STEP_GRACE,
                payload=dict(p),
            )
            return {"deferred": later.isoformat()}
        state = StepState.SENT if rules.reminders else StepState.HELD
        if not service.log_step(session, run, step.id, state, d.now):
            return {"not_sent": "already"}
        if state is StepState.SENT:
            peers = (
                introduce(session, run, row, step, record, rules.zone, d.now, tz) if step.introduce else None
            )
            service.dm(
                session,
                f"journey:{run.id}:{step.id}:dm",
                d.now,
                record,
                compose(session, run, journey, step, peers),
                [("My journey", "me transition status"), ("Pause", "me transition pause")],
            )
        service.finish_if_done(session, run, journey, d.now)
        return {"step": step.id, "state": state.value}

    result = await d.store.run(apply)
    d.scheduler.wake()
    return result


POSTS = {service.KIND: on_step}
