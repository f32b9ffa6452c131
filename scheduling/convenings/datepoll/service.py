"""Finding a date: a coordinator proposes several slots, members of the network mark the ones that work,
the tally is shown in each reader's zone, and the coordinator confirms one. Confirming creates a
convening (scheduling.convenings.create, as `convening schedule` does), tells each voter
once by DM through the scheduler (key `datepoll:<id>:confirmed`) and closes the poll.

Plain functions on a session; the commands are in scheduling/convenings/datepoll/commands.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session, col

from bot.config import Settings
from bot.context import ensure_member
from bot.errors import ArgumentError, CommandError, NotAllowed, NotFound
from bot.messages import Member
from bot.networks import service as networks
from bot.networks.models import MembershipState, Network
from bot.store.db import delete_rows, unlink
from bot.store.models import MemberRecord
from bot.zones import zone_for, zone_of_record
from scheduling.convenings import service as svc
from scheduling.convenings.datepoll.models import DatePoll, DatePollMark, DatePollSlot, PollStatus
from scheduling.convenings.models import Convening
from scheduling.time.when import WhenError, parse_start, take_zone, zone_named

MAX_SLOTS = 10


def parse_slots(text: str, zone: str, now: datetime) -> list[datetime]:
    """`"2027-03-14 10:00; next Tuesday 2pm Central"` -> aware UTC starts, in the order given.
    A zone named in a slot wins over `zone`. Refuses an unreadable or past slot, naming it."""
    parts = [p.strip() for p in text.split(";") if p.strip()]
    if not 2 <= len(parts) <= MAX_SLOTS:
        raise ArgumentError(
            f"--slots: give 2 to {MAX_SLOTS} slots separated by ';', not {len(parts)}. "
            'Example: --slots "2027-03-14 10:00; 2027-03-16 14:00"',
            "slots",
        )
    starts: list[datetime] = []
    for i, part in enumerate(parts, 1):
        try:
            named = take_zone(part)[1]
            start = parse_start(part, named.key if named else zone, now)
        except WhenError as exc:
            raise ArgumentError(f"--slots: slot {i} ({part[:60]!r}): {exc}.", "slots") from None
        if start in starts:
            raise ArgumentError(
                f"--slots: slot {i} is the same time as slot {starts.index(start) + 1}.", "slots"
            )
        starts.append(start)
    return starts


def propose(
    session: Session,
    settings: Settings,
    network_ref: str,
    creator: Member,
    now: datetime,
    *,
    title: str,
    slots: str,
    tz: str,
    length: timedelta,
) -> tuple[DatePoll, Network]:
    network = networks.find(session, network_ref)
    if network.archived:
        raise CommandError(f"{network.name} is archived; it holds no new convenings.")
    try:
        zone = zone_named(tz).key if tz else zone_for(session, creator, settings.timezone)
    except WhenError as exc:
        raise ArgumentError(f"--tz: {exc}.", "tz") from None
    starts = parse_slots(slots, zone, now)
    record = ensure_member(session, creator)
    poll = DatePoll(
        network_id=network.id or 0,
        title=" ".join(title.split()),
        tz=zone,
        duration_minutes=int(length.total_seconds() // 60),
        created_by=record.id,
        created_at=now,
    )
    session.add(poll)
    session.flush()
    for i, start in enumerate(starts, 1):
        session.add(DatePollSlot(poll_id=poll.id or 0, position=i, starts_at=start))
    session.flush()
    return poll, network


def get(session: Session, poll_id: int, *, lock: bool = False) -> DatePoll:
    if lock:  # serialise marks and the confirmation (a row lock on PostgreSQL, the write lock on SQLite)
        session.execute(
            update(DatePoll)
            .where(col(DatePoll.id) == poll_id)
            .values(status=col(DatePoll.status))
            .execution_options(synchronize_session=False)
        )
    poll = (
        session.execute(
            select(DatePoll).where(col(DatePoll.id) == poll_id).execution_options(populate_existing=True)
        )
        .scalars()
        .first()
    )
    if poll is None:
        raise NotFound(f"There is no date poll {poll_id}.")
    return poll


def slots_of(session: Session, poll: DatePoll) -> list[DatePollSlot]:
    return list(
        session.execute(
            select(DatePollSlot)
            .where(col(DatePollSlot.poll_id) == poll.id)
            .order_by(col(DatePollSlot.position))
        ).scalars()
    )


def require_open(poll: DatePoll) -> None:
    if poll.status != PollStatus.OPEN.value:
        raise CommandError(
            f"Date poll {poll.id} ({poll.title}) is closed: a date was confirmed"
            + (f" (convening {poll.convening_id})." if poll.convening_id else ".")
        )


def parse_numbers(text: str, how_many: int) -> list[int]:
    """`1,3` -> [1, 3]; `none` -> []; each between 1 and `how_many`."""
    parts = [p.strip() for p in text.replace(" ", ",").split(",") if p.strip()]
    if [p.lower() for p in parts] == ["none"]:
        return []
    numbers = []
    for p in parts:
        if not p.isdigit() or not 1 <= int(p) <= how_many:
            raise ArgumentError(
                f"{p[:20]!r} is not a slot number: the slots are numbered 1 to {how_many}. "
                "Example: datepoll mark 4 1,3 (or none)",
                "slots",
            )
        numbers.append(int(p))
    if not numbers:
        raise ArgumentError("Say which slots work, e.g. 1,3 (or none).", "slots")
    return sorted(set(numbers))


def mark(
    session: Session, settings: Settings, poll_id: int, who: Member, text: str, now: datetime
) -> tuple[DatePoll, list[int]]:
    """Replace `who`'s marks on the poll with the slots numbered in `text`."""
    poll = get(session, poll_id, lock=True)
    require_open(poll)
    network = session.get(Network, poll.network_id)
    assert network is not None
    networks.require_inside(session, settings, network, who, "mark dates for its convenings")
    record = ensure_member(session, who)
    row = networks.membership(session, network, record)
    if (row is None or row.state != MembershipState.MEMBER.value) and not networks.is_coordinator(
        session, settings, network, who
    ):
        raise NotAllowed(
            f"Only members of {network.name} mark dates for its convenings. "
            f"Join with: network join {network.slug}"
        )
    slots = slots_of(session, poll)
    wanted = parse_numbers(text, len(slots))
    by_position = {s.position: s for s in slots}
    for old in session.execute(
        select(DatePollMark).where(
            col(DatePollMark.poll_id) == poll.id, col(DatePollMark.member_id) == record.id
        )
    ).scalars():
        session.delete(old)
    session.flush()
    for n in wanted:
        session.add(
            DatePollMark(
                poll_id=poll.id or 0, slot_id=by_position[n].id or 0, member_id=record.id or 0, marked_at=now
            )
        )
    session.flush()
    return poll, wanted


@dataclass
class Tally:
    poll: DatePoll
    network: Network
    slots: list[tuple[DatePollSlot, int, bool]]  # slot, how many marked it, whether the reader did
    voters: int


def tally(session: Session, settings: Settings, poll_id: int, reader: Member) -> Tally:
    poll = get(session, poll_id)
    network = session.get(Network, poll.network_id)
    assert network is not None
    networks.require_inside(session, settings, network, reader, "see the date polls of its convenings")
    record = networks.record_of(session, reader)
    marks = session.execute(select(DatePollMark).where(col(DatePollMark.poll_id) == poll.id)).scalars().all()
    rows = [
        (
            s,
            sum(1 for m in marks if m.slot_id == s.id),
            record is not None and any(m.slot_id == s.id and m.member_id == record.id for m in marks),
        )
        for s in slots_of(session, poll)
    ]
    return Tally(poll, network, rows, len({m.member_id for m in marks}))


def network_of(session: Session, poll_id: int) -> Network:
    """The network a poll is for (its coordinators decide it)."""
    network = session.get(Network, get(session, poll_id).network_id)
    assert network is not None
    return network


def confirm(
    session: Session, settings: Settings, poll_id: int, position: int, who: Member, now: datetime
) -> tuple[DatePoll, Convening, int]:
    """Create the convening at the chosen slot, tell each voter once by DM, close the poll."""
    poll = get(session, poll_id, lock=True)
    network = session.get(Network, poll.network_id)
    assert network is not None
    require_open(poll)
    slots = slots_of(session, poll)
    chosen = next((s for s in slots if s.position == position), None)
    if chosen is None:
        raise ArgumentError(
            f"Date poll {poll.id} has no slot {position}: its slots are numbered 1 to {len(slots)}. "
            f"See them with: datepoll show {poll.id}",
            "slot",
        )
    if chosen.starts_at <= now:
        raise CommandError(f"Slot {position} has already passed; confirm a later one.")
    conv = svc.create(
        session,
        network,
        who,
        now,
        title=poll.title,
        starts_at=chosen.starts_at,
        length=timedelta(minutes=poll.duration_minutes),
        tz=poll.tz,
    )
    poll.status, poll.convening_id, poll.closed_at = PollStatus.CONFIRMED.value, conv.id, now
    session.add(poll)
    session.flush()
    voters = (
        session.execute(
            select(MemberRecord)
            .where(
                col(MemberRecord.id).in_(
                    select(col(DatePollMark.member_id)).where(col(DatePollMark.poll_id) == poll.id)
                )
            )
            .order_by(col(MemberRecord.id))
        )
        .scalars()
        .all()
    )
    for record in voters:
        zone = zone_of_record(session, record.id or 0, settings.timezone)
        networks.tell(
            session,
            f"datepoll:{poll.id}:confirmed",
            now,
            (record.platform, record.user_id, record.workspace),
            f"The date for {conv.title} is set: {svc.when_for(conv, zone)}. "
            f"Will you come? convening rsvp {conv.id} going|maybe|no",
            [("Going", f"convening rsvp {conv.id} going"), ("Details", f"convening show {conv.id}")],
        )
    svc.tell_network(
        session,
        network,
        [conv],
        now,
        settings.timezone,
        leave_out={conv.created_by or 0, *(r.id or 0 for r in voters)},
    )
    return poll, conv, len(voters)


def export_member(session: Session, record: MemberRecord) -> list[dict[str, Any]]:
    rows = session.execute(
        select(DatePollMark, DatePollSlot, DatePoll)
        .join(DatePollSlot, col(DatePollSlot.id) == col(DatePollMark.slot_id))
        .join(DatePoll, col(DatePoll.id) == col(DatePollMark.poll_id))
        .where(col(DatePollMark.member_id) == record.id)
        .order_by(col(DatePoll.id), col(DatePollSlot.position))
    ).all()
    return [
        {
            "poll": p.id,
            "title": p.title,
            "slot": s.position,
            "starts_at": s.starts_at.isoformat(),
            "marked_at": m.marked_at.isoformat(),
        }
        for m, s, p in rows
    ]


def forget_member(session: Session, record: MemberRecord, now: datetime) -> int:
    """Marks go; polls they created stay, without their creator."""
    changed = delete_rows(session, col(DatePollMark.member_id), record.id)
    changed += unlink(session, col(DatePoll.created_by), record.id)
    session.flush()
    return changed
