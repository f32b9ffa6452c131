"""Convenings: scheduling, RSVPs with a first-come waitlist, change notices and reminders by DM.

Plain functions on a session (the commands are in scheduling/convenings/commands.py, the calendar files
and feeds in scheduling/convenings/calendar.py).

Seats: a "going" answer first locks the convening row (a no-op UPDATE: a row lock on PostgreSQL, the
write lock on SQLite), then counts the seats taken, so two members taking the last seat at once get one
seat and one waitlist place. A freed seat goes to the earliest waitlisted member, who is told by DM.

Reminders: one planned post per lead time and attendee, key `convening:<id>:remind:<lead>:<member_id>`,
for those going (and those who said maybe and asked for reminders). A lead in days or weeks is the same
wall-clock time that many days earlier in the convening's zone ("7d" before 10:00 Chicago is 10:00
Chicago a week earlier, across a DST change); a lead in hours or minutes is exact.
Quiet hours and opt-outs, the one rule of bot/members/dm_prefs.py: a member with DM reminders off gets
none. A reminder that falls in the member's quiet hours (their zone, else the community's) is moved to
the end of those quiet hours if that is still before the start, else dropped. The handler checks both
again when it sends, and then drops (does not move) a reminder that now falls in quiet hours.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, update
from sqlmodel import Session, col

from bot.context import ensure_member
from bot.errors import ArgumentError, CommandError, NotFound
from bot.members.dm_prefs import prefs_of
from bot.messages import Choice, Member, Reply
from bot.messenger import format_in_zone
from bot.networks.models import JoinPolicy, MembershipState, Network, NetworkMember
from bot.networks.service import member_records as network_members
from bot.networks.service import record_of, tell
from bot.store.db import contains_pattern, rowcount, unlink
from bot.store.models import MemberProfile, MemberRecord
from bot.zones import known_zone, zone_of_record
from scheduling.convenings import mirror as convening_mirror
from scheduling.convenings.models import (
    DEFAULT_LEADS,
    Answer,
    Convening,
    ConveningSeries,
    ConveningStatus,
    Rsvp,
)
from scheduling.engine import outbox
from scheduling.engine.models import PlannedPost, PostState
from scheduling.engine.notices import plan_dm
from scheduling.engine.runner import Delivery
from scheduling.time.calendar_files import stable_uid

_LEAD = re.compile(r"(\d{1,3})([wdhm])")
_UNIT = {"w": "week", "d": "day", "h": "hour", "m": "minute"}
REMIND = "convening.remind"
PLAN_REMINDERS = "convening.plan_reminders"  # a big convening's reminders, planned by the scheduler
IN_LINE = 1_000  # reminders planned within a command's own transaction; more go through PLAN_REMINDERS
BACKGROUND_PAGE = 20  # attendees whose reminders are planned per committed transaction in the background


def parse_leads(text: str) -> list[str]:
    """`7d,1d,1h` -> ["7d", "1d", "1h"]; each a number and w, d, h or m; at most 5, up to 8 weeks."""
    parts = [p.strip().lower() for p in text.split(",") if p.strip()]
    if parts == ["none"]:
        return []
    for p in parts:
        m = _LEAD.fullmatch(p)
        if not m or int(m[1]) == 0 or _span(p) > timedelta(weeks=8):
            raise ArgumentError(
                f"--leads: {p[:20]!r} is not a lead time like 7d, 1d, 2h or 30m (up to 8 weeks). "
                "Example: --leads 7d,1d,1h (or --leads none)",
                "leads",
            )
    if len(parts) > 5:
        raise ArgumentError("--leads: at most 5 lead times. Example: --leads 7d,1d,1h", "leads")
    return sorted(set(parts), key=_span, reverse=True)


def _span(lead: str) -> timedelta:
    n, unit = int(lead[:-1]), lead[-1]
    return {
        "w": timedelta(weeks=n),
        "d": timedelta(days=n),
        "h": timedelta(hours=n),
        "m": timedelta(minutes=n),
    }[unit]


def lead_text(lead: str) -> str:
    n = int(lead[:-1])
    return f"{n} {_UNIT[lead[-1]]}{'' if n == 1 else 's'}"


def lead_due(start: datetime, tz: str, lead: str) -> datetime:
    """When the reminder `lead` before `start` is due (see the module docstring for days vs hours)."""
    if lead[-1] in "hm":
        return start - _span(lead)
    zone = ZoneInfo(tz)
    wall = start.astimezone(zone).replace(tzinfo=None) - _span(lead)
    return wall.replace(tzinfo=zone).astimezone(start.tzinfo)


def get(session: Session, convening_id: int, *, lock: bool = False) -> Convening:
    if lock:  # a row lock (PostgreSQL) or the write lock (SQLite) until the transaction ends
        session.execute(
            update(Convening)
            .where(col(Convening.id) == convening_id)
            .values(sequence=col(Convening.sequence))
            .execution_options(synchronize_session=False)
        )
    conv = (
        session.execute(
            select(Convening)
            .where(col(Convening.id) == convening_id)
            .execution_options(populate_existing=True)
        )
        .scalars()
        .first()
    )
    if conv is None:
        raise NotFound(f"There is no convening {convening_id}. See upcoming ones with: convening list")
    return conv


def require_open(conv: Convening, now: datetime, doing: str) -> None:
    if conv.status == ConveningStatus.CANCELLED.value:
        raise CommandError(f"{conv.title} (convening {conv.id}) was cancelled; you cannot {doing} it.")
    if conv.starts_at <= now:
        raise CommandError(f"{conv.title} (convening {conv.id}) has already started; you cannot {doing} it.")


def touch(conv: Convening, now: datetime) -> None:
    conv.sequence += 1
    conv.updated_at = now


def seats_taken(session: Session, conv: Convening) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(Rsvp)
            .where(col(Rsvp.convening_id) == conv.id, col(Rsvp.answer) == Answer.GOING.value)
        ).scalar_one()
    )


def create(
    session: Session,
    network: Network,
    creator: Member,
    now: datetime,
    *,
    title: str,
    starts_at: datetime,
    length: timedelta,
    tz: str,
    place: str = "",
    capacity: int | None = None,
    agenda: str = "",
    leads: str = DEFAULT_LEADS,
    series_id: int | None = None,
) -> Convening:
    """The one way a convening is created (schedule, series, date polls): a stable calendar uid too."""
    if network.archived:
        raise CommandError(f"{network.name} is archived; it holds no new convenings.")
    record = ensure_member(session, creator)
    conv = Convening(
        network_id=network.id or 0,
        title=" ".join(title.split()),
        agenda=agenda.strip(),
        starts_at=starts_at,
        ends_at=starts_at + length,
        tz=tz,
        place=place.strip(),
        capacity=capacity,
        lead_times=leads,
        created_by=record.id,
        created_at=now,
        updated_at=now,
        series_id=series_id,
    )
    session.add(conv)
    session.flush()
    conv.uid = stable_uid("convening", conv.id or 0)
    session.add(conv)
    convening_mirror.plan_sync(session, conv, now)
    return conv


def tell_network(
    session: Session,
    network: Network,
    convs: list[Convening],
    now: datetime,
    community_tz: str,
    *,
    leave_out: Collection[int] = (),
) -> int:
    """Tell the network's members by DM that `convs` (one convening, or a series' occurrences) were
    scheduled, each in their own zone; not those in `leave_out` (member ids: the organiser, say), and
    as the reminders they are (bot/members/dm_prefs.py). Returns how many were told."""
    if not convs:
        return 0
    first = convs[0]
    told = 0
    for record in network_members(session, network):
        if record.id in leave_out:
            continue
        zone = zone_of_record(session, record.id or 0, community_tz)
        if len(convs) == 1:
            text = (
                f"New convening of {network.name}: {first.title}, {when_for(first, zone)}. "
                f"Will you come? convening rsvp {first.id} going|maybe|no"
            )
            choices = [
                ("Going", f"convening rsvp {first.id} going"),
                ("Details", f"convening show {first.id}"),
            ]
        else:
            text = (
                f"New series of convenings in {network.name}: {first.title}, {len(convs)} dates from "
                f"{when_for(first, zone)}. See them with: convening list {network.slug}"
            )
            choices = [("See them", f"convening list {network.slug}")]
        told += plan_dm(
            session,
            f"convening:{first.id}:scheduled:{record.id}",
            now,
            (record.platform, record.user_id, record.workspace),
            text,
            choices=choices,
            default_zone=community_tz,
            reminder=True,
            deadline=first.starts_at,
        )
    return told


def cancel_news(session: Session, conv: Convening) -> int:
    """Drop the news of `conv` still waiting for members' quiet hours to end (it was cancelled)."""
    return outbox.cancel(session, f"convening:{conv.id}:scheduled:")


def answer_counts(session: Session, conv: Convening) -> dict[str, int]:
    """How many answered each way (one grouped count, not the attendee rows)."""
    rows = (
        session.execute(
            select(col(Rsvp.answer), func.count())
            .where(col(Rsvp.convening_id) == conv.id)
            .group_by(col(Rsvp.answer))
        )
        .tuples()
        .all()
    )
    counts = {a.value: 0 for a in Answer}
    counts.update({answer: int(n) for answer, n in rows})
    return counts


def answer_of(session: Session, conv: Convening, member_id: int | None) -> str:
    row = session.execute(
        select(col(Rsvp.answer)).where(col(Rsvp.convening_id) == conv.id, col(Rsvp.member_id) == member_id)
    ).scalar()
    return row or ""


def rsvp(
    session: Session,
    convening_id: int,
    member: Member,
    answer: Answer,
    remind_maybe: bool,
    now: datetime,
    community_tz: str,
) -> tuple[Convening, Answer, list[MemberRecord]]:
    """Record an answer; returns the convening, the answer stored (going may become waitlist) and the
    members promoted from the waitlist by a seat this answer freed."""
    conv = get(session, convening_id, lock=True)
    require_open(conv, now, "answer")
    record = record_of(session, member, create=True)
    assert record is not None
    row = (
        session.execute(
            select(Rsvp).where(col(Rsvp.convening_id) == conv.id, col(Rsvp.member_id) == record.id)
        )
        .scalars()
        .first()
    )
    was = row.answer if row else None
    stored = answer
    if answer is Answer.GOING and was in (Answer.GOING.value, Answer.WAITLIST.value):
        stored = Answer(was)
    elif answer is Answer.GOING and conv.capacity is not None and seats_taken(session, conv) >= conv.capacity:
        stored = Answer.WAITLIST
    if row is None:
        row = Rsvp(convening_id=conv.id or 0, member_id=record.id or 0, answer=stored.value, answered_at=now)
    elif row.answer != stored.value:
        row.answer, row.answered_at = stored.value, now  # a new answer goes to the back of the waitlist
    row.remind_on_maybe = remind_maybe and stored is Answer.MAYBE
    session.add(row)
    session.flush()
    cancel_reminders(session, conv, [record.id or 0])
    plan_reminders(session, conv, now, community_tz, [record.id or 0])
    freed = was == Answer.GOING.value and stored is not Answer.GOING
    promoted = promote(session, conv, now, community_tz) if freed else []
    return conv, stored, promoted


def promote(session: Session, conv: Convening, now: datetime, community_tz: str) -> list[MemberRecord]:
    """Give free seats to the waitlist, first come first served; each promoted member is told by DM."""
    free = None if conv.capacity is None else conv.capacity - seats_taken(session, conv)
    rows = session.execute(
        select(Rsvp, MemberRecord)
        .join(MemberRecord, col(MemberRecord.id) == col(Rsvp.member_id))
        .where(col(Rsvp.convening_id) == conv.id, col(Rsvp.answer) == Answer.WAITLIST.value)
        .order_by(col(Rsvp.answered_at), col(Rsvp.id))
    ).all()
    promoted = []
    for row, record in rows[:free]:
        row.answer = Answer.GOING.value
        session.add(row)
        promoted.append(record)
        zone = zone_of_record(session, record.id or 0, community_tz)
        tell(
            session,
            f"convening:{conv.id}:promoted:{record.id}:{now.isoformat()}",
            now,
            (record.platform, record.user_id, record.workspace),
            f"A seat opened: you are now going to {conv.title}, {when_for(conv, zone)}. "
            f"Can't make it? convening rsvp {conv.id} no",
            [("Details", f"convening show {conv.id}")],
        )
    session.flush()
    if promoted:
        plan_reminders(session, conv, now, community_tz, [r.id or 0 for r in promoted])
    return promoted


def when_for(conv: Convening, zone: str, start: datetime | None = None) -> str:
    """A start in the reader's zone, the zone named: 'Sun 14 Mar 2027, 08:00 PDT (America/Los_Angeles)'."""
    return f"{format_in_zone(start or conv.starts_at, zone)} ({zone})"


def attendees(
    session: Session, conv: Convening, answers: tuple[str, ...], member_ids: Collection[int] | None = None
) -> list[tuple[Rsvp, MemberRecord, MemberProfile | None]]:
    query = (
        select(Rsvp, MemberRecord, MemberProfile)
        .join(MemberRecord, col(MemberRecord.id) == col(Rsvp.member_id))
        .outerjoin(MemberProfile, col(MemberProfile.member_id) == col(Rsvp.member_id))
        .where(col(Rsvp.convening_id) == conv.id, col(Rsvp.answer).in_(answers))
        .order_by(col(Rsvp.answered_at), col(Rsvp.id))
    )
    if member_ids is not None:
        query = query.where(col(Rsvp.member_id).in_(list(member_ids)))
    rows = session.execute(query).all()
    return [(r, m, p) for r, m, p in rows]


def reminder_key(conv: Convening, lead: str, member_id: int) -> str:
    return f"convening:{conv.id}:remind:{lead}:{member_id}"


def plan_reminders(
    session: Session, conv: Convening, now: datetime, community_tz: str, member_ids: list[int] | None = None
) -> int:
    """Plan each wanted reminder (bulk, exactly once per key) for the attendees (or only `member_ids`).
    Up to IN_LINE reminders are planned in the caller's transaction; a bigger plan (a convening of
    thousands moved, or its reminder times changed) is handed to the scheduler as one durable post
    (PLAN_REMINDERS) that plans them in committed chunks, so no command waits on one long transaction,
    and a crash midway only means the post is taken up again (planning is idempotent). Returns how many
    reminders are wanted."""
    plans = reminder_plans(session, conv, now, community_tz, member_ids)
    if len(plans) <= IN_LINE:
        outbox.plan_many(session, plans)
        return len(plans)
    outbox.plan(
        session,
        key=f"convening:{conv.id}:plan-reminders:{uuid.uuid4().hex[:12]}",
        kind=PLAN_REMINDERS,
        due_at=now,
        expires_at=max(now, conv.starts_at),
        payload={"convening_id": conv.id, "member_ids": member_ids},
    )
    return len(plans)


def reminder_plans(
    session: Session, conv: Convening, now: datetime, community_tz: str, member_ids: list[int] | None = None
) -> list[outbox.Plan]:
    """The reminders wanted now for the attendees (or only `member_ids`), one Plan per member and lead."""
    if conv.status != ConveningStatus.SCHEDULED.value:
        return []
    leads = parse_leads(conv.lead_times)
    rows = attendees(session, conv, (Answer.GOING.value, Answer.MAYBE.value), member_ids)
    plans = []
    for r, record, profile in rows:
        prefs = prefs_of(profile, community_tz)
        if r.answer == Answer.MAYBE.value and not r.remind_on_maybe or not prefs.reminders:
            continue
        for lead in leads:
            due = prefs.next_open(lead_due(conv.starts_at, conv.tz, lead), conv.starts_at)
            if due is None or due <= now:
                continue
            plans.append(
                outbox.Plan(
                    reminder_key(conv, lead, record.id or 0),
                    REMIND,
                    due,
                    conv.starts_at,
                    {"convening_id": conv.id, "member_id": record.id, "lead": lead},
                )
            )
    return plans


def cancel_reminders(session: Session, conv: Convening, member_ids: list[int] | None = None) -> int:
    """Cancel pending reminders: all of the convening's, or only those of `member_ids` (exact keys)."""
    if member_ids is None:
        return outbox.cancel(session, f"convening:{conv.id}:remind:")
    keys = [reminder_key(conv, lead, m) for m in member_ids for lead in parse_leads(conv.lead_times)]
    if not keys:
        return 0
    result = session.execute(
        update(PlannedPost)
        .where(col(PlannedPost.key).in_(keys), col(PlannedPost.state) == PostState.PENDING.value)
        .values(state=PostState.CANCELLED.value)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


def notify_attendees(
    session: Session, conv: Convening, now: datetime, community_tz: str, what: str, compose: Any
) -> int:
    """One DM to each member going, maybe or waitlisted; `compose(zone)` writes it in the reader's zone."""
    told = 0
    for _, record, profile in attendees(
        session, conv, (Answer.GOING.value, Answer.MAYBE.value, Answer.WAITLIST.value)
    ):
        zone = (profile.zone if profile else None) or community_tz
        tell(
            session,
            f"convening:{conv.id}:{what}:{conv.sequence}",
            now,
            (record.platform, record.user_id, record.workspace),
            compose(zone),
            [("Details", f"convening show {conv.id}")],
        )
        told += 1
    return told


async def on_remind(d: Delivery) -> dict[str, Any]:
    p = d.post.payload

    def read(session: Session) -> tuple[Convening | None, MemberRecord | None, str, str]:
        conv = session.get(Convening, p["convening_id"])
        record = session.get(MemberRecord, p["member_id"])
        if conv is None or record is None:
            return None, None, "", "gone"
        prefs = prefs_of(session.get(MemberProfile, record.id), d.settings.timezone)
        row = (
            session.execute(
                select(Rsvp).where(col(Rsvp.convening_id) == conv.id, col(Rsvp.member_id) == record.id)
            )
            .scalars()
            .first()
        )
        why = (
            "cancelled"
            if conv.status != ConveningStatus.SCHEDULED.value
            else "no longer attending"
            if row is None or row.answer not in ("going", "maybe")
            else "reminders off"
            if not prefs.reminders
            else "quiet hours"
            if prefs.is_quiet(d.now)
            else ""
        )
        return conv, record, prefs.zone, why

    conv, record, zone, why = await d.store.run(read)
    if why or conv is None or record is None:
        return {"not_sent": why}
    text = f"Reminder: {conv.title} starts in {lead_text(p['lead'])}, {when_for(conv, zone)}." + (
        f" Where: {conv.place}." if conv.place else ""
    )
    posted = await d.messenger(record.platform).send_dm(
        record.user_id,
        Reply(
            text,
            choices=(
                Choice("Details", f"convening show {conv.id}"),
                Choice("Can't go", f"convening rsvp {conv.id} no"),
            ),
        ),
        workspace=record.workspace,
    )
    return {"message_id": posted.message_id}


async def on_plan_reminders(d: Delivery) -> dict[str, Any]:
    """A big convening's reminders, from the convening and its answers as they are now, planned a page of
    BACKGROUND_PAGE attendees at a time: each page read and planned in one short committed transaction,
    then a rest as long as the page took (outbox.plan_in_chunks's `pause`), so commands arriving meanwhile
    keep the database and the interpreter. Planning is idempotent, so a retry after a crash redoes
    nothing twice."""
    p = d.post.payload
    wanted = p.get("member_ids")

    def who(session: Session) -> list[int]:
        conv = session.get(Convening, p["convening_id"])
        if conv is None:
            return []
        ids = session.execute(
            select(col(Rsvp.member_id))
            .where(col(Rsvp.convening_id) == conv.id, col(Rsvp.answer).in_(("going", "maybe")))
            .order_by(col(Rsvp.member_id))
        ).scalars()
        keep = None if wanted is None else set(wanted)
        return [i for i in ids if keep is None or i in keep]

    def page(session: Session, ids: list[int]) -> tuple[int, int]:
        conv = session.get(Convening, p["convening_id"])
        if conv is None:
            return 0, 0
        plans = reminder_plans(session, conv, d.now, d.settings.timezone, ids)
        return len(plans), outbox.plan_many(session, plans)

    ids = await d.store.run(who)
    planned = new = 0
    for i in range(0, len(ids), BACKGROUND_PAGE):
        started = time.perf_counter()
        n, added = await d.store.run(lambda s, part=ids[i : i + BACKGROUND_PAGE]: page(s, part))
        planned, new = planned + n, new + added
        await asyncio.sleep(time.perf_counter() - started)  # commands first
    d.scheduler.wake()
    return {"planned": planned, "new": new}


POSTS = {REMIND: on_remind, PLAN_REMINDERS: on_plan_reminders}


def export_member(session: Session, record: MemberRecord) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Rsvp, Convening)
        .join(Convening, col(Convening.id) == col(Rsvp.convening_id))
        .where(col(Rsvp.member_id) == record.id)
        .order_by(col(Convening.starts_at))
    ).all()
    return [
        {
            "convening": c.id,
            "title": c.title,
            "starts_at": c.starts_at.isoformat(),
            "answer": r.answer,
            "remind_on_maybe": r.remind_on_maybe,
            "answered_at": r.answered_at.isoformat(),
        }
        for r, c in rows
    ]


def forget_member(session: Session, record: MemberRecord, now: datetime) -> int:
    """Answers go (their seats go to the waitlist, their reminders are cancelled); convenings they
    scheduled and series they started stay, without their creator."""
    from scheduling.convenings.calendar import forget_tokens

    changed = forget_tokens(session, "member", record.id or 0)
    for row in session.execute(select(Rsvp).where(col(Rsvp.member_id) == record.id)).scalars().all():
        conv = session.get(Convening, row.convening_id)
        session.delete(row)
        session.flush()
        changed += 1
        if conv is not None:
            cancel_reminders(session, conv, [record.id or 0])
            if row.answer == Answer.GOING.value and conv.status == ConveningStatus.SCHEDULED.value:
                promote(session, conv, now, conv.tz)
    changed += unlink(session, col(Convening.created_by), record.id)
    changed += unlink(session, col(ConveningSeries.created_by), record.id)
    session.flush()
    return changed


def suggest_convenings(
    session: Session, prefix: str, member: Member, now: datetime, limit: int
) -> list[tuple[str, str]]:
    """Scheduled convenings not yet over, by number or title, the soonest first (autocomplete); a closed
    network's only to its members."""
    record = record_of(session, member)
    mine = select(col(NetworkMember.network_id)).where(
        col(NetworkMember.member_id) == (record.id if record else -1),
        col(NetworkMember.state) == MembershipState.MEMBER.value,
    )
    query = (
        select(Convening)
        .join(Network, col(Network.id) == col(Convening.network_id))
        .where(
            col(Convening.status) == ConveningStatus.SCHEDULED.value,
            col(Convening.ends_at) > now,
            or_(col(Network.join_policy) == JoinPolicy.OPEN.value, col(Network.id).in_(mine)),
        )
    )
    text = prefix.strip().lstrip("#")
    if text.isdigit():
        query = query.where(col(Convening.id) == int(text))
    elif text:
        query = query.where(col(Convening.title).ilike(contains_pattern(text), escape="\\"))
    rows = session.execute(query.order_by(col(Convening.starts_at)).limit(limit)).scalars()
    reader = known_zone(session, member)  # else each convening's own zone, as its notices say
    return [(f"{c.id}: {c.title} ({format_in_zone(c.starts_at, reader or c.tz)})", str(c.id)) for c in rows]


def network_of(session: Session, convening: int) -> Network:
    """The network a convening belongs to (its coordinators manage it)."""
    network = session.get(Network, get(session, convening).network_id)
    assert network is not None
    return network
