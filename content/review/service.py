"""Practice review: when each practice falls due, who is asked, and what their answer does.

A review falls due at the earliest of: its interval after the last review (or after it was shared), the
day after an election in the practice's jurisdiction (its region), the start of a fiscal year, and the
moment its owner left. A daily sweep (a planned post) asks the owner once by DM, escalates once to the
coordinators when nobody answered in time, and on Mondays sends coordinators the list of overdue reviews.
Every message is a planned post with its own key, so each goes exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.config import Settings
from bot.context import find_member
from bot.errors import ArgumentError, NotAllowed
from bot.messages import Member
from bot.permissions import Role
from bot.store.models import MemberRecord, RoleGrant
from bot.words import counted
from content.practices import service as practices
from content.practices.models import Practice, Status
from content.review.models import Election, PracticeReview, ReviewSettings, ReviewState
from scheduling.engine.notices import plan_dm

COMMUNITY = "community"


def jurisdiction_key(name: str) -> str:
    return " ".join(name.casefold().split())


def parse_fiscal_start(raw: str) -> str:
    """'07-01' (month-day) -> '07-01'; '' turns it off."""
    raw = raw.strip()
    if raw in ("", "none", "off"):
        return ""
    try:
        parsed = date.fromisoformat(f"2000-{raw}")
    except ValueError:
        raise ArgumentError(
            f"{raw!r} is not a month and day. Example: --fiscal-year-start 07-01 (July 1)",
            "fiscal_year_start",
        ) from None
    return f"{parsed:%m-%d}"


def settings_row(session: Session) -> ReviewSettings:
    return session.get(ReviewSettings, 1) or ReviewSettings()


def reviews_on(session: Session) -> bool:
    """Reviews run once a coordinator set them up (`review settings`), until turned off."""
    return session.get(ReviewSettings, 1) is not None


def turn_off(session: Session) -> bool:
    rs = session.get(ReviewSettings, 1)
    if rs is not None:
        session.delete(rs)
    return rs is not None


def _local_start(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0, 0), ZoneInfo(tz))


def _next_fiscal_start(after: datetime, mm_dd: str, tz: str) -> datetime:
    local = after.astimezone(ZoneInfo(tz))
    month, day = int(mm_dd[:2]), int(mm_dd[3:])
    for year in (local.year, local.year + 1):
        try:
            start = _local_start(date(year, month, day), tz)
        except ValueError:  # 02-29 in a common year
            start = _local_start(date(year, 3, 1), tz)
        if start > after:
            return start
    raise AssertionError("a fiscal year starts within two calendar years")


def due_for(
    baseline: datetime,
    settings: ReviewSettings,
    elections: list[date],
    owner_left_at: datetime | None,
    tz: str,
) -> tuple[datetime, str]:
    """When a review last confirmed at `baseline` falls due, and why (pure)."""
    candidates = [(baseline + timedelta(days=settings.every_days), f"{settings.every_days}-day interval")]
    local_day = baseline.astimezone(ZoneInfo(tz)).date()
    later = sorted(d for d in elections if d >= local_day)
    if later:
        candidates.append((_local_start(later[0] + timedelta(days=1), tz), f"election on {later[0]}"))
    if settings.fiscal_year_start:
        candidates.append(
            (_next_fiscal_start(baseline, settings.fiscal_year_start, tz), "start of the fiscal year")
        )
    if owner_left_at is not None:
        candidates.append((owner_left_at, "its owner left"))
    return min(candidates, key=lambda c: c[0])


Known = dict[str, list[date]]  # election days by jurisdiction key, loaded once for a sweep


def _all_elections(session: Session) -> Known:
    known: Known = {}
    for e in session.exec(select(Election)):
        known.setdefault(e.jurisdiction_key, []).append(e.held_on)
    return known


def _elections(session: Session, region: str | None, known: Known | None = None) -> list[date]:
    if not region or not region.strip():
        return []
    if known is not None:
        return known.get(jurisdiction_key(region), [])
    rows = session.exec(select(Election).where(col(Election.jurisdiction_key) == jurisdiction_key(region)))
    return [e.held_on for e in rows]


def _baseline(p: Practice) -> datetime:
    return p.reviewed_at or p.created_at


def review_for(
    session: Session, p: Practice, settings: ReviewSettings, tz: str, known: Known | None = None
) -> PracticeReview:
    """The practice's review row, made on first sight (owned by its author)."""
    r = session.get(PracticeReview, p.id)
    if r is None:
        due, why = due_for(_baseline(p), settings, _elections(session, p.region, known), None, tz)
        r = PracticeReview(practice_id=p.id or 0, owner_id=p.author_id, due_at=due, reason=why)
        session.add(r)
        session.flush()
    return r


def _recompute(
    session: Session,
    p: Practice,
    r: PracticeReview,
    settings: ReviewSettings,
    tz: str,
    known: Known | None = None,
) -> None:
    elections = _elections(session, p.region, known)
    r.due_at, r.reason = due_for(_baseline(p), settings, elections, r.owner_left_at, tz)
    session.add(r)


# ---- who is asked -------------------------------------------------------------------------------------


def coordinators(session: Session, settings: Settings) -> list[tuple[str, str]]:
    """(platform, user id) of the community's coordinators and admins, configured admins included."""
    grants = session.exec(
        select(RoleGrant).where(
            col(RoleGrant.role) >= int(Role.COORDINATOR), col(RoleGrant.scope) == COMMUNITY
        )
    )
    found = {(g.platform, g.user_id) for g in grants}
    found |= {(platform, user_id) for platform, _, user_id in settings.bootstrap_admins}
    return sorted(found)


def answer_choices(ref: str) -> list[tuple[str, str]]:
    return [
        ("Still true", f"review confirm {ref}"),
        ("Update", f"review update {ref}"),
        ("Retire", f"review retire {ref}"),
    ]


def _ask_owner(
    session: Session, p: Practice, r: PracticeReview, owner: MemberRecord, now: datetime, tz: str
) -> None:
    ref = practices.practice_ref(p.id or 0)
    text = (
        f'Is your practice {ref} "{p.title}" still true? It is due for review ({r.reason}). '
        f"Answer with a button, or: review confirm {ref} · review update {ref} · review retire {ref}"
    )
    plan_dm(
        session,
        f"review:ask:{p.id}:{r.cycle}",
        now,
        (owner.platform, owner.user_id, owner.workspace),
        text,
        default_zone=tz,
        reminder=False,
        choices=answer_choices(ref),
        expires=timedelta(days=7),
    )


def _escalate(
    session: Session, p: Practice, r: PracticeReview, now: datetime, settings: Settings, why: str
) -> int:
    ref = practices.practice_ref(p.id or 0)
    text = (
        f'Review needed: {ref} "{p.title}" is due for review ({r.reason}) and {why}. '
        f"Answer for it, or take it over with: review adopt {ref}"
    )
    targets = coordinators(session, settings)
    for platform, user_id in targets:
        plan_dm(
            session,
            f"review:escalate:{p.id}:{r.cycle}:{platform}:{user_id}",
            now,
            (platform, user_id),
            text,
            default_zone=settings.timezone,
            reminder=False,
            choices=[*answer_choices(ref), ("Adopt", f"review adopt {ref}")],
            expires=timedelta(days=7),
        )
    r.escalated_at = now
    session.add(r)
    return len(targets)


@dataclass
class SweepReport:
    asked: int = 0
    escalated: int = 0
    weekly_notes: int = 0


def sweep(session: Session, now: datetime, settings: Settings) -> SweepReport:
    """Bring every active practice's review up to date, ask owners whose practice fell due, escalate
    unanswered ones once, and (on Mondays) plan the weekly overdue note. Idempotent for a given `now`."""
    tz, report = settings.timezone, SweepReport()
    rs = settings_row(session)
    active = list(session.exec(select(Practice).where(col(Practice.status) == Status.ACTIVE.value)))
    list(session.exec(select(PracticeReview)))  # into the session: review_for finds each without a query
    known = _all_elections(session)
    for p in active:
        r = review_for(session, p, rs, tz, known)
        if r.state == ReviewState.CURRENT.value:
            _recompute(session, p, r, rs, tz, known)
            if r.due_at > now:
                continue
            r.state, r.cycle, r.asked_at, r.escalated_at = ReviewState.ASKED.value, r.cycle + 1, now, None
            session.add(r)
            owner = session.get(MemberRecord, r.owner_id) if r.owner_id else None
            if owner is not None:
                _ask_owner(session, p, r, owner, now, tz)
                report.asked += 1
            else:
                _escalate(session, p, r, now, settings, "it has no owner")
                report.escalated += 1
        elif (
            r.state == ReviewState.ASKED.value
            and r.escalated_at is None
            and r.asked_at is not None
            and r.asked_at + timedelta(days=rs.answer_days) <= now
        ):
            _escalate(session, p, r, now, settings, f"its owner did not answer in {rs.answer_days} days")
            report.escalated += 1
    local = now.astimezone(ZoneInfo(tz))
    if local.weekday() == 0:
        report.weekly_notes = _weekly_note(session, now, settings, local.date())
    session.flush()
    return report


def overdue(session: Session) -> list[tuple[Practice, PracticeReview]]:
    rows = session.exec(
        select(Practice, PracticeReview)
        .join(PracticeReview, col(PracticeReview.practice_id) == col(Practice.id))
        .where(
            col(PracticeReview.state) == ReviewState.ASKED.value, col(Practice.status) == Status.ACTIVE.value
        )
        .order_by(col(PracticeReview.due_at), col(Practice.id))
    )
    return [(p, r) for p, r in rows]


def _weekly_note(session: Session, now: datetime, settings: Settings, day: date) -> int:
    late = overdue(session)
    if not late:
        return 0
    lines = [
        f"{practices.practice_ref(p.id or 0)} {p.title} (due {r.due_at:%Y-%m-%d}, {r.reason})"
        for p, r in late[:30]
    ]
    more = f"\n…and {len(late) - 30} more: review due" if len(late) > 30 else ""
    text = f"Weekly review note: {counted(len(late), 'practice review')} overdue.\n" + "\n".join(lines) + more
    targets = coordinators(session, settings)
    for platform, user_id in targets:
        plan_dm(
            session,
            f"review:weekly:{day.isoformat()}:{platform}:{user_id}",
            now,
            (platform, user_id),
            text,
            default_zone=settings.timezone,
            reminder=False,
            choices=[("Overdue reviews", "review due")],
            expires=timedelta(days=3),
        )
    return len(targets)


# ---- answers --------------------------------------------------------------------------------------------


def may_answer(session: Session, r: PracticeReview, member: Member, is_coordinator: bool) -> bool:
    if is_coordinator:
        return True
    record = find_member(session, member)
    return record is not None and r.owner_id == record.id


def load(session: Session, practice_id: int, settings: Settings) -> tuple[Practice, PracticeReview]:
    p = practices.get(session, practice_id)
    return p, review_for(session, p, settings_row(session), settings.timezone)


def answer(
    session: Session,
    practice_id: int,
    member: Member,
    is_coordinator: bool,
    outcome: str,
    now: datetime,
    settings: Settings,
) -> tuple[Practice, PracticeReview]:
    """The owner (or a coordinator) answered: still true or updated (reviewed now), or retire."""
    p, r = load(session, practice_id, settings)
    ref = practices.practice_ref(practice_id)
    if not may_answer(session, r, member, is_coordinator):
        raise NotAllowed(f"Only the owner of {ref} or a coordinator can review it.")
    r.last_outcome, r.asked_at, r.escalated_at = outcome, None, None
    if outcome == "retired":
        practices.set_status(session, p, Status.RETIRED, now)
        r.state = ReviewState.RETIRED.value
    else:
        if p.status != Status.ACTIVE.value:
            practices.set_status(session, p, Status.ACTIVE, now)
        practices.mark_reviewed(session, p, now)
        r.state, r.owner_left_at = ReviewState.CURRENT.value, None
        _recompute(session, p, r, settings_row(session), settings.timezone)
    session.add(r)
    session.flush()
    return p, r


def adopt(
    session: Session, practice_id: int, member: Member, settings: Settings
) -> tuple[Practice, PracticeReview]:
    from bot.context import ensure_member

    p, r = load(session, practice_id, settings)
    record = ensure_member(session, member)
    r.owner_id, r.owner_left_at = record.id, None
    session.add(r)
    return p, r


def owner_gone(session: Session, record: MemberRecord, now: datetime) -> int:
    """The owner left (`me forget`, or a coordinator said so): their practices go to the coordinators and
    fall due now."""
    changed = 0
    for r in session.exec(select(PracticeReview).where(col(PracticeReview.owner_id) == record.id)):
        r.owner_id, r.owner_left_at = None, now
        if r.state == ReviewState.ASKED.value and r.escalated_at is None:
            r.state = ReviewState.CURRENT.value  # the owner will not answer: the next sweep asks coordinators
        session.add(r)
        changed += 1
    # Practices they shared that no review row names yet (never swept): made now, without an owner.
    shared = session.exec(select(Practice).where(col(Practice.author_id) == record.id))
    for p in shared:
        if session.get(PracticeReview, p.id) is None:
            session.add(
                PracticeReview(
                    practice_id=p.id or 0,
                    owner_id=None,
                    due_at=now,
                    reason="its owner left",
                    owner_left_at=now,
                )
            )
            changed += 1
    session.flush()
    return changed


def owned_by(session: Session, member: Member) -> list[tuple[Practice, PracticeReview]]:
    record = find_member(session, member)
    if record is None:
        return []
    rows = session.exec(
        select(Practice, PracticeReview)
        .join(PracticeReview, col(PracticeReview.practice_id) == col(Practice.id))
        .where(col(PracticeReview.owner_id) == record.id)
        .order_by(col(PracticeReview.due_at))
    )
    return [(p, r) for p, r in rows]


def export_member(session: Session, record: MemberRecord) -> dict[str, Any]:
    rows = session.exec(select(PracticeReview).where(col(PracticeReview.owner_id) == record.id))
    return {
        "reviews_you_own": [
            {
                "practice": practices.practice_ref(r.practice_id),
                "state": r.state,
                "due": r.due_at.isoformat(),
                "reason": r.reason,
                "last_answer": r.last_outcome,
            }
            for r in rows
        ]
    }


def forget_member(session: Session, record: MemberRecord, now: datetime) -> int:
    return owner_gone(session, record, now)


# ---- civic dates ----------------------------------------------------------------------------------------


def add_election(session: Session, jurisdiction: str, held_on: date, note: str = "") -> bool:
    """False when that jurisdiction already has an election that day."""
    key = jurisdiction_key(jurisdiction)
    if not key:
        raise ArgumentError(
            "Name the jurisdiction. Example: review election add Ohio 2027-11-02", "jurisdiction"
        )
    exists = session.exec(
        select(Election).where(col(Election.jurisdiction_key) == key, col(Election.held_on) == held_on)
    ).first()
    if exists is not None:
        return False
    session.add(
        Election(
            jurisdiction_key=key,
            jurisdiction=" ".join(jurisdiction.split()),
            held_on=held_on,
            note=note[:200],
        )
    )
    session.flush()
    return True


def elections(session: Session) -> list[Election]:
    return list(
        session.exec(select(Election).order_by(col(Election.held_on), col(Election.jurisdiction_key)))
    )


def remove_election(session: Session, election_id: int) -> Election | None:
    e = session.get(Election, election_id)
    if e is not None:
        session.delete(e)
    return e


def configure(
    session: Session,
    now: datetime,
    *,
    every_days: int | None,
    answer_days: int | None,
    fiscal_year_start: str | None,
) -> ReviewSettings:
    rs = settings_row(session)
    if every_days is not None:
        rs.every_days = every_days
    if answer_days is not None:
        rs.answer_days = answer_days
    if fiscal_year_start is not None:
        rs.fiscal_year_start = fiscal_year_start
    rs.updated_at = now
    session.add(rs)
    session.flush()
    return rs
