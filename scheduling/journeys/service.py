"""Journeys: the files kept in the database, a member's run planned through the outbox, and its controls.

Each step of a run is one planned post (kind `journey.step`, key `journey:<run>:<step>:due`), due at
09:00 on the step's day (start + day offset + days paused) in the member's zone, moved to the end of their
quiet hours when it falls in them; it may still go out within STEP_GRACE, after which the outbox records it
as skipped and tells the coordinators (the next steps still come). The handler logs the step once
(`journey_step_log`, unique per run and step) and plans the DM as a notice in the same transaction, so a
retry, a restart or a second process never sends a step twice. When it runs in the member's quiet hours
(they changed them), it re-plans the step at their end; with reminders by DM off, the step is held (shown
in `me transition status`) instead of sent. Pausing cancels the run's pending posts; resuming moves every
later step by the days paused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session, col

from bot.context import ensure_member
from bot.errors import CommandError, NotFound
from bot.members.dm_prefs import dm_prefs, quiet_shift
from bot.messages import Member
from bot.store.models import MemberRecord
from content.resources.catalog_sync import read_catalog
from content.resources.models import Resource
from scheduling.engine import outbox
from scheduling.engine.notices import plan_notice
from scheduling.journeys.definitions import JOURNEYS_DIR, Journey, Step, from_json, load_journeys, to_json
from scheduling.journeys.models import Journey as JourneyRow
from scheduling.journeys.models import JourneyRun, JourneyStepLog, RunState, StepState

KIND = "journey.step"
SEND_AT = time(9, 0)
STEP_GRACE = timedelta(days=2)
OPEN = (RunState.ACTIVE.value, RunState.PAUSED.value)


# ---- the files ----------------------------------------------------------------------------------------


def _fingerprint(directory: Path) -> tuple[tuple[str, str], ...]:
    return tuple(
        (p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in sorted(directory.glob("*.yaml"))
    )


@lru_cache(maxsize=8)
def _load(
    directory: str, fingerprint: tuple[tuple[str, str], ...], ids: frozenset[str]
) -> tuple[Journey, ...]:
    return tuple(load_journeys(Path(directory), set(ids)))


def read_journeys(directory: Path | None = None, catalog_dir: Path | None = None) -> list[Journey]:
    """Load and check the journey files against the catalog files (remembered while both are unchanged)."""
    folder = Path(directory or JOURNEYS_DIR)
    ids = frozenset(e.id for e in read_catalog(catalog_dir))
    if not folder.is_dir():
        return load_journeys(folder, set(ids))  # raises its JourneyError
    return list(_load(str(folder.resolve()), _fingerprint(folder), ids))


def sync_journeys(session: Session, journeys: Sequence[Journey], now: datetime) -> int:
    """Make the `journey` table say what the files say; a journey gone from the files is kept inactive
    (runs on it go on). Returns how many rows changed."""
    existing = {row.slug: row for row in session.execute(select(JourneyRow)).scalars()}
    changed = 0
    for j in journeys:
        body = json.dumps(to_json(j), sort_keys=True)
        digest = hashlib.sha256(body.encode()).hexdigest()
        row = existing.get(j.journey)
        if row is not None and row.source_hash == digest and row.active:
            continue
        row = row or JourneyRow(slug=j.journey, title=j.title, definition=body, source_hash=digest)
        row.title, row.definition, row.source_hash, row.active, row.updated_at = (
            j.title,
            body,
            digest,
            True,
            now,
        )
        session.add(row)
        changed += 1
    names = {j.journey for j in journeys}
    for slug, row in existing.items():
        if slug not in names and row.active:
            row.active, row.updated_at = False, now
            session.add(row)
            changed += 1
    session.flush()
    return changed


def definition(row: JourneyRow) -> Journey:
    return from_json(json.loads(row.definition))


def find_journey(session: Session, name: str) -> JourneyRow:
    """A journey by its id (new-chief-of-staff) or its title's first words; NotFound lists them."""
    wanted = " ".join(name.lower().replace("-", " ").split())
    rows = list(
        session.execute(
            select(JourneyRow).where(col(JourneyRow.active).is_(True)).order_by(col(JourneyRow.slug))
        ).scalars()
    )
    for row in rows:
        if wanted in (row.slug.replace("-", " "), row.title.lower()):
            return row
    starts = [
        r for r in rows if r.title.lower().startswith(wanted) or r.slug.replace("-", " ").startswith(wanted)
    ]
    if len(starts) == 1:
        return starts[0]
    names = ", ".join(r.slug for r in rows) or "none yet"
    raise NotFound(f"There is no journey {name!r}. Journeys: {names}. See them with: transition journeys")


def active_journeys(session: Session) -> list[tuple[JourneyRow, Journey]]:
    rows = session.execute(
        select(JourneyRow).where(col(JourneyRow.active).is_(True)).order_by(col(JourneyRow.slug))
    )
    return [(row, definition(row)) for row in rows.scalars()]


# ---- when steps are due ---------------------------------------------------------------------------------


def step_date(run: JourneyRun, step: Step) -> date:
    return run.starts_on + timedelta(days=step.day + run.shift_days)


def step_due(run: JourneyRun, step: Step, zone: str, quiet: tuple[str, str] | None) -> datetime:
    """09:00 on the step's day in the member's zone, moved past their quiet hours (UTC, aware)."""
    local = datetime.combine(step_date(run, step), SEND_AT, tzinfo=ZoneInfo(zone))
    due = local.astimezone(ZoneInfo("UTC"))
    return quiet_shift(due, due + timedelta(days=1), quiet, zone) or due


def local_today(now: datetime, zone: str) -> date:
    return now.astimezone(ZoneInfo(zone)).date()


def step_key(run_id: int, step_id: str) -> str:
    return f"journey:{run_id}:{step_id}:"


def logged(session: Session, run_id: int) -> dict[str, JourneyStepLog]:
    return {
        row.step: row
        for row in session.execute(
            select(JourneyStepLog).where(col(JourneyStepLog.run_id) == run_id)
        ).scalars()
    }


def log_step(session: Session, run: JourneyRun, step_id: str, state: StepState, now: datetime) -> bool:
    """Record what a step did, once; False when it was already recorded (by a retry or another process)."""
    if (
        session.execute(
            select(col(JourneyStepLog.id)).where(
                col(JourneyStepLog.run_id) == run.id, col(JourneyStepLog.step) == step_id
            )
        ).first()
        is not None
    ):
        return False
    session.add(JourneyStepLog(run_id=run.id or 0, step=step_id, state=state.value, at=now))
    session.flush()
    return True


def plan_steps(
    session: Session,
    run: JourneyRun,
    journey: Journey,
    now: datetime,
    default_zone: str,
    *,
    passed: StepState | None = None,
) -> tuple[int, int]:
    """Plan every step not yet logged whose day is today or later. A step whose day is behind the member is
    logged as `passed` (when starting) or left alone (resuming: it was missed). Returns (planned, passed)."""
    rules = dm_prefs(session, run.member_id, default_zone)
    done = logged(session, run.id or 0)
    today = local_today(now, rules.zone)
    plans, behind = [], 0
    for step in journey.steps:
        if step.id in done:
            continue
        if step_date(run, step) < today:
            if passed is not None:
                log_step(session, run, step.id, passed, now)
                behind += 1
            continue
        due = step_due(run, step, rules.zone, rules.quiet)
        if due < now:
            due = quiet_shift(now, now + timedelta(days=1), rules.quiet, rules.zone) or now
        plans.append(
            outbox.Plan(
                step_key(run.id or 0, step.id) + "due",
                KIND,
                due,
                due + STEP_GRACE,
                {"run_id": run.id, "step": step.id, "member_id": run.member_id},
            )
        )
    outbox.plan_many(session, plans)
    finish_if_done(session, run, journey, now)
    return len(plans), behind


def finish_if_done(session: Session, run: JourneyRun, journey: Journey, now: datetime) -> bool:
    if run.state == RunState.ACTIVE.value and set(logged(session, run.id or 0)) >= {
        s.id for s in journey.steps
    }:
        run.state, run.updated_at = RunState.DONE.value, now
        session.add(run)
        return True
    return False


# ---- a member's run ----------------------------------------------------------------------------------


def record_of(session: Session, member: Member) -> MemberRecord | None:
    return (
        session.execute(
            select(MemberRecord).where(
                col(MemberRecord.platform) == member.platform, col(MemberRecord.user_id) == member.user_id
            )
        )
        .scalars()
        .first()
    )


def open_run(session: Session, member_id: int) -> JourneyRun | None:
    return (
        session.execute(
            select(JourneyRun)
            .where(col(JourneyRun.member_id) == member_id, col(JourneyRun.state).in_(OPEN))
            .order_by(col(JourneyRun.id).desc())
        )
        .scalars()
        .first()
    )


def latest_run(session: Session, member: Member) -> JourneyRun | None:
    record = record_of(session, member)
    if record is None:
        return None
    return (
        session.execute(
            select(JourneyRun)
            .where(col(JourneyRun.member_id) == record.id)
            .order_by(col(JourneyRun.state).in_(OPEN).desc(), col(JourneyRun.id).desc())
        )
        .scalars()
        .first()
    )


def require_open(session: Session, member: Member, whose: str = "You are") -> tuple[JourneyRun, JourneyRow]:
    record = record_of(session, member)
    run = open_run(session, record.id or 0) if record is not None else None
    if run is None:
        raise CommandError(
            f"{whose} not on a journey. See them with: transition journeys; start one with: "
            "me transition start new-chief-of-staff --level city --starts 2027-03-01"
        )
    return run, session.get(JourneyRow, run.journey_id)  # type: ignore[return-value]


@dataclass
class Started:
    run: JourneyRun
    journey: Journey
    planned: int
    passed: int
    first: tuple[Step, datetime] | None
    zone: str


def start(
    session: Session,
    member: Member,
    row: JourneyRow,
    role: str,
    level: str,
    starts_on: date,
    now: datetime,
    default_zone: str,
    *,
    started_by: Member | None = None,
) -> Started:
    """Put a member on a journey starting `starts_on` (a date in the past counts: steps behind are passed)."""
    record = ensure_member(session, member)
    current = open_run(session, record.id or 0)
    if current is not None:
        other = session.get(JourneyRow, current.journey_id)
        who = "They are" if started_by else "You are"
        raise CommandError(
            f"{who} already on {other.title if other else 'a journey'} ({current.state}). "
            "Stop it first: me transition stop"
        )
    if starts_on > local_today(now, default_zone) + timedelta(days=365):
        raise CommandError("--starts: a journey can start at most a year ahead. Example: --starts 2027-03-01")
    by = ensure_member(session, started_by).id if started_by is not None else None
    run = JourneyRun(
        journey_id=row.id or 0,
        member_id=record.id or 0,
        role=role,
        level=level,
        starts_on=starts_on,
        started_by=by,
        created_at=now,
        updated_at=now,
    )
    session.add(run)
    session.flush()
    journey = definition(row)
    planned, passed = plan_steps(session, run, journey, now, default_zone, passed=StepState.PASSED)
    rules = dm_prefs(session, run.member_id, default_zone)
    upcoming = [s for s in journey.steps if s.id not in logged(session, run.id or 0)]
    first = (upcoming[0], step_due(run, upcoming[0], rules.zone, rules.quiet)) if upcoming else None
    return Started(run, journey, planned, passed, first, rules.zone)


def pause(session: Session, member: Member, now: datetime, default_zone: str) -> JourneyRun:
    run, row = require_open(session, member)
    if run.state == RunState.PAUSED.value:
        raise CommandError(f"{row.title} is already paused. Go on with: me transition resume")
    run.state, run.paused_on, run.updated_at = (
        RunState.PAUSED.value,
        local_today(now, dm_prefs(session, run.member_id, default_zone).zone),
        now,
    )
    session.add(run)
    outbox.cancel(session, f"journey:{run.id}:")
    return run


def resume(session: Session, member: Member, now: datetime, default_zone: str) -> tuple[JourneyRun, int]:
    run, row = require_open(session, member)
    if run.state != RunState.PAUSED.value:
        raise CommandError(f"{row.title} is not paused. Pause it with: me transition pause")
    today = local_today(now, dm_prefs(session, run.member_id, default_zone).zone)
    run.shift_days += max(0, (today - (run.paused_on or today)).days)
    run.state, run.paused_on, run.updated_at = RunState.ACTIVE.value, None, now
    session.add(run)
    session.flush()
    planned, _ = plan_steps(session, run, definition(row), now, default_zone)
    return run, planned


def next_step(session: Session, run: JourneyRun, journey: Journey) -> Step | None:
    done = logged(session, run.id or 0)
    return next((s for s in journey.steps if s.id not in done), None)


def skip(session: Session, member: Member, step_ref: str, now: datetime) -> tuple[Step, JourneyRow]:
    """Skip a step not yet sent: the next one, or the one named by id or number."""
    run, row = require_open(session, member)
    journey = definition(row)
    step = find_step(journey, step_ref) if step_ref else next_step(session, run, journey)
    if step is None:
        raise CommandError("Every step of this journey has already come; there is nothing left to skip.")
    if not log_step(session, run, step.id, StepState.SKIPPED, now):
        raise CommandError(
            f"Step {step.id!r} ({step.title}) has already come; only steps ahead can be skipped."
        )
    outbox.cancel(session, step_key(run.id or 0, step.id))
    finish_if_done(session, run, journey, now)
    return step, row


def stop(session: Session, member: Member, now: datetime) -> JourneyRow:
    run, row = require_open(session, member)
    run.state, run.updated_at = RunState.STOPPED.value, now
    session.add(run)
    outbox.cancel(session, f"journey:{run.id}:")
    return row


def find_step(journey: Journey, ref: str) -> Step:
    ref = ref.strip().lower()
    if ref.isdigit() and 1 <= int(ref) <= len(journey.steps):
        return journey.steps[int(ref) - 1]
    found = journey.step(ref)
    if found is None:
        ids = ", ".join(s.id for s in journey.steps)
        raise NotFound(
            f"{journey.title} has no step {ref!r}. Use a number from 1 to {len(journey.steps)} or an id: "
            f"{ids}"
        )
    return found


def resources_named(session: Session, slugs: Sequence[str]) -> list[tuple[str, str]]:
    """(ref like L12, title) for the catalog resources a step names, in its order."""
    if not slugs:
        return []
    found = {
        r.slug: r
        for r in session.execute(
            select(Resource).where(col(Resource.slug).in_(list(slugs)), col(Resource.status) == "active")
        ).scalars()
    }
    return [(f"L{found[s].id}", found[s].title) for s in slugs if s in found]


def dm(
    session: Session,
    key: str,
    due: datetime,
    record: MemberRecord,
    text: str,
    choices: list[tuple[str, str]] | None = None,
) -> None:
    """A DM through the outbox; `key` plus the recipient is unique per message, so it goes once."""
    who = hashlib.sha1(f"{record.platform}:{record.user_id}".encode()).hexdigest()[:12]
    plan_notice(
        session,
        f"{key}:{who}"[:200],
        due,
        platform=record.platform,
        user_id=record.user_id,
        workspace=record.workspace,
        text=text,
        choices=choices,
    )


def runs_of(session: Session, record_id: int) -> list[tuple[JourneyRun, JourneyRow]]:
    rows = session.execute(
        select(JourneyRun, JourneyRow)
        .join(JourneyRow, col(JourneyRow.id) == col(JourneyRun.journey_id))
        .where(col(JourneyRun.member_id) == record_id)
        .order_by(col(JourneyRun.id))
    ).all()
    return [(r, j) for r, j in rows]
