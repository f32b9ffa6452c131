"""The monthly open forum: occurrences from the cadence, the posts each one makes, and their handlers.

Each occurrence plans five posts (keys `forum:<slot>:<step>`): an announcement some days before, a
reminder the day before and an hour before, the thread opening at the start, and a wrap-up after the
end. After the wrap-up each member who posted gets one invitation to write up their practice. Handlers
compose their message from the database when they run, so a move is reflected.

The topic is chosen once, by the first post that needs it (`topic_of`), and kept: posts sent in the
same moment name the same topic, and a voted topic serves one forum only. Members who asked for them
(`forum reminders on`) also get the two reminders by DM, in their own zone.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlmodel import Session, col

from bot.messages import Choice, Member, Reply, Visibility, mention
from bot.messenger import DeliveryError, PostTags, format_in_zone, time_mark
from bot.store.db import rowcount
from bot.store.models import MemberProfile, MemberRecord, is_member
from bot.words import counted
from bot.zones import zone_of_record
from content.practices.models import Practice
from content.resources.models import Resource
from content.resources.service import mentioned_in, resource_ref
from scheduling.engine import outbox
from scheduling.engine import places as place
from scheduling.engine.notices import plan_dm
from scheduling.engine.runner import Delivery
from scheduling.forum.models import (
    ForumOccurrence,
    ForumPlace,
    ForumReply,
    ForumSettings,
    ForumThread,
    ForumTopic,
    ForumVote,
    OccurrenceStatus,
    TopicStatus,
)
from scheduling.time.cadence import Cadence

HORIZON = 3  # occurrences planned ahead
DEFAULT_PROMPT = (
    "Share one thing you tried at work this month: what you did, for whom, and what "
    "happened. Reply in this thread."
)
_URL = re.compile(r"https?://\S+")
OPEN_FLOOR = "Open floor: bring what you are working on"


def post_tags(fs: ForumSettings) -> PostTags:
    """The tags the forum's posts get where the channel has tags (a Discord forum channel): those set with
    `forum set --tags`; else the channel's tags named like "forum" ("Open forum"), else those named in the
    post's title (and the channel's first tag when it requires one)."""
    names = tuple(n.strip() for n in fs.post_tags.split(",") if n.strip())
    return PostTags(names=names) if names else PostTags(containing=("forum",), from_title=True)


def settings_row(session: Session) -> ForumSettings | None:
    return session.execute(select(ForumSettings).order_by(col(ForumSettings.id)).limit(1)).scalars().first()


def slot_of(occ_start: datetime, tz: str) -> str:
    return occ_start.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d")


def topic_votes(session: Session) -> list[tuple[ForumTopic, int]]:
    """Open topics, most votes first (oldest first among equals)."""
    votes = func.count(col(ForumVote.id))
    rows = session.execute(
        select(ForumTopic, votes)
        .outerjoin(ForumVote, col(ForumVote.topic_id) == col(ForumTopic.id))
        .where(col(ForumTopic.status) == TopicStatus.OPEN.value)
        .group_by(col(ForumTopic.id))
        .order_by(votes.desc(), col(ForumTopic.id))
    ).all()
    return [(t, int(n)) for t, n in rows]


@dataclass(frozen=True)
class Where:
    """Where one post of the forum goes: the main channel (ForumSettings) or a workspace's own (ForumPlace)."""

    platform: str
    channel_id: str
    workspace: str
    main: bool = True


def places(session: Session) -> list[ForumPlace]:
    """The channels other workspaces set for the forum, besides the main one."""
    return place.all_of(session, ForumPlace)


def _steps(fs: ForumSettings, occ: ForumOccurrence) -> list[tuple[str, datetime, datetime, timedelta]]:
    start, end = occ.starts_at, occ.ends_at
    return [
        ("announce", start - timedelta(days=fs.announce_days), start, timedelta(hours=12)),
        ("remind-day", start - timedelta(days=1), start - timedelta(hours=1), timedelta(hours=6)),
        ("remind-hour", start - timedelta(hours=1), start - timedelta(minutes=5), timedelta(minutes=30)),
        ("open", start, end, end - start),
        ("wrapup", end, end + timedelta(days=2), timedelta(days=2)),
    ]


def plan_posts(session: Session, fs: ForumSettings, occ: ForumOccurrence, now: datetime) -> None:
    """(Re)plan the occurrence's posts, in the main channel and in each workspace's own. Posts whose
    moment has already passed are not planned."""
    prefix = f"forum:{occ.slot}:"
    if occ.status == OccurrenceStatus.SKIPPED.value:
        outbox.cancel(session, prefix)
        return
    for step in ("remind-day", "remind-hour"):  # DM reminders held by quiet hours name the old time
        outbox.cancel(session, f"{prefix}{step}:dm:")
    _plan_in(session, fs, occ, now, None)
    for own in places(session):
        _plan_in(session, fs, occ, now, own)


def _plan_in(
    session: Session, fs: ForumSettings, occ: ForumOccurrence, now: datetime, own: ForumPlace | None
) -> None:
    """The occurrence's posts in one place: the main channel (None) or a workspace's own."""
    prefix = f"forum:{occ.slot}:"
    suffix = place.suffix(own.platform, own.workspace) if own is not None else ""
    payload: dict[str, Any] = {"occurrence_id": occ.id, **(place.payload(own) if own is not None else {})}
    for step, due, hard_stop, grace in _steps(fs, occ):
        expires = min(due + grace, hard_stop)
        if expires <= now:
            continue
        outbox.plan(
            session,
            key=prefix + step + suffix,
            kind=f"forum.{step}",
            due_at=due,
            expires_at=expires,
            payload=payload,
        )


def plan_place(session: Session, fs: ForumSettings, own: ForumPlace, now: datetime) -> int:
    """A workspace just set its channel: plan its posts for the forums still to come (or running)."""
    upcoming = (
        session.execute(
            select(ForumOccurrence).where(
                col(ForumOccurrence.ends_at) > now,
                col(ForumOccurrence.status) == OccurrenceStatus.PLANNED.value,
            )
        )
        .scalars()
        .all()
    )
    for occ in upcoming:
        _plan_in(session, fs, occ, now, own)
    return len(upcoming)


def ensure_occurrences(session: Session, fs: ForumSettings, now: datetime, tz: str) -> list[ForumOccurrence]:
    """Make sure the next occurrences exist with their posts planned. Idempotent."""
    cadence = Cadence.from_text(fs.cadence)
    found = []
    # Starting one duration back includes a forum that is running right now.
    for o in cadence.occurrences(now - cadence.duration, HORIZON):
        slot = slot_of(o.start, cadence.tz)
        occ = (
            session.execute(select(ForumOccurrence).where(col(ForumOccurrence.slot) == slot))
            .scalars()
            .first()
        )
        if occ is None:
            occ = ForumOccurrence(slot=slot, starts_at=o.start, ends_at=o.end)
            session.add(occ)
            session.flush()
            plan_posts(session, fs, occ, now)
        found.append(occ)
    return found


def replan_all(session: Session, fs: ForumSettings, now: datetime, tz: str) -> list[ForumOccurrence]:
    """After the rule changed: drop future occurrences nobody has used yet, then plan afresh."""
    cadence = Cadence.from_text(fs.cadence)
    wanted = {slot_of(o.start, cadence.tz) for o in cadence.occurrences(now, HORIZON)}
    future = (
        session.execute(
            select(ForumOccurrence).where(
                col(ForumOccurrence.starts_at) > now, col(ForumOccurrence.thread_id) == ""
            )
        )
        .scalars()
        .all()
    )
    for occ in future:
        if occ.slot in wanted and occ.moved_from is None:
            occ.starts_at = next(
                o.start for o in cadence.occurrences(now, HORIZON) if slot_of(o.start, cadence.tz) == occ.slot
            )
            occ.ends_at = occ.starts_at + cadence.duration
            session.add(occ)
            plan_posts(session, fs, occ, now)
        elif occ.moved_from is None and occ.status == OccurrenceStatus.PLANNED.value:
            outbox.cancel(session, f"forum:{occ.slot}:")
            session.delete(occ)
    session.flush()
    return ensure_occurrences(session, fs, now, tz)


def clash(
    session: Session, fs: ForumSettings, occ: ForumOccurrence, start: datetime, end: datetime, now: datetime
) -> tuple[str, datetime] | None:
    """Another forum that would overlap `occ` moved to [start, end): (its date, its start), or None.
    Skipped forums take no time; forums the cadence will bring that are not planned yet do."""
    others = session.execute(select(ForumOccurrence).where(col(ForumOccurrence.id) != occ.id)).scalars().all()
    for o in others:
        if o.status != OccurrenceStatus.SKIPPED.value and o.starts_at < end and o.ends_at > start:
            return o.slot, o.starts_at
    cadence = Cadence.from_text(fs.cadence)
    stored = {o.slot for o in others} | {occ.slot}
    for o in cadence.occurrences(max(now, start - cadence.duration), 3):
        slot = slot_of(o.start, cadence.tz)
        if slot not in stored and o.start < end and o.end > start:
            return slot, o.start
    return None


@dataclass
class OccurrenceFacts:
    occ: ForumOccurrence
    participants: int
    practices: list[Practice]
    links: list[str]  # addresses mentioned that are not a catalog resource's
    resources: list[Resource]  # catalog resources mentioned, by id (L12), slug or address

    def mentioned(self, limit: int = 10) -> list[str]:
        """What was mentioned, resources first: `L12 Thinking in Systems`, then the other addresses."""
        named = [f"{resource_ref(r.id or 0)} {r.title}" for r in self.resources]
        return (named + self.links)[:limit]


def facts(session: Session, occ: ForumOccurrence) -> OccurrenceFacts:
    replies = (
        session.execute(
            select(ForumReply).where(col(ForumReply.occurrence_id) == occ.id).order_by(col(ForumReply.id))
        )
        .scalars()
        .all()
    )
    practices = (
        session.execute(
            select(Practice).where(col(Practice.forum_occurrence_id) == occ.id).order_by(col(Practice.id))
        )
        .scalars()
        .all()
    )
    resources = mentioned_in(session, [r.text for r in replies])
    known = {r.url for r in resources if r.url}
    links: list[str] = []
    for r in replies:
        for url in (u.rstrip(".,;)") for u in _URL.findall(r.text)):
            if url not in links and url not in known:
                links.append(url)
    return OccurrenceFacts(occ, len({r.member_id for r in replies}), list(practices), links, resources)


# ---- what gets posted ------------------------------------------------------------------------------


def _when(occ: ForumOccurrence) -> str:
    minutes = int((occ.ends_at - occ.starts_at).total_seconds() // 60)
    return f"{time_mark(occ.starts_at)} for {minutes} minutes"


def _locked(session: Session, occ_id: int) -> ForumOccurrence | None:
    """The occurrence, read after taking its row lock (PostgreSQL) or the write lock (SQLite)."""
    session.execute(
        update(ForumOccurrence)
        .where(col(ForumOccurrence.id) == occ_id)
        .values(topic_text=col(ForumOccurrence.topic_text))
        .execution_options(synchronize_session=False)
    )
    return (
        session.execute(
            select(ForumOccurrence)
            .where(col(ForumOccurrence.id) == occ_id)
            .execution_options(populate_existing=True)
        )
        .scalars()
        .first()
    )


def _claim(session: Session, topic_id: int) -> bool:
    """Mark an open topic used; False when another forum took it first."""
    taken = session.execute(
        update(ForumTopic)
        .where(col(ForumTopic.id) == topic_id, col(ForumTopic.status) == TopicStatus.OPEN.value)
        .values(status=TopicStatus.USED.value)
        .execution_options(synchronize_session=False)
    )
    return bool(rowcount(taken))


def _choose(session: Session, occ: ForumOccurrence) -> None:
    """Give `occ` its topic: the coordinator's pick, else the most-voted open topic nobody picked for
    another forum, else the open floor. Each topic is claimed once, so it serves one forum only."""
    reserved = set(
        session.execute(
            select(col(ForumOccurrence.topic_id)).where(
                col(ForumOccurrence.topic_id).is_not(None),
                col(ForumOccurrence.topic_text) == "",
                col(ForumOccurrence.id) != occ.id,
            )
        ).scalars()
    )
    picked = session.get(ForumTopic, occ.topic_id) if occ.topic_id else None
    candidates = ([picked] if picked is not None and picked.status == TopicStatus.OPEN.value else []) + [
        t for t, _ in topic_votes(session) if t.id not in reserved and (picked is None or t.id != picked.id)
    ]
    chosen = next((t for t in candidates if _claim(session, t.id or 0)), None)
    occ.topic_id = chosen.id if chosen else None
    occ.topic_text = chosen.text if chosen else OPEN_FLOOR
    session.add(occ)
    session.flush()


def topic_of(session: Session, occ_id: int) -> ForumOccurrence | None:
    """The occurrence, with its topic chosen the first time one of its posts needs it, and kept.

    Forums still planned before it that have no topic yet choose first, so when the posts of several
    forums fall due together the earliest forum gets the most-voted topic, whatever order the posts are
    sent in. Each forum chooses under its row lock, the locks taken in start order (no deadlock)."""
    occ = session.get(ForumOccurrence, occ_id)
    if occ is None or occ.topic_text or occ.status == OccurrenceStatus.SKIPPED.value:
        return occ  # a topic, once chosen, is kept
    waiting = (
        session.execute(
            select(col(ForumOccurrence.id))
            .where(
                col(ForumOccurrence.starts_at) < occ.starts_at,
                col(ForumOccurrence.topic_text) == "",
                col(ForumOccurrence.status) == OccurrenceStatus.PLANNED.value,
            )
            .order_by(col(ForumOccurrence.starts_at), col(ForumOccurrence.id))
        )
        .scalars()
        .all()
    )
    for other_id in [*waiting, occ_id]:
        other = _locked(session, other_id)
        if other is not None and not other.topic_text and other.status == OccurrenceStatus.PLANNED.value:
            _choose(session, other)
    return _locked(session, occ_id)


def _load(
    d: Delivery, *, topic: bool = True
) -> Awaitable[tuple[ForumSettings, ForumOccurrence, Where | None]]:
    """The forum's settings, this post's occurrence (its topic settled when `topic`: the wrap-up only
    reports one, so a forum never announced nor opened uses up no voted topic) and where the post goes
    (None: the workspace took its channel back since)."""

    def read(session: Session) -> tuple[ForumSettings, ForumOccurrence, Where | None]:
        fs = settings_row(session)
        occ_id = d.post.payload["occurrence_id"]
        occ = topic_of(session, occ_id) if topic else session.get(ForumOccurrence, occ_id)
        if fs is None or occ is None:
            raise DeliveryError("the forum or this occurrence no longer exists", retryable=False)
        return fs, occ, _where(session, fs, d.post.payload.get("place"))

    return d.store.run(read)


def _where(session: Session, fs: ForumSettings, named: list[str] | None) -> Where | None:
    if not named:
        return Where(fs.platform, fs.channel_id, fs.workspace)
    row = place.find(session, ForumPlace, named[0], named[1])
    return Where(row.platform, row.channel_id, row.workspace, main=False) if row is not None else None


GONE = {"not_sent": "that workspace no longer has a forum channel"}


def facilitator_of(fs: ForumSettings) -> str:
    """The facilitator, named as each platform shows people (a name kept only if it is not their id)."""
    name = "" if fs.facilitator_name == fs.facilitator_user_id else fs.facilitator_name
    return mention(Member(fs.facilitator_platform, fs.facilitator_user_id, name, fs.facilitator_workspace))


async def on_announce(d: Delivery) -> dict[str, Any]:
    fs, occ, where = await _load(d)
    if occ.status == OccurrenceStatus.SKIPPED.value:
        return {"skipped": True}
    if where is None:
        return GONE
    who = f"\nFacilitator: {facilitator_of(fs)}" if fs.facilitator_user_id else ""
    join = (
        f"\nHow to join: {fs.join_info}"
        if fs.join_info
        else "\nHow to join: reply in the forum thread when it opens."
    )
    reply = Reply(
        f"Monthly open forum — topic: {occ.topic_text}\nWhen: {_when(occ)}{who}{join}",
        choices=(
            Choice("Propose a topic for next time", "forum propose"),
            Choice("See upcoming forums", "forum next"),
        ),
        visibility=Visibility.PUBLIC,
    )
    posted = await d.messenger(where.platform).post(
        where.channel_id, reply, tags=post_tags(fs), workspace=where.workspace
    )
    return {"message_id": posted.message_id}


async def _remind(d: Delivery, lead: str) -> dict[str, Any]:
    fs, occ, where = await _load(d)
    if occ.status == OccurrenceStatus.SKIPPED.value:
        return {"skipped": True}
    if where is None:
        return GONE
    told = 0
    if where.main:  # the DM reminders go with the main channel's reminder, once
        told = await d.store.run(
            lambda s: remind_by_dm(s, fs, occ, d.post.key, lead, d.now, d.settings.timezone)
        )
    reply = Reply(
        f"Reminder: the open forum starts {lead} ({time_mark(occ.starts_at)}). Topic: {occ.topic_text}.",
        visibility=Visibility.PUBLIC,
    )
    posted = await d.messenger(where.platform).post(
        where.channel_id, reply, tags=post_tags(fs), workspace=where.workspace
    )
    d.scheduler.wake()
    return {"message_id": posted.message_id, "told_by_dm": told}


def remind_by_dm(
    session: Session,
    fs: ForumSettings,
    occ: ForumOccurrence,
    key: str,
    lead: str,
    now: datetime,
    community_tz: str,
) -> int:
    """The reminder by DM to each member who asked for one (`forum reminders on`), in their own zone, as
    the reminder it is (none with reminders off; quiet hours respected, never after the start)."""
    rows = (
        session.execute(
            select(MemberRecord)
            .join(MemberProfile, col(MemberProfile.member_id) == col(MemberRecord.id))
            .where(col(MemberProfile.forum_reminders).is_(True))
            .order_by(col(MemberRecord.id))
        )
        .scalars()
        .all()
    )
    told = 0
    for record in rows:
        zone = zone_of_record(session, record.id or 0, community_tz)
        join = f" How to join: {fs.join_info}" if fs.join_info else ""
        text = (
            f"Reminder: the open forum starts {lead}, {format_in_zone(occ.starts_at, zone)} ({zone}). "
            f"Topic: {occ.topic_text}.{join}"
        )
        told += plan_dm(
            session,
            f"{key}:dm:{record.id}",
            now,
            (record.platform, record.user_id, record.workspace),
            text,
            choices=[("Stop these reminders", "forum reminders off")],
            default_zone=community_tz,
            reminder=True,
            deadline=occ.starts_at,
        )
    return told


async def on_remind_day(d: Delivery) -> dict[str, Any]:
    return await _remind(d, "tomorrow")


async def on_remind_hour(d: Delivery) -> dict[str, Any]:
    return await _remind(d, "in one hour")


async def on_open(d: Delivery) -> dict[str, Any]:
    fs, occ, where = await _load(d)
    if occ.status == OccurrenceStatus.SKIPPED.value:
        return {"skipped": True}
    if where is None:
        return GONE
    facilitator = f"{facilitator_of(fs)} is facilitating. " if fs.facilitator_user_id else ""
    reply = Reply(
        f"The open forum is open: {occ.topic_text}\n{facilitator}{fs.prompt or DEFAULT_PROMPT}\n"
        f"(Until {time_mark(occ.ends_at)}. To save a reply as a shared practice: forum capture <reply>.)",
        visibility=Visibility.PUBLIC,
    )
    posted = await d.messenger(where.platform).open_thread(
        where.channel_id,
        f"Open forum {occ.slot}: {occ.topic_text}",
        reply,
        tags=post_tags(fs),
        workspace=where.workspace,
    )

    def save(session: Session) -> None:
        thread_id, link = posted.thread_id or posted.message_id, posted.link or ""
        if not where.main:  # a workspace's own thread: its replies count for this forum too
            session.add(
                ForumThread(
                    occurrence_id=occ.id or 0,
                    platform=posted.platform,
                    workspace=where.workspace,
                    channel_id=posted.channel_id,
                    thread_id=thread_id,
                    link=link,
                )
            )
            return
        row = session.get(ForumOccurrence, occ.id)
        assert row is not None
        row.thread_platform, row.thread_channel_id = posted.platform, posted.channel_id
        row.thread_id, row.thread_link = thread_id, link
        session.add(row)

    await d.store.run(save)
    return {"thread_id": posted.thread_id, "link": posted.link}


async def on_wrapup(d: Delivery) -> dict[str, Any]:
    fs, occ, where = await _load(d, topic=False)
    if occ.status == OccurrenceStatus.SKIPPED.value:
        return {"skipped": True}
    if where is None:
        return GONE
    tz = d.settings.timezone
    now = d.now

    def gather(session: Session) -> tuple[OccurrenceFacts, list[str], list[tuple[int, str, str, str, int]]]:
        f = facts(session, occ)
        carried = [t.text for t, _ in topic_votes(session)][:5]
        rows = session.execute(
            select(
                col(ForumReply.member_id),
                col(MemberRecord.platform),
                col(MemberRecord.user_id),
                col(MemberRecord.workspace),
                func.min(col(ForumReply.id)),
            )
            .join(MemberRecord, col(MemberRecord.id) == col(ForumReply.member_id))
            .where(col(ForumReply.occurrence_id) == occ.id)
            .group_by(
                col(ForumReply.member_id),
                col(MemberRecord.platform),
                col(MemberRecord.user_id),
                col(MemberRecord.workspace),
            )
        ).all()
        return f, carried, [(m, p, u, w, r) for m, p, u, w, r in rows]

    f, carried, posters = await d.store.run(gather)
    lines = [
        f"Thank you all. Wrap-up of the open forum on {occ.slot}: {occ.topic_text or OPEN_FLOOR}",
        f"Took part: {counted(f.participants, 'member')}.",
    ]
    if f.practices:
        lines.append("Practices captured: " + "; ".join(f"P{p.id} {p.title}" for p in f.practices))
    else:
        lines.append("No practices captured yet: forum capture <reply> saves one.")
    if f.resources or f.links:
        lines.append("Resources mentioned: " + "; ".join(f.mentioned()))
    if carried:
        lines.append("Topics carried over to next time: " + "; ".join(carried))
    reply = Reply("\n".join(lines), visibility=Visibility.PUBLIC)
    if not where.main:  # the same wrap-up in a workspace's own thread; the main one closes the forum
        return await _wrapup_in(d, occ, where, reply, fs, f.participants)
    messenger = d.messenger(fs.platform)
    if occ.thread_id:
        posted = await messenger.reply_in_thread(
            occ.thread_channel_id or fs.channel_id, occ.thread_id, reply, workspace=fs.workspace
        )
    else:
        posted = await messenger.post(fs.channel_id, reply, tags=post_tags(fs), workspace=fs.workspace)

    def finish(session: Session) -> None:
        row = session.get(ForumOccurrence, occ.id)
        assert row is not None
        row.status = OccurrenceStatus.HELD.value
        session.add(row)
        for member_id, platform, user_id, workspace, first_reply in posters:
            profile = session.get(MemberProfile, member_id)
            if profile is not None and not profile.forum_invites:
                continue
            outbox.plan(
                session,
                key=f"forum:{occ.slot}:invite:{member_id}",
                kind="forum.invite",
                due_at=now,
                expires_at=now + timedelta(days=3),
                payload={
                    "occurrence_id": occ.id,
                    "member_id": member_id,
                    "platform": platform,
                    "user_id": user_id,
                    "workspace": workspace,
                    "reply_id": first_reply,
                },
            )
        ensure_occurrences(session, fs, now, tz)

    await d.store.run(finish)
    d.scheduler.wake()
    return {"message_id": posted.message_id, "participants": f.participants}


async def _wrapup_in(
    d: Delivery, occ: ForumOccurrence, where: Where, reply: Reply, fs: ForumSettings, participants: int
) -> dict[str, Any]:
    def thread(session: Session) -> ForumThread | None:
        return (
            session.execute(
                select(ForumThread).where(
                    col(ForumThread.occurrence_id) == occ.id,
                    col(ForumThread.platform) == where.platform,
                    col(ForumThread.workspace) == where.workspace,
                )
            )
            .scalars()
            .first()
        )

    opened = await d.store.run(thread)
    messenger = d.messenger(where.platform)
    if opened is not None:
        posted = await messenger.reply_in_thread(
            opened.channel_id, opened.thread_id, reply, workspace=where.workspace
        )
    else:
        posted = await messenger.post(where.channel_id, reply, tags=post_tags(fs), workspace=where.workspace)
    return {"message_id": posted.message_id, "participants": participants}


async def on_invite(d: Delivery) -> dict[str, Any]:
    p = d.post.payload

    def read(session: Session) -> tuple[ForumOccurrence | None, ForumReply | None, bool, str]:
        occ = session.get(ForumOccurrence, p["occurrence_id"])
        reply = session.get(ForumReply, p["reply_id"])
        if "member_id" in p:
            record = session.get(MemberRecord, p["member_id"])
        else:  # planned before invitations carried the member's row id
            who = Member(p["platform"], p["user_id"], workspace=d.settings.workspace(p["platform"]))
            record = (
                session.execute(select(MemberRecord).where(is_member(MemberRecord, who))).scalars().first()
            )
        profile = session.get(MemberProfile, record.id) if record else None
        wants = record is not None and (profile is None or profile.forum_invites)
        captured = reply is not None and reply.practice_id is not None
        zone = zone_of_record(session, record.id or 0, d.settings.timezone) if record else d.settings.timezone
        return occ, reply, wants and not captured, zone

    occ, reply, send, _tz = await d.store.run(read)
    if occ is None or reply is None or not send:
        return {"not_sent": "opted out, already captured, or gone"}
    excerpt = " ".join(reply.text.split())[:200]
    message = Reply(
        f'Thanks for taking part in the open forum on {occ.slot}. You shared: "{excerpt}"\n'
        "Would you write it up as a practice so other members can find it? You choose how you are credited.",
        choices=(
            Choice("Write it up", f"forum capture R{reply.id}", style="primary"),
            Choice("No thanks", "forum invites decline"),
            Choice("Don't ask me again", "forum invites off", style="danger"),
        ),
    )
    posted = await d.messenger(p["platform"]).send_dm(p["user_id"], message, workspace=p.get("workspace", ""))
    return {"message_id": posted.message_id}


POSTS = {
    "forum.announce": on_announce,
    "forum.remind-day": on_remind_day,
    "forum.remind-hour": on_remind_hour,
    "forum.open": on_open,
    "forum.wrapup": on_wrapup,
    "forum.invite": on_invite,
}


local = format_in_zone  # the forum's name for the one time renderer


def _facilitates(fs: ForumSettings | None, record: MemberRecord) -> bool:
    facilitator = (fs.facilitator_platform, fs.facilitator_user_id) if fs is not None else None
    return facilitator == (record.platform, record.user_id)


def export_member(session: Session, record: MemberRecord) -> dict[str, Any]:
    """A member's forum replies, proposed topics and votes, and whether they facilitate the forum."""
    replies = (
        session.execute(select(ForumReply).where(col(ForumReply.member_id) == record.id)).scalars().all()
    )
    topics = (
        session.execute(select(ForumTopic).where(col(ForumTopic.proposer_id) == record.id)).scalars().all()
    )
    votes = session.execute(select(ForumVote).where(col(ForumVote.member_id) == record.id)).scalars().all()
    fs = settings_row(session)
    return {
        "facilitator": _facilitates(fs, record),
        "replies": [{"id": f"R{r.id}", "text": r.text, "at": r.created_at.isoformat()} for r in replies],
        "topics_proposed": [{"id": f"T{t.id}", "text": t.text} for t in topics],
        "votes": [f"T{v.topic_id}" for v in votes],
    }


def forget_member(session: Session, record: MemberRecord, now: datetime) -> int:
    """Replies and votes go; proposed topics stay, without their proposer; a forum they facilitate has
    no facilitator until a coordinator names one."""
    changed = 0
    fs = settings_row(session)
    if fs is not None and _facilitates(fs, record):
        fs.facilitator_platform, fs.facilitator_user_id, fs.facilitator_name = "", "", ""
        session.add(fs)
        changed += 1
    for model, column in ((ForumReply, col(ForumReply.member_id)), (ForumVote, col(ForumVote.member_id))):
        for row in session.execute(select(model).where(column == record.id)).scalars():
            session.delete(row)
            changed += 1
    for topic in session.execute(
        select(ForumTopic).where(col(ForumTopic.proposer_id) == record.id)
    ).scalars():
        topic.proposer_id = None
        session.add(topic)
        changed += 1
    session.flush()
    return changed
