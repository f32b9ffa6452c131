"""A community with a year behind it, written straight into the store: members who share and endorse
practices, monthly forums with replies, convenings with answers and attendance, reminders in every
state, digests and ratings. The dashboard's tests and `bench/dashboard.py` read it."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select
from sqlmodel import Session, col

from bot.networks.models import Network
from bot.store.models import MemberRecord
from content.practices.models import Endorsement, LabelKind, Practice, PracticeLabel
from content.resources.models import DigestShown, Resource, ResourceRating
from scheduling.convenings.after.models import ConveningAttendance
from scheduling.convenings.models import Convening, Rsvp
from scheduling.engine.models import PlannedPost
from scheduling.forum.models import ForumOccurrence, ForumReply

FRAMEWORKS = ("systems-thinking", "adaptive-leadership", "results-based-accountability")


@dataclass
class Seeded:
    """What was written, for tests to compare the figures with."""

    practices_by_month: dict[str, int] = field(default_factory=dict)  # "2026-03" -> practices shared
    repliers: dict[str, int] = field(default_factory=dict)  # forum slot -> distinct members who replied
    going: dict[int, int] = field(default_factory=dict)  # convening id -> members going
    attended: dict[int, int] = field(default_factory=dict)
    reminders: dict[str, int] = field(default_factory=dict)  # state -> count
    members: int = 0


def seed_year(session: Session, *, members: int, end: datetime, seed: int = 7) -> Seeded:
    """Twelve months of activity ending at `end` (aware UTC), `members` members; returns what it wrote.
    Times fall mid-month at noon UTC so no bucket depends on the zone."""
    rng = random.Random(seed)
    out = Seeded(members=members)
    rows = [
        {
            "platform": "console",
            "workspace": "",
            "user_id": f"m{i}",
            "display_name": f"Member {i}",
            "created_at": end,
        }
        for i in range(members)
    ]
    session.execute(insert(MemberRecord), rows)
    ids = list(session.execute(select(MemberRecord.id).order_by(col(MemberRecord.id))).scalars())[-members:]
    network = Network(slug="year-network", name="Year network")
    session.add(network)
    session.flush()
    network_id = network.id or 0
    resources = list(session.execute(select(Resource.id).limit(20)).scalars())
    for back in range(12):
        month = (
            end.replace(day=15, hour=12, minute=0, second=0, microsecond=0) - timedelta(days=30 * back)
        ).replace(day=15)
        key = month.strftime("%Y-%m")
        # practices, each with a framework (every third with none), some endorsed
        count = rng.randint(members // 25 + 1, members // 10 + 2)
        out.practices_by_month[key] = count
        for n in range(count):
            p = Practice(
                title=f"Practice {key}-{n}",
                what="What we tried and how it went, in a few sentences.",
                attribution="named",
                author_id=rng.choice(ids),
                author_name="",
                created_at=month,
                updated_at=month,
            )
            session.add(p)
            session.flush()
            if n % 3:
                session.add(
                    PracticeLabel(
                        practice_id=p.id or 0, kind=LabelKind.FRAMEWORK.value, value=FRAMEWORKS[n % 3]
                    )
                )
            for who in rng.sample(ids, k=min(3, len(ids))):
                session.add(Endorsement(practice_id=p.id or 0, member_id=who, created_at=month))
        # the month's forum, held, with replies
        slot = month.strftime("%Y-%m-%d")
        occ = ForumOccurrence(slot=slot, starts_at=month, ends_at=month + timedelta(hours=1), status="held")
        session.add(occ)
        session.flush()
        repliers = rng.sample(ids, k=min(len(ids), rng.randint(3, max(4, members // 8))))
        for who in repliers:
            session.add(
                ForumReply(
                    occurrence_id=occ.id or 0, member_id=who, text="Here is what we did.", created_at=month
                )
            )
        out.repliers[slot] = len(repliers)
        # a convening, answered and attended
        conv = Convening(
            network_id=network_id,
            title=f"Circle {key}",
            starts_at=month,
            ends_at=month + timedelta(hours=1),
            tz="UTC",
        )
        session.add(conv)
        session.flush()
        going = rng.sample(ids, k=min(len(ids), rng.randint(4, max(5, members // 5))))
        for who in going:
            session.add(Rsvp(convening_id=conv.id or 0, member_id=who, answer="going", answered_at=month))
        came = going[: max(1, len(going) * 2 // 3)]
        for who in came:
            session.add(
                ConveningAttendance(convening_id=conv.id or 0, member_id=who, how="marked", recorded_at=month)
            )
        out.going[conv.id or 0], out.attended[conv.id or 0] = len(going), len(came)
        # reminders in every end state
        for n, who in enumerate(going):
            state = ("sent", "sent", "sent", "skipped", "failed")[n % 5]
            late = n % 7 == 0 and state == "sent"
            session.add(
                PlannedPost(
                    key=f"convening:{conv.id}:remind:{who}",
                    kind="convening.remind",
                    due_at=month,
                    expires_at=month + timedelta(hours=1),
                    state=state,
                    next_try_at=month,
                    sent_at=(month + timedelta(minutes=30 if late else 0)) if state == "sent" else None,
                    payload="{}",
                )
            )
            out.reminders[state] = out.reminders.get(state, 0) + 1
        # the digest: two resources shown, one of them rated useful afterwards
        for pos, rid in enumerate(resources[back % max(1, len(resources) - 1) :][:2]):
            session.add(
                DigestShown(
                    resource_id=rid, round=back, digest_key=f"digest:{key}", position=pos, shown_at=month
                )
            )
        if resources:
            session.add(
                ResourceRating(
                    resource_id=resources[back % len(resources)],
                    member_id=ids[back % len(ids)],
                    created_at=month + timedelta(days=1),
                )
            )
    session.flush()
    return out


def now_after(end: datetime) -> datetime:
    return end.astimezone(UTC) + timedelta(days=1)
