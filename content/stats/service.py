"""The community's figures for coordinators: is it alive? One query per figure, bucketed by month in the
community's time zone, the same on SQLite and PostgreSQL.

What each counts (also said under each chart):
- members active: distinct members who shared or endorsed a practice, replied in a forum thread, voted for
  a topic, answered a convening, were recorded as attending, or rated a resource that month;
- forum participation: distinct members who replied in each forum's thread;
- practices shared: by month and framework (a practice drawing on two counts under both; "none" without);
- convenings: members going (their last answer) against those recorded as attending, per past convening;
- reminders (planned posts whose kind is a reminder): sent on time, sent late (held through quiet hours or
  a pause, more than 5 minutes after due), dropped (skipped, cancelled or forgotten) and failed;
- digest: resources shown in the digest, and how many of them members rated useful afterwards.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, literal, select, union_all
from sqlmodel import Session, col

from bot.messages import Chart, Series
from content.practices.models import Endorsement, LabelKind, Practice, PracticeLabel
from content.resources.models import DigestShown, ResourceRating
from scheduling.convenings.after.models import ConveningAttendance
from scheduling.convenings.models import Answer, Convening, Rsvp
from scheduling.engine.models import PlannedPost, PostState
from scheduling.forum.models import ForumOccurrence, ForumReply, ForumVote

LATE = timedelta(minutes=5)
MAX_CONVENINGS = 24  # the most recent past convenings in the range, for a readable chart
MAX_FORUMS = 24


def month_start(d: date) -> date:
    return d.replace(day=1)


def months(first: date, last: date) -> list[date]:
    out, m = [], month_start(first)
    while m <= last:
        out.append(m)
        m = (m.replace(day=28) + timedelta(days=4)).replace(day=1)
    return out


def label(m: date) -> str:
    return m.strftime("%b %Y")


def bounds(first: date, last: date, tz: str) -> tuple[datetime, datetime]:
    """The instants from the start of `first`'s month to the end of `last`'s, in the zone `tz`."""
    zone = ZoneInfo(tz)
    start = datetime.combine(month_start(first), time(), zone)
    end_month = months(last, last)[0]
    after = (end_month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start, datetime.combine(after, time(), zone)


def _bucket(when: datetime, tz: str) -> date:
    return month_start(when.astimezone(ZoneInfo(tz)).date())


def active_members(session: Session, start: datetime, end: datetime, tz: str, ms: list[date]) -> Chart:
    sources = [
        (Practice.author_id, Practice.created_at),
        (Endorsement.member_id, Endorsement.created_at),
        (ForumReply.member_id, ForumReply.created_at),
        (ForumVote.member_id, ForumVote.created_at),
        (Rsvp.member_id, Rsvp.answered_at),
        (ConveningAttendance.member_id, ConveningAttendance.recorded_at),
        (ResourceRating.member_id, ResourceRating.created_at),
    ]
    parts = [
        select(who.label("who"), at.label("at")).where(who.is_not(None), at >= start, at < end)  # type: ignore[union-attr]
        for who, at in sources
    ]
    union = union_all(*parts).subquery()
    seen: dict[date, set[int]] = defaultdict(set)
    for who, at in session.execute(select(union.c.who, union.c.at)):
        seen[_bucket(at, tz)].add(who)
    return Chart(
        "Members active per month",
        tuple(label(m) for m in ms),
        (Series("Active members", tuple(float(len(seen[m])) for m in ms)),),
        kind="line",
        unit="members",
        description="Distinct members who shared, endorsed, replied in a forum, voted, answered a "
        "convening, attended or rated a resource that month.",
    )


def forum_participation(session: Session, start: datetime, end: datetime, tz: str) -> Chart:
    rows = session.execute(
        select(col(ForumOccurrence.slot), func.count(func.distinct(col(ForumReply.member_id))))
        .select_from(ForumOccurrence)
        .join(ForumReply, col(ForumReply.occurrence_id) == col(ForumOccurrence.id), isouter=True)
        .where(col(ForumOccurrence.starts_at) >= start, col(ForumOccurrence.starts_at) < end)
        .where(col(ForumOccurrence.status) == "held")
        .group_by(col(ForumOccurrence.slot))
        .order_by(col(ForumOccurrence.slot))
    ).all()[-MAX_FORUMS:]
    return Chart(
        "Forum participation per occurrence",
        tuple(slot for slot, _ in rows),
        (Series("Members who replied", tuple(float(n) for _, n in rows)),),
        unit="members",
        description="Distinct members who replied in each open forum's thread.",
    )


def practices_by_framework(
    session: Session, start: datetime, end: datetime, tz: str, ms: list[date]
) -> Chart:
    rows = session.execute(
        select(col(Practice.id), col(Practice.created_at), col(PracticeLabel.value))
        .select_from(Practice)
        .join(
            PracticeLabel,
            and_(
                col(PracticeLabel.practice_id) == col(Practice.id),
                col(PracticeLabel.kind) == LabelKind.FRAMEWORK.value,
            ),
            isouter=True,
        )
        .where(col(Practice.created_at) >= start, col(Practice.created_at) < end)
    ).all()
    counts: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for _, at, framework in rows:
        counts[framework or "none"][_bucket(at, tz)] += 1
    names = sorted(n for n in counts if n != "none") + (["none"] if "none" in counts else [])
    return Chart(
        "Practices shared per month, by framework",
        tuple(label(m) for m in ms),
        tuple(Series(n, tuple(float(counts[n][m]) for m in ms)) for n in names)
        or (Series("Practices", tuple(0.0 for _ in ms)),),
        kind="stacked",
        unit="practices",
        description="Practices shared each month; one drawing on two frameworks counts under both.",
    )


def rsvps_and_attendance(session: Session, start: datetime, end: datetime, now: datetime, tz: str) -> Chart:
    going = (
        select(func.count())
        .where(col(Rsvp.convening_id) == col(Convening.id), col(Rsvp.answer) == Answer.GOING.value)
        .correlate(Convening)
        .scalar_subquery()
    )
    came = (
        select(func.count())
        .where(col(ConveningAttendance.convening_id) == col(Convening.id))
        .correlate(Convening)
        .scalar_subquery()
    )
    rows = session.execute(
        select(col(Convening.title), col(Convening.starts_at), going, came)
        .where(col(Convening.starts_at) >= start, col(Convening.starts_at) < min(end, now))
        .where(col(Convening.status) != "cancelled")
        .order_by(col(Convening.starts_at).desc())
        .limit(MAX_CONVENINGS)
    ).all()[::-1]
    zone = ZoneInfo(tz)
    return Chart(
        "Convenings: going against attending",
        tuple(f"{t} ({s.astimezone(zone):%d %b})" for t, s, _, _ in rows),
        (
            Series("Said going", tuple(float(g) for _, _, g, _ in rows)),
            Series("Attended", tuple(float(a) for _, _, _, a in rows)),
        ),
        unit="members",
        description="For each past convening: members whose answer is going, and members recorded as there.",
    )


def reminders(session: Session, start: datetime, end: datetime, tz: str, ms: list[date]) -> Chart:
    rows = session.execute(
        select(col(PlannedPost.due_at), col(PlannedPost.sent_at), col(PlannedPost.state))
        .where(col(PlannedPost.kind).contains("remind"))
        .where(col(PlannedPost.due_at) >= start, col(PlannedPost.due_at) < end)
        .where(
            col(PlannedPost.state).in_(
                [
                    PostState.SENT.value,
                    PostState.SKIPPED.value,
                    PostState.CANCELLED.value,
                    PostState.FORGOTTEN.value,
                    PostState.FAILED.value,
                ]
            )
        )
    ).all()
    kinds = ("Sent on time", "Sent late", "Dropped", "Failed")
    counts: dict[str, dict[date, int]] = {k: defaultdict(int) for k in kinds}
    for due, sent, state in rows:
        if state == PostState.SENT.value:
            kind = "Sent late" if sent is not None and sent - due > LATE else "Sent on time"
        elif state == PostState.FAILED.value:
            kind = "Failed"
        else:
            kind = "Dropped"
        counts[kind][_bucket(due, tz)] += 1
    return Chart(
        "Reminders sent, late, dropped and failed",
        tuple(label(m) for m in ms),
        tuple(Series(k, tuple(float(counts[k][m]) for m in ms)) for k in kinds),
        kind="stacked",
        unit="reminders",
        description="Reminders by the month they were due: sent on time, sent more than 5 minutes late "
        "(held through quiet hours or a pause), dropped (skipped, cancelled or forgotten) and failed.",
    )


def digest_useful(session: Session, start: datetime, end: datetime, tz: str, ms: list[date]) -> Chart:
    rated = exists(
        select(literal(1)).where(
            col(ResourceRating.resource_id) == col(DigestShown.resource_id),
            col(ResourceRating.created_at) >= col(DigestShown.shown_at),
        )
    )
    rows = session.execute(
        select(col(DigestShown.shown_at), rated).where(
            col(DigestShown.shown_at) >= start, col(DigestShown.shown_at) < end
        )
    ).all()
    shown: dict[date, int] = defaultdict(int)
    useful: dict[date, int] = defaultdict(int)
    for at, was_rated in rows:
        m = _bucket(at, tz)
        shown[m] += 1
        useful[m] += int(bool(was_rated))
    return Chart(
        "Digest items rated useful",
        tuple(label(m) for m in ms),
        (
            Series("Shown in the digest", tuple(float(shown[m]) for m in ms)),
            Series("Rated useful since", tuple(float(useful[m]) for m in ms)),
        ),
        unit="resources",
        description="Resources the digest presented each month, and how many members rated useful after.",
    )


def figures(session: Session, first: date, last: date, tz: str, now: datetime) -> list[Chart]:
    start, end = bounds(first, last, tz)
    ms = months(first, last)
    return [
        active_members(session, start, end, tz, ms),
        forum_participation(session, start, end, tz),
        practices_by_framework(session, start, end, tz, ms),
        rsvps_and_attendance(session, start, end, now, tz),
        reminders(session, start, end, tz, ms),
        digest_useful(session, start, end, tz, ms),
    ]


def as_csv(charts: Iterable[Chart]) -> bytes:
    """Every figure in one CSV: chart, label, series, value (one row per number)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["chart", "label", "series", "value"])
    for chart in charts:
        for series in chart.series:
            for name, value in zip(chart.labels, series.values, strict=False):
                writer.writerow([chart.title, name, series.name, int(value) if value.is_integer() else value])
    return out.getvalue().encode()
