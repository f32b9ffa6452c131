"""Peer introductions (issue 4 §9): opt-in per network, rounds planned by a network coordinator.

A round plans three posts through the outbox (keys `intro:<round>:<step>`): the announcement a day
before (each opted-in member may `intro skip <round>`), the pairing at the round's time, and a
follow-up a week later asking whether they met. Each handler plans its DMs with `plan_dm`, keyed
per round and recipient, so every DM goes out exactly once even if a handler runs twice, and each
follows the member's DM choices (bot/members/dm_prefs.py): all wait for the end of their quiet hours;
the announcement and the follow-up are reminders, not sent to a member with reminders off; the
introduction itself is what they joined for, and is sent (its partners are counting on it).

`pair_members` is the pure rule: no pair that was paired in the last RECENT_ROUNDS rounds, working
hours (09:00-17:00 local, in each member's zone) overlapping by at least an hour, an odd member joins a
trio, and the result is deterministic for a given seed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session, col

from bot.config import Settings
from bot.context import ensure_member
from bot.errors import CommandError, NotAllowed, NotFound
from bot.messages import Member, mention
from bot.messenger import DeliveryError, time_mark
from bot.networks import service as networks
from bot.networks.models import MembershipState, Network, NetworkMember
from bot.store.db import delete_rows, unlink
from bot.store.models import MemberProfile, MemberRecord
from bot.zones import zone_of_record
from scheduling.engine import outbox
from scheduling.engine.notices import plan_dm
from scheduling.engine.runner import Delivery
from scheduling.introductions.models import (
    IntroOptIn,
    IntroPairing,
    IntroPairingMember,
    IntroRound,
    IntroSkip,
    RoundState,
)

RECENT_ROUNDS = 3
WORK_START, WORK_END = time(9, 0), time(17, 0)
MIN_OVERLAP = timedelta(hours=1)
FOLLOW_UP_AFTER = timedelta(days=7)
ANNOUNCE_BEFORE = timedelta(days=1)


# ---- the pure rule ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    member_id: int
    tz: str


def working_windows(tz: str, around: datetime) -> list[tuple[datetime, datetime]]:
    """The member's 09:00-17:00 local on the days around `around`, as UTC intervals (DST-correct)."""
    zone = ZoneInfo(tz)
    day = around.astimezone(zone).date()
    out = []
    for delta in (-1, 0, 1):
        d = day + timedelta(days=delta)
        start = datetime.combine(d, WORK_START, zone).astimezone(UTC)
        end = datetime.combine(d, WORK_END, zone).astimezone(UTC)
        out.append((start, end))
    return out


def overlap(a: str, b: str, at: datetime) -> timedelta:
    """The longest stretch in which both members are in their working hours, near `at`."""
    best = timedelta(0)
    for s1, e1 in working_windows(a, at):
        for s2, e2 in working_windows(b, at):
            best = max(best, min(e1, e2) - max(s1, s2))
    return best


def recent_pairs(
    history: Sequence[Sequence[tuple[int, ...]]], rounds: int = RECENT_ROUNDS
) -> set[frozenset[int]]:
    """Every two members who were in one group in the last `rounds` rounds (history: oldest first)."""
    seen: set[frozenset[int]] = set()
    for groups in list(history)[-rounds:] if rounds else []:
        for group in groups:
            for i, a in enumerate(group):
                for b in group[i + 1 :]:
                    seen.add(frozenset((a, b)))
    return seen


def pair_members(
    members: Sequence[Candidate],
    history: Sequence[Sequence[tuple[int, ...]]],
    now: datetime,
    *,
    seed: int = 0,
) -> list[tuple[int, ...]]:
    """Groups of 2 (one of 3 when the count is odd) among `members`; members with no possible partner
    are left out (the caller tells them: see `unpaired`). `history` is the groups of earlier rounds,
    oldest first; `now` is the round's time (for DST)."""
    recent = recent_pairs(history)
    zones = {m.member_id: m.tz for m in members}
    ids = sorted(zones)

    def fits(a: int, b: int) -> bool:
        return a != b and frozenset((a, b)) not in recent and overlap(zones[a], zones[b], now) >= MIN_OVERLAP

    options = {a: {b for b in ids if fits(a, b)} for a in ids}
    order = ids[:]
    random.Random(seed).shuffle(order)
    rank = {m: i for i, m in enumerate(order)}
    free = set(ids)
    groups: list[list[int]] = []
    # The hardest to place first: fewest possible partners among those still free; the seed breaks ties.
    while True:
        placeable = [m for m in free if options[m] & free]
        if not placeable:
            break
        a = min(placeable, key=lambda m: (len(options[m] & free), rank[m]))
        b = min(options[a] & free, key=lambda m: (len(options[m] & free), rank[m]))
        groups.append([a, b])
        free -= {a, b}
    # Whoever is left joins a pair that suits both of its members (an odd member makes a trio).
    for m in sorted(free, key=lambda m: rank[m]):
        for g in sorted((g for g in groups if len(g) == 2), key=lambda g: min(rank[x] for x in g)):
            if all(x in options[m] for x in g):
                g.append(m)
                break
    return [tuple(sorted(g)) for g in groups]


def unpaired(members: Sequence[Candidate], groups: Sequence[tuple[int, ...]]) -> list[int]:
    placed = {m for g in groups for m in g}
    return sorted(m.member_id for m in members if m.member_id not in placed)


# ---- the service -------------------------------------------------------------------------------------


def _require_member(session: Session, network: Network, record: MemberRecord) -> None:
    row = networks.membership(session, network, record)
    if row is None or row.state != MembershipState.MEMBER.value:
        raise NotAllowed(
            f"Introductions in {network.name} are for its members. Join first: network join {network.slug}"
        )


def _opt_in_row(session: Session, network: Network, record: MemberRecord) -> IntroOptIn | None:
    return (
        session.execute(
            select(IntroOptIn).where(
                col(IntroOptIn.network_id) == network.id, col(IntroOptIn.member_id) == record.id
            )
        )
        .scalars()
        .first()
    )


def join(session: Session, network: Network, member: Member) -> None:
    record = ensure_member(session, member)
    _require_member(session, network, record)
    if _opt_in_row(session, network, record) is not None:
        raise CommandError(
            f"You are already in the introductions of {network.name}. "
            f"To leave them: intro leave {network.slug}"
        )
    session.add(IntroOptIn(network_id=network.id or 0, member_id=record.id or 0))
    session.flush()


def leave(session: Session, network: Network, member: Member) -> None:
    record = networks.record_of(session, member)
    row = _opt_in_row(session, network, record) if record is not None else None
    if row is None:
        raise CommandError(f"You are not in the introductions of {network.name}; there is nothing to leave.")
    session.delete(row)


def get_round(session: Session, round_id: int) -> tuple[IntroRound, Network]:
    rnd = session.get(IntroRound, round_id)
    network = session.get(Network, rnd.network_id) if rnd is not None else None
    if rnd is None or network is None:
        raise NotFound(
            f"There is no introduction round {round_id}. See a network's rounds with: intro status <network>"
        )
    return rnd, network


def round_keys(round_id: int) -> dict[str, str]:
    return {step: f"intro:{round_id}:{step}" for step in ("announce", "pair", "follow-up")}


def schedule_round(
    session: Session, settings: Settings, network: Network, member: Member, at: datetime, now: datetime
) -> IntroRound:
    """A coordinator plans a round at `at` (aware, in the future): announcement a day before (now, if
    that has passed), pairing at `at`, follow-up a week later. Only its coordinators ask for one
    (`intro round` is declared for them)."""
    if network.archived:
        raise CommandError(f"{network.name} is archived; it has no more introduction rounds.")
    if at <= now:
        raise CommandError(
            'A round cannot be in the past. Example: intro round <network> --on "2027-03-14 09:00"'
        )
    record = ensure_member(session, member)
    rnd = IntroRound(network_id=network.id or 0, scheduled_for=at, created_by=record.id)
    session.add(rnd)
    session.flush()
    keys = round_keys(rnd.id or 0)
    payload = {"round_id": rnd.id}
    announce = max(now, at - ANNOUNCE_BEFORE)
    follow = at + FOLLOW_UP_AFTER
    outbox.plan_many(
        session,
        [
            outbox.Plan(keys["announce"], "intro.announce", announce, at, payload),
            outbox.Plan(keys["pair"], "intro.pair", at, at + timedelta(days=1), payload),
            outbox.Plan(keys["follow-up"], "intro.follow_up", follow, follow + timedelta(days=2), payload),
        ],
    )
    return rnd


def participants(session: Session, rnd: IntroRound) -> list[MemberRecord]:
    """Opted-in members who are still members of the network, minus those who skipped this round."""
    skipped = select(col(IntroSkip.member_id)).where(col(IntroSkip.round_id) == rnd.id)
    rows = (
        session.execute(
            select(MemberRecord)
            .join(IntroOptIn, col(IntroOptIn.member_id) == col(MemberRecord.id))
            .join(
                NetworkMember,
                (col(NetworkMember.member_id) == col(MemberRecord.id))
                & (col(NetworkMember.network_id) == col(IntroOptIn.network_id)),
            )
            .where(
                col(IntroOptIn.network_id) == rnd.network_id,
                col(NetworkMember.state) == MembershipState.MEMBER.value,
                col(MemberRecord.id).not_in(skipped),
            )
            .order_by(col(MemberRecord.id))
        )
        .scalars()
        .all()
    )
    return list(rows)


def skip(session: Session, round_id: int, member: Member, now: datetime) -> IntroRound:
    rnd, network = get_round(session, round_id)
    record = ensure_member(session, member)
    if _opt_in_row(session, network, record) is None:
        raise CommandError(
            f"You are not in the introductions of {network.name}, so there is nothing to skip."
        )
    if rnd.state != RoundState.ANNOUNCED.value or _utc(rnd.scheduled_for) <= now:
        raise CommandError(
            f"Round {rnd.id} was due {time_mark(rnd.scheduled_for)}; it is too late to skip it. "
            f"See the coming rounds with: intro status {network.slug}"
        )
    found = (
        session.execute(
            select(IntroSkip).where(col(IntroSkip.round_id) == rnd.id, col(IntroSkip.member_id) == record.id)
        )
        .scalars()
        .first()
    )
    if found is not None:
        raise CommandError(f"You already skip round {rnd.id}.")
    session.add(IntroSkip(round_id=rnd.id or 0, member_id=record.id or 0))
    session.flush()
    return rnd


def answer_met(session: Session, pairing_id: int, member: Member, met: bool, now: datetime) -> list[str]:
    """Record the member's answer; returns the names of the others in the pairing."""
    record = networks.record_of(session, member)
    rows = (
        session.execute(select(IntroPairingMember).where(col(IntroPairingMember.pairing_id) == pairing_id))
        .scalars()
        .all()
    )
    mine = next((r for r in rows if record is not None and r.member_id == record.id), None)
    if mine is None:
        raise NotFound(
            f"You are not in introduction {pairing_id}. Your introductions: intro status <network>"
        )
    mine.met, mine.answered_at = met, now
    session.add(mine)
    return [_name(session, r.member_id) for r in rows if r.member_id != mine.member_id]


def _name(session: Session, member_id: int) -> str:
    record = session.get(MemberRecord, member_id)
    return mention(record.as_member()) if record else "a former member"


def history(session: Session, network_id: int, before_round: IntroRound) -> list[list[tuple[int, ...]]]:
    """The groups of the network's last RECENT_ROUNDS paired rounds before this one, oldest first."""
    rounds = (
        session.execute(
            select(IntroRound)
            .where(
                col(IntroRound.network_id) == network_id,
                col(IntroRound.id) != before_round.id,
                col(IntroRound.state).in_([RoundState.PAIRED.value, RoundState.DONE.value]),
                col(IntroRound.scheduled_for) <= before_round.scheduled_for,
            )
            .order_by(col(IntroRound.scheduled_for).desc(), col(IntroRound.id).desc())
            .limit(RECENT_ROUNDS)
        )
        .scalars()
        .all()
    )
    out = []
    for rnd in reversed(rounds):
        out.append(list(groups_of(session, rnd.id or 0).values()))
    return out


def groups_of(session: Session, round_id: int) -> dict[int, tuple[int, ...]]:
    rows = session.execute(
        select(col(IntroPairingMember.pairing_id), col(IntroPairingMember.member_id))
        .join(IntroPairing, col(IntroPairing.id) == col(IntroPairingMember.pairing_id))
        .where(col(IntroPairing.round_id) == round_id)
        .order_by(col(IntroPairingMember.pairing_id), col(IntroPairingMember.member_id))
    ).all()
    groups: dict[int, list[int]] = {}
    for pid, mid in rows:
        groups.setdefault(pid, []).append(mid)
    return {pid: tuple(ms) for pid, ms in groups.items()}


@dataclass
class Status:
    network: Network
    opted_in: bool
    count: int
    upcoming: list[tuple[IntroRound, bool]]  # round, whether you skip it
    mine: list[tuple[int, list[str], bool | None]]  # pairing id, partners, your answer


def status(session: Session, network: Network, member: Member, now: datetime) -> Status:
    """Whether the member takes part, the rounds still ahead (a round whose time has come is being paired,
    or was missed: it is not offered to skip) and their latest introductions."""
    record = networks.record_of(session, member)
    opted = record is not None and _opt_in_row(session, network, record) is not None
    count = len(
        session.execute(select(col(IntroOptIn.id)).where(col(IntroOptIn.network_id) == network.id)).all()
    )
    rounds = (
        session.execute(
            select(IntroRound)
            .where(
                col(IntroRound.network_id) == network.id,
                col(IntroRound.state) == RoundState.ANNOUNCED.value,
                col(IntroRound.scheduled_for) > now,
            )
            .order_by(col(IntroRound.scheduled_for))
        )
        .scalars()
        .all()
    )
    skips = set(
        session.execute(
            select(col(IntroSkip.round_id)).where(col(IntroSkip.member_id) == (record.id if record else -1))
        ).scalars()
    )
    mine = []
    if record is not None:
        rows = (
            session.execute(
                select(IntroPairingMember)
                .join(IntroPairing, col(IntroPairing.id) == col(IntroPairingMember.pairing_id))
                .join(IntroRound, col(IntroRound.id) == col(IntroPairing.round_id))
                .where(
                    col(IntroPairingMember.member_id) == record.id, col(IntroRound.network_id) == network.id
                )
                .order_by(col(IntroPairing.id).desc())
                .limit(5)
            )
            .scalars()
            .all()
        )
        for r in rows:
            others = [
                _name(session, mid) for mid in groups_of_pairing(session, r.pairing_id) if mid != record.id
            ]
            mine.append((r.pairing_id, others, r.met))
    return Status(network, opted, count, [(r, (r.id in skips)) for r in rounds], mine)


def groups_of_pairing(session: Session, pairing_id: int) -> list[int]:
    return list(
        session.execute(
            select(col(IntroPairingMember.member_id))
            .where(col(IntroPairingMember.pairing_id) == pairing_id)
            .order_by(col(IntroPairingMember.member_id))
        ).scalars()
    )


# ---- the handlers -----------------------------------------------------------------------------------


def _utc(dt: datetime) -> datetime:
    """A stored instant as aware UTC (SQLite gives these columns back without their zone)."""
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def _to(record: MemberRecord) -> tuple[str, str]:
    return record.platform, record.user_id


def _load_round(session: Session, d: Delivery) -> tuple[IntroRound, Network]:
    rnd = session.get(IntroRound, d.post.payload["round_id"])
    network = session.get(Network, rnd.network_id) if rnd is not None else None
    if rnd is None or network is None:
        raise DeliveryError("this introduction round no longer exists", retryable=False)
    return rnd, network


async def on_announce(d: Delivery) -> dict[str, Any]:
    def apply(session: Session) -> int:
        rnd, network = _load_round(session, d)
        if rnd.state != RoundState.ANNOUNCED.value:
            return 0
        people = participants(session, rnd)
        for record in people:
            zone = zone_of_record(session, record.id or 0, d.settings.timezone)
            when = networks_local(rnd.scheduled_for, zone)
            text = (
                f"Peer introductions in {network.name}: you will be introduced tomorrow ({when}) to another "
                f"member whose working hours overlap yours. To sit this one out: intro skip {rnd.id}"
            )
            plan_dm(
                session,
                f"intro:{rnd.id}:announce:{record.id}",
                d.now,
                _to(record),
                text,
                choices=[("Skip this round", f"intro skip {rnd.id}")],
                default_zone=d.settings.timezone,
                reminder=True,
                deadline=_utc(rnd.scheduled_for),
            )
        return len(people)

    told = await d.store.run(apply)
    d.scheduler.wake()
    return {"told": told}


def networks_local(dt: datetime, zone: str) -> str:
    from bot.messenger import format_in_zone

    return format_in_zone(dt, zone)


def _hours(zone: str, reader_zone: str, at: datetime) -> str:
    """`09:00-17:00 Asia/Dubai`, and what that is for the reader when their zone differs."""
    text = f"09:00-17:00 {zone}"
    if zone != reader_zone:
        day = at.astimezone(ZoneInfo(zone)).date()
        start = datetime.combine(day, WORK_START, ZoneInfo(zone)).astimezone(ZoneInfo(reader_zone))
        end = datetime.combine(day, WORK_END, ZoneInfo(zone)).astimezone(ZoneInfo(reader_zone))
        text += f" ({start:%H:%M}-{end:%H:%M} your time)"
    return text


def _describe(session: Session, member_id: int, reader_zone: str, default_zone: str, at: datetime) -> str:
    record = session.get(MemberRecord, member_id)
    profile = session.get(MemberProfile, member_id)
    name = mention(record.as_member()) if record else "a former member"
    work = [x for x in ((profile.role_title, profile.organisation) if profile else ()) if x]
    zone = profile.zone if profile and profile.zone else default_zone
    return f"{name}" + (f" ({', '.join(work)})" if work else "") + f", works {_hours(zone, reader_zone, at)}"


async def on_pair(d: Delivery) -> dict[str, Any]:
    tz = d.settings.timezone

    def apply(session: Session) -> dict[str, Any]:
        rnd, network = _load_round(session, d)
        if rnd.state != RoundState.ANNOUNCED.value:
            return {"already": rnd.state}
        people = {r.id or 0: r for r in participants(session, rnd)}
        candidates = [Candidate(mid, zone_of_record(session, mid, tz)) for mid in sorted(people)]
        groups = pair_members(
            candidates, history(session, rnd.network_id, rnd), rnd.scheduled_for, seed=rnd.id or 0
        )
        for group in groups:
            pairing = IntroPairing(round_id=rnd.id or 0)
            session.add(pairing)
            session.flush()
            for mid in group:
                session.add(IntroPairingMember(pairing_id=pairing.id or 0, member_id=mid))
            for mid in group:
                reader = zone_of_record(session, mid, tz)
                others = "\n".join(
                    "- " + _describe(session, o, reader, tz, rnd.scheduled_for) for o in group if o != mid
                )
                text = (
                    f"Peer introductions in {network.name}: meet\n{others}\n"
                    "Say hello and find half an hour that suits you all. In a week I'll ask whether you met."
                )
                plan_dm(
                    session,
                    f"intro:{rnd.id}:pair:{mid}",
                    d.now,
                    _to(people[mid]),
                    text,
                    default_zone=tz,
                    reminder=False,
                )
        left = unpaired(candidates, groups)
        for mid in left:
            text = (
                f"Peer introductions in {network.name}: this round there was nobody whose working hours "
                "overlap yours and whom you have not met recently, so you are not introduced this time. "
                "You stay in for the next round."
            )
            plan_dm(
                session,
                f"intro:{rnd.id}:pair:{mid}",
                d.now,
                _to(people[mid]),
                text,
                default_zone=tz,
                reminder=False,
            )
        rnd.state = RoundState.PAIRED.value
        session.add(rnd)
        session.flush()
        return {"groups": len(groups), "unpaired": len(left)}

    result = await d.store.run(apply)
    d.scheduler.wake()
    return result


async def on_follow_up(d: Delivery) -> dict[str, Any]:
    def apply(session: Session) -> int:
        rnd, network = _load_round(session, d)
        if rnd.state != RoundState.PAIRED.value:
            return 0
        asked = 0
        for pid, group in groups_of(session, rnd.id or 0).items():
            for mid in group:
                record = session.get(MemberRecord, mid)
                if record is None:
                    continue
                names = ", ".join(_name(session, o) for o in group if o != mid)
                asked += plan_dm(
                    session,
                    f"intro:{rnd.id}:follow-up:{mid}",
                    d.now,
                    _to(record),
                    f"Peer introductions in {network.name}: did you meet {names}?",
                    choices=[("Yes, we met", f"intro met {pid} yes"), ("No", f"intro met {pid} no")],
                    default_zone=d.settings.timezone,
                    reminder=True,
                    expires=timedelta(days=2),
                )
        rnd.state = RoundState.DONE.value
        session.add(rnd)
        return asked

    asked = await d.store.run(apply)
    d.scheduler.wake()
    return {"asked": asked}


POSTS = {"intro.announce": on_announce, "intro.pair": on_pair, "intro.follow_up": on_follow_up}


# ---- privacy -----------------------------------------------------------------------------------------


def export_member(session: Session, record: MemberRecord) -> dict[str, Any]:
    opt = session.execute(
        select(IntroOptIn, Network)
        .join(Network, col(Network.id) == col(IntroOptIn.network_id))
        .where(col(IntroOptIn.member_id) == record.id)
    ).all()
    skips = (
        session.execute(select(col(IntroSkip.round_id)).where(col(IntroSkip.member_id) == record.id))
        .scalars()
        .all()
    )
    rows = (
        session.execute(select(IntroPairingMember).where(col(IntroPairingMember.member_id) == record.id))
        .scalars()
        .all()
    )
    return {
        "opted_in": [n.slug for _, n in opt],
        "skipped_rounds": list(skips),
        "pairings": [{"pairing": r.pairing_id, "met": r.met} for r in rows],
    }


def forget_member(session: Session, record: MemberRecord, now: datetime) -> int:
    """Opt-ins, skips and their place in pairings go; rounds they planned stay, without their planner."""
    changed = sum(
        delete_rows(session, column, record.id)
        for column in (col(IntroOptIn.member_id), col(IntroSkip.member_id), col(IntroPairingMember.member_id))
    )
    changed += unlink(session, col(IntroRound.created_by), record.id)
    session.flush()
    return changed
