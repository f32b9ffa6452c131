"""Records policy, classification, legal holds and retention runs. Plain functions on a session.

Every record copbot keeps that a policy covers (practices, forum replies, convening notes, attendance) has
a class: the one a coordinator gave it (with a reason), else its kind's default. A class keeps its records
for a number of days, or permanently. A retention run lists the records past their class's period; only
those a coordinator approves are deleted, never one a legal hold covers, and each disposition is logged.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from bot.errors import ArgumentError, CommandError, NotFound
from bot.store.models import MemberRecord
from content.practices.models import Practice
from content.records.models import (
    Disposition,
    DispositionState,
    LegalHold,
    RecordKind,
    RecordsClass,
    RecordsDefault,
    RecordsLabel,
    RetentionRun,
)
from scheduling.convenings.after.models import ConveningAttendance, ConveningNote
from scheduling.convenings.models import Convening
from scheduling.forum.models import ForumReply

MODELS: dict[RecordKind, Any] = {
    RecordKind.PRACTICE: Practice,
    RecordKind.FORUM_REPLY: ForumReply,
    RecordKind.CONVENING_NOTE: ConveningNote,
    RecordKind.ATTENDANCE: ConveningAttendance,
}


@dataclass(frozen=True)
class Rec:
    """One record as the policy sees it."""

    kind: RecordKind
    id: int
    written_at: datetime
    member_id: int | None
    text: str  # what a keyword is looked for in

    @property
    def ref(self) -> str:
        return f"{self.kind.value} {self.id}"


def _practice(p: Practice) -> Rec:
    text = " ".join((p.title, p.what, p.how_much or "", p.how_well or "", p.better_off or ""))
    return Rec(RecordKind.PRACTICE, p.id or 0, p.created_at, p.author_id, text)


def _reply(r: ForumReply) -> Rec:
    return Rec(RecordKind.FORUM_REPLY, r.id or 0, r.created_at, r.member_id, r.text)


def _note(n: ConveningNote) -> Rec:
    return Rec(RecordKind.CONVENING_NOTE, n.id or 0, n.created_at, n.member_id, n.text)


def _attendance(a: ConveningAttendance, c: Convening) -> Rec:
    return Rec(RecordKind.ATTENDANCE, a.id or 0, a.recorded_at, a.member_id, c.title)


def records(session: Session, kinds: Sequence[RecordKind] = tuple(RecordKind)) -> Iterator[Rec]:
    """Every record of these kinds, in kind then id order."""
    for kind in kinds:
        if kind is RecordKind.PRACTICE:
            yield from map(_practice, session.exec(select(Practice).order_by(col(Practice.id))))
        elif kind is RecordKind.FORUM_REPLY:
            yield from map(_reply, session.exec(select(ForumReply).order_by(col(ForumReply.id))))
        elif kind is RecordKind.CONVENING_NOTE:
            yield from map(_note, session.exec(select(ConveningNote).order_by(col(ConveningNote.id))))
        else:
            rows = session.exec(
                select(ConveningAttendance, Convening)
                .join(Convening, col(Convening.id) == col(ConveningAttendance.convening_id))
                .order_by(col(ConveningAttendance.id))
            )
            yield from (_attendance(a, c) for a, c in rows)


def one(session: Session, kind: RecordKind, record_id: int) -> Rec | None:
    """One record as the policy sees it, or None when it is gone."""
    row = session.get(MODELS[kind], record_id)
    if row is None:
        return None
    if kind is RecordKind.ATTENDANCE:
        conv = session.get(Convening, row.convening_id)
        return _attendance(row, conv) if conv is not None else None
    return {RecordKind.PRACTICE: _practice, RecordKind.FORUM_REPLY: _reply, RecordKind.CONVENING_NOTE: _note}[
        kind
    ](row)


def record(session: Session, kind: RecordKind, record_id: int) -> Rec:
    found = one(session, kind, record_id)
    if found is None:
        raise NotFound(f"There is no {kind.value} {record_id}. See: records list --kind {kind.value}")
    return found


# ---- the policy -----------------------------------------------------------------------------------------


def classes(session: Session) -> list[RecordsClass]:
    return list(session.exec(select(RecordsClass).order_by(col(RecordsClass.name))))


def get_class(session: Session, name: str) -> RecordsClass:
    found = session.exec(select(RecordsClass).where(col(RecordsClass.name) == name)).first()
    if found is None:
        known = ", ".join(c.name for c in classes(session)) or "none yet"
        raise ArgumentError(
            f"There is no records class {name!r} (known: {known}). "
            "Example: records class set transitory --keep-days 90",
            "class_name",
        )
    return found


def set_class(session: Session, name: str, keep_days: int | None, description: str, now: datetime) -> bool:
    """Create or change a class; True when it is new."""
    found = session.exec(select(RecordsClass).where(col(RecordsClass.name) == name)).first()
    new = found is None
    c = found or RecordsClass(name=name, created_at=now)
    c.keep_days = keep_days
    if description or new:
        c.description = description
    session.add(c)
    session.flush()
    return new


def defaults(session: Session) -> dict[RecordKind, str]:
    return {RecordKind(d.kind): d.class_name for d in session.exec(select(RecordsDefault))}


def set_default(session: Session, kind: RecordKind, class_name: str) -> None:
    get_class(session, class_name)
    row = session.get(RecordsDefault, kind.value) or RecordsDefault(kind=kind.value, class_name=class_name)
    row.class_name = class_name
    session.add(row)


def classify(
    session: Session, kind: RecordKind, record_id: int, class_name: str, reason: str, now: datetime
) -> str:
    """Give one record a class; returns the class it had."""
    get_class(session, class_name)
    record(session, kind, record_id)
    before = class_of(session, kind, record_id)
    label = session.exec(
        select(RecordsLabel).where(
            col(RecordsLabel.kind) == kind.value, col(RecordsLabel.record_id) == record_id
        )
    ).first() or RecordsLabel(kind=kind.value, record_id=record_id, class_name=class_name)
    label.class_name, label.reason, label.set_at = class_name, reason, now
    session.add(label)
    session.flush()
    return before or "none"


def labels(session: Session) -> dict[tuple[str, int], str]:
    return {(lb.kind, lb.record_id): lb.class_name for lb in session.exec(select(RecordsLabel))}


def class_of(session: Session, kind: RecordKind, record_id: int) -> str | None:
    return labels(session).get((kind.value, record_id)) or defaults(session).get(kind)


# ---- legal holds ------------------------------------------------------------------------------------------


def add_hold(
    session: Session,
    name: str,
    *,
    from_day: date | None,
    to_day: date | None,
    member: MemberRecord | None,
    keyword: str,
    now: datetime,
) -> LegalHold:
    if from_day is None and to_day is None and member is None and not keyword.strip():
        raise ArgumentError(
            "A hold needs at least one of --from, --to, --member or --keyword. "
            'Example: records hold add "Smith v. County" --from 2027-01-01 --keyword budget',
            "name",
        )
    if from_day and to_day and from_day > to_day:
        raise ArgumentError(f"--from {from_day} is after --to {to_day}.", "from_day")
    hold = LegalHold(
        name=name,
        from_day=from_day,
        to_day=to_day,
        by_member=member is not None,
        member_id=member.id if member else None,
        keyword=keyword.strip(),
        created_at=now,
    )
    session.add(hold)
    session.flush()
    return hold


def active_holds(session: Session) -> list[LegalHold]:
    return list(
        session.exec(
            select(LegalHold).where(col(LegalHold.released_at).is_(None)).order_by(col(LegalHold.id))
        )
    )


def release_hold(session: Session, hold_id: int, now: datetime) -> LegalHold:
    hold = session.get(LegalHold, hold_id)
    if hold is None or hold.released_at is not None:
        raise NotFound(f"There is no active hold H{hold_id}. See: records hold list")
    hold.released_at = now
    session.add(hold)
    return hold


def covers(hold: LegalHold, rec: Rec) -> bool:
    """Whether a hold covers a record: every criterion it has must match."""
    day = rec.written_at.date()
    if hold.from_day and day < hold.from_day:
        return False
    if hold.to_day and day > hold.to_day:
        return False
    if hold.by_member and (hold.member_id is None or hold.member_id != rec.member_id):
        return False
    return not hold.keyword or hold.keyword.casefold() in rec.text.casefold()


# ---- retention runs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listed:
    number: int
    kind: str
    record_id: int
    class_name: str
    written_on: date
    expired_on: date
    state: str
    hold_ids: str


def start_run(session: Session, now: datetime) -> tuple[int, list[Listed]]:
    """List every record past its class's retention period, held ones marked, for approval."""
    keep = {c.name: c.keep_days for c in classes(session)}
    given, kind_defaults, holds = labels(session), defaults(session), active_holds(session)
    run = RetentionRun(created_at=now)
    session.add(run)
    session.flush()
    n = 0
    for rec in records(session):
        class_name = given.get((rec.kind.value, rec.id)) or kind_defaults.get(rec.kind)
        days = keep.get(class_name) if class_name else None
        if class_name is None or days is None:
            continue
        expires = rec.written_at + timedelta(days=days)
        if expires > now:
            continue
        held = [h.id for h in holds if covers(h, rec)]
        n += 1
        session.add(
            Disposition(
                run_id=run.id or 0,
                number=n,
                kind=rec.kind.value,
                record_id=rec.id,
                class_name=class_name,
                written_on=rec.written_at.date(),
                expired_on=expires.date(),
                state=(DispositionState.HELD if held else DispositionState.LISTED).value,
                hold_ids=",".join(f"H{i}" for i in held)[:200],
            )
        )
    session.flush()
    return run.id or 0, listed(session, run.id or 0)


def listed(session: Session, run_id: int) -> list[Listed]:
    rows = session.exec(
        select(Disposition).where(col(Disposition.run_id) == run_id).order_by(col(Disposition.number))
    )
    return [
        Listed(d.number, d.kind, d.record_id, d.class_name, d.written_on, d.expired_on, d.state, d.hold_ids)
        for d in rows
    ]


def get_run(session: Session, run_id: int) -> RetentionRun:
    run = session.get(RetentionRun, run_id)
    if run is None:
        raise NotFound(f"There is no retention run R{run_id}. Start one with: records run")
    return run


def approve(
    session: Session, run_id: int, numbers: Sequence[int] | None, now: datetime
) -> dict[str, list[str]]:
    """Dispose of the approved records of a run (all listed ones when `numbers` is None): each is checked
    against the holds again right now, and deleted only when none covers it. Returns refs by outcome."""
    get_run(session, run_id)
    rows = list(
        session.exec(
            select(Disposition).where(col(Disposition.run_id) == run_id).order_by(col(Disposition.number))
        )
    )
    by_number = {d.number: d for d in rows}
    if numbers is not None:
        unknown = sorted(set(numbers) - set(by_number))
        if unknown:
            raise ArgumentError(
                f"Run R{run_id} has no item {', '.join(map(str, unknown))} (it lists 1–{len(rows)}).", "items"
            )
    chosen = [by_number[n] for n in sorted(set(numbers))] if numbers is not None else rows
    holds = active_holds(session)
    outcome: dict[str, list[str]] = {"deleted": [], "held": [], "gone": [], "already decided": []}
    for d in chosen:
        ref = f"{d.kind} {d.record_id}"
        if d.state in (DispositionState.DELETED.value, DispositionState.GONE.value):
            outcome["already decided"].append(ref)
            continue
        kind = RecordKind(d.kind)
        rec = one(session, kind, d.record_id)
        if d.state == DispositionState.HELD.value:
            # Listed as held: it stays, whatever happened to the hold since (a new run lists it again).
            outcome["held"].append(ref)
        elif rec is None:
            d.state = DispositionState.GONE.value
            outcome["gone"].append(ref)
        else:
            held = [h.id for h in holds if covers(h, rec)]
            if held:
                d.state, d.hold_ids = DispositionState.HELD.value, ",".join(f"H{i}" for i in held)[:200]
                outcome["held"].append(ref)
            else:
                session.delete(session.get(MODELS[kind], d.record_id))
                for label in session.exec(
                    select(RecordsLabel).where(
                        col(RecordsLabel.kind) == d.kind, col(RecordsLabel.record_id) == d.record_id
                    )
                ):
                    session.delete(label)
                d.state = DispositionState.DELETED.value
                outcome["deleted"].append(ref)
        d.decided_at = now
        session.add(d)
        session.flush()
    return outcome


def log(session: Session, limit: int = 50) -> list[tuple[int, Disposition]]:
    """The latest decided dispositions, newest first."""
    rows = session.exec(
        select(Disposition)
        .where(col(Disposition.decided_at).is_not(None))
        .order_by(col(Disposition.decided_at).desc(), col(Disposition.id).desc())
        .limit(limit)
    )
    return [(d.run_id, d) for d in rows]


# ---- privacy ----------------------------------------------------------------------------------------------


def export_member(session: Session, record: MemberRecord) -> dict[str, Any]:
    holds = session.exec(select(LegalHold).where(col(LegalHold.member_id) == record.id))
    return {
        "legal_holds_naming_you": [
            {
                "hold": f"H{h.id}",
                "name": h.name,
                "since": h.created_at.isoformat(),
                "released": bool(h.released_at),
            }
            for h in holds
        ]
    }


def forget_member(session: Session, record: MemberRecord, now: datetime) -> int:
    """Refused while a legal hold covers something `me forget` would delete (deleting it would destroy
    evidence); otherwise a hold keeps its other criteria but no longer names the member (what they wrote is
    gone by then, and their practices stay, credited anonymously)."""
    holds = active_holds(session)
    if holds:
        deleted_kinds = (RecordKind.FORUM_REPLY, RecordKind.CONVENING_NOTE, RecordKind.ATTENDANCE)
        held = [
            h
            for rec in records(session, deleted_kinds)
            if rec.member_id == record.id
            for h in holds
            if covers(h, rec)
        ]
        if held:
            raise CommandError(
                "Some of what you wrote is under a legal hold, so copbot may not delete it now. "
                "Nothing was deleted. Ask a coordinator when the hold ends; `me data` still shows you "
                "everything copbot keeps about you."
            )
    changed = 0
    for h in session.exec(select(LegalHold).where(col(LegalHold.member_id) == record.id)):
        h.member_id = None
        session.add(h)
        changed += 1
    return changed
