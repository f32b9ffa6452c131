"""Answers to a step's question: private to the member, unless they share one as a practice (with the
credit they choose: named, by role only, or anonymous). Coordinators see how many answers there are, never
what they say, unless shared."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from bot.errors import ArgumentError, CommandError
from bot.messages import Member
from content.practices import service as practices
from content.practices.models import Attribution, Framework, LabelKind, Practice
from scheduling.journeys import service
from scheduling.journeys.definitions import Journey, Step
from scheduling.journeys.models import JourneyAnswer, JourneyRun, StepState

LEVEL_OF_GOVERNMENT = {"city": "local", "county": "county", "state": "state", "federal": "federal"}


def asked_step(session: Session, run: JourneyRun, journey: Journey, step_ref: str) -> Step:
    """The step being answered: the one named, else the latest that reached the member with a question."""
    if step_ref:
        step = service.find_step(journey, step_ref)
        if step.question is None:
            raise ArgumentError(f"--step: step {step.id!r} ({step.title}) asks no question.", "step")
        return step
    done = service.logged(session, run.id or 0)
    reached = [
        s
        for s in journey.steps
        if s.question and s.id in done and done[s.id].state in (StepState.SENT.value, StepState.HELD.value)
    ]
    if not reached:
        raise CommandError("No question has reached you on this journey yet; the steps that ask one say so.")
    return reached[-1]


def answer(
    session: Session, member: Member, text: str, step_ref: str, now: datetime
) -> tuple[JourneyAnswer, JourneyRun, Journey, Step]:
    run = service.latest_run(session, member)
    if run is None:
        raise CommandError("You are not on a journey. See them with: transition journeys")
    row = session.get(service.JourneyRow, run.journey_id)
    journey = service.definition(row)  # type: ignore[arg-type]
    step = asked_step(session, run, journey, step_ref)
    found = (
        session.execute(
            select(JourneyAnswer).where(
                col(JourneyAnswer.run_id) == run.id, col(JourneyAnswer.step) == step.id
            )
        )
        .scalars()
        .first()
    )
    if found is not None and found.practice_id is not None:
        raise CommandError(
            f"You already shared your answer to {step.title!r} as practice "
            f"{practices.practice_ref(found.practice_id)}; change it with: practice edit "
            f"{practices.practice_ref(found.practice_id)}"
        )
    if found is None:
        found = JourneyAnswer(run_id=run.id or 0, step=step.id, text=text, created_at=now)
    found.text, found.created_at = text, now
    session.add(found)
    session.flush()
    return found, run, journey, step


def share(
    session: Session,
    member: Member,
    found: JourneyAnswer,
    run: JourneyRun,
    journey: Journey,
    step: Step,
    attribution: Attribution,
    role_description: str,
    now: datetime,
) -> Practice:
    """Make an answer a practice, credited as the member chose; the answer remembers which practice."""
    if attribution is Attribution.ROLE and not role_description.strip():
        raise ArgumentError(
            "--role-description is needed for role-only credit, e.g. --role-description "
            '"a chief of staff in a mid-size city"',
            "role_description",
        )
    what = f"{found.text}\n\n(From the '{journey.title}' journey, answering: {step.question})"
    fields = {
        "title": practices.title_from_text(found.text) or step.title,
        "what": what,
        "attribution": attribution.value,
        "author_name": member.name[:200],
        "author_role": role_description.strip()[:200],
        "level": LEVEL_OF_GOVERNMENT.get(run.level),
        "source_note": f"{journey.title} journey"[:200],
        "source_platform": member.platform,
    }
    labels = {
        LabelKind.FRAMEWORK.value: [Framework.LEADERSHIP_TRANSITIONS.value],
        LabelKind.TAG.value: ["transitions", practices.normalise_tag(journey.journey)],
    }
    p = practices.create(session, member, fields, labels, now)
    found.practice_id = p.id
    session.add(found)
    session.flush()
    return p


def counts(session: Session, run_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(answers, shared) per run, for coordinators: how many, never what."""
    out: dict[int, tuple[int, int]] = {}
    if not run_ids:
        return out
    for a in session.execute(select(JourneyAnswer).where(col(JourneyAnswer.run_id).in_(run_ids))).scalars():
        n, s = out.get(a.run_id, (0, 0))
        out[a.run_id] = (n + 1, s + (a.practice_id is not None))
    return out
