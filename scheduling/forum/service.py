"""The monthly open forum: occurrences from the cadence, the posts each one makes, and their handlers.

Each occurrence plans five posts (keys `forum:<slot>:<step>`): an announcement some days before, a
reminder the day before and an hour before, the thread opening at the start, and a wrap-up after the
end. After the wrap-up each member who posted gets one invitation to write up their practice. Handlers
compose their message from the database when they run, so a late topic pick or a move is reflected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlmodel import Session, col

from bot.messages import Choice, Member, Reply, Visibility
from bot.messenger import DeliveryError, format_in_zone, time_mark
from bot.store.models import MemberProfile, MemberRecord, is_member
from bot.zones import zone_of_record
from content.practices.models import Practice
from scheduling.engine import outbox
from scheduling.engine.runner import Delivery
from scheduling.forum.models import (
    ForumOccurrence,
    ForumReply,
    ForumSettings,
    ForumTopic,
    ForumVote,
    OccurrenceStatus,
    TopicStatus,
)
from scheduling.time.cadence import Cadence

HORIZON = 3  # occurrences planned ahead
DEFAULT_PROMPT = ("Share one thing you tried at work this month: what you did, for whom, and what "
                  "happened. Reply in this thread.")
_URL = re.compile(r"https?://\S+")


def settings_row(session: Session) -> ForumSettings | None:
    return session.execute(select(ForumSettings).order_by(col(ForumSettings.id)).limit(1)).scalars().first()


def slot_of(occ_start: datetime, tz: str) -> str:
    return occ_start.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d")


def topic_votes(session: Session) -> list[tuple[ForumTopic, int]]:
    """Open topics, most votes first (oldest first among equals)."""
    votes = func.count(col(ForumVote.id))
    rows = session.execute(
        select(ForumTopic, votes).outerjoin(ForumVote, col(ForumVote.topic_id) == ForumTopic.id)
        .where(ForumTopic.status == TopicStatus.OPEN.value)
        .group_by(col(ForumTopic.id)).order_by(votes.desc(), col(ForumTopic.id))
    ).all()
    return [(t, int(n)) for t, n in rows]


def plan_posts(session: Session, fs: ForumSettings, occ: ForumOccurrence, now: datetime) -> None:
    """(Re)plan the occurrence's posts. Posts whose moment has already passed are not planned."""
    prefix = f"forum:{occ.slot}:"
    if occ.status == OccurrenceStatus.SKIPPED.value:
        outbox.cancel(session, prefix)
        return
    start, end = occ.starts_at, occ.ends_at
    steps = [
        ("announce", start - timedelta(days=fs.announce_days), start, timedelta(hours=12)),
        ("remind-day", start - timedelta(days=1), start - timedelta(hours=1), timedelta(hours=6)),
        ("remind-hour", start - timedelta(hours=1), start - timedelta(minutes=5), timedelta(minutes=30)),
        ("open", start, end, end - start),
        ("wrapup", end, end + timedelta(days=2), timedelta(days=2)),
    ]
    for step, due, hard_stop, grace in steps:
        expires = min(due + grace, hard_stop)
        if expires <= now:
            continue
        outbox.plan(session, key=prefix + step, kind=f"forum.{step}", due_at=due, expires_at=expires,
                    payload={"occurrence_id": occ.id})


def ensure_occurrences(session: Session, fs: ForumSettings, now: datetime, tz: str) -> list[ForumOccurrence]:
    """Make sure the next occurrences exist with their posts planned. Idempotent."""
    cadence = Cadence.from_text(fs.cadence)
    found = []
    # Starting one duration back includes a forum that is running right now.
    for o in cadence.occurrences(now - cadence.duration, HORIZON):
        slot = slot_of(o.start, cadence.tz)
        occ = session.execute(select(ForumOccurrence).where(ForumOccurrence.slot == slot)).scalars().first()
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
    future = session.execute(select(ForumOccurrence).where(ForumOccurrence.starts_at > now,
                                                           ForumOccurrence.thread_id == "")).scalars().all()
    for occ in future:
        if occ.slot in wanted and occ.moved_from is None:
            occ.starts_at = next(o.start for o in cadence.occurrences(now, HORIZON)
                                 if slot_of(o.start, cadence.tz) == occ.slot)
            occ.ends_at = occ.starts_at + cadence.duration
            session.add(occ)
            plan_posts(session, fs, occ, now)
        elif occ.moved_from is None and occ.status == OccurrenceStatus.PLANNED.value:
            outbox.cancel(session, f"forum:{occ.slot}:")
            session.delete(occ)
    session.flush()
    return ensure_occurrences(session, fs, now, tz)


@dataclass
class OccurrenceFacts:
    occ: ForumOccurrence
    participants: int
    practices: list[Practice]
    links: list[str]


def facts(session: Session, occ: ForumOccurrence) -> OccurrenceFacts:
    replies = session.execute(select(ForumReply).where(ForumReply.occurrence_id == occ.id)).scalars().all()
    practices = session.execute(select(Practice).where(Practice.forum_occurrence_id == occ.id)
                                .order_by(col(Practice.id))).scalars().all()
    links: list[str] = []
    for r in replies:
        for url in _URL.findall(r.text):
            if url not in links:
                links.append(url.rstrip(".,;)"))
    return OccurrenceFacts(occ, len({r.member_id for r in replies}), list(practices), links)


# ---- what gets posted ------------------------------------------------------------------------------

def _when(occ: ForumOccurrence) -> str:
    minutes = int((occ.ends_at - occ.starts_at).total_seconds() // 60)
    return f"{time_mark(occ.starts_at)} for {minutes} minutes"


def _load(d: Delivery) -> tuple[ForumSettings, ForumOccurrence]:
    def read(session: Session) -> tuple[ForumSettings, ForumOccurrence]:
        fs = settings_row(session)
        occ = session.get(ForumOccurrence, d.post.payload["occurrence_id"])
        if fs is None or occ is None:
            raise DeliveryError("the forum or this occurrence no longer exists", retryable=False)
        return fs, occ

    return d.store.run_sync(read)


def _pick_topic(session: Session, occ_id: int) -> ForumOccurrence:
    """The coordinator's pick, else the most-voted open topic; the chosen topic is used up."""
    occ = session.get(ForumOccurrence, occ_id)
    assert occ is not None
    if not occ.topic_text:
        topic = session.get(ForumTopic, occ.topic_id) if occ.topic_id else None
        if topic is None:
            ranked = topic_votes(session)
            topic = ranked[0][0] if ranked else None
        if topic is not None:
            topic.status = TopicStatus.USED.value
            occ.topic_id, occ.topic_text = topic.id, topic.text
            session.add(topic)
        else:
            occ.topic_text = "Open floor: bring what you are working on"
        session.add(occ)
    return occ


async def on_announce(d: Delivery) -> dict[str, Any]:
    fs, occ = _load(d)
    if occ.status == OccurrenceStatus.SKIPPED.value:
        return {"skipped": True}
    occ = await d.store.run(lambda s: _pick_topic(s, occ.id or 0))
    who = f"\nFacilitator: {fs.facilitator_name}" if fs.facilitator_name else ""
    join = f"\nHow to join: {fs.join_info}" if fs.join_info else "\nHow to join: reply in the forum thread when it opens."
    reply = Reply(f"Monthly open forum — topic: {occ.topic_text}\nWhen: {_when(occ)}{who}{join}",
                  choices=(Choice("Propose a topic for next time", "forum propose"),
                           Choice("See upcoming forums", "forum next")),
                  visibility=Visibility.PUBLIC)
    posted = await d.messenger(fs.platform).post(fs.channel_id, reply)
    return {"message_id": posted.message_id}


async def _remind(d: Delivery, lead: str) -> dict[str, Any]:
    fs, occ = _load(d)
    if occ.status == OccurrenceStatus.SKIPPED.value:
        return {"skipped": True}
    topic = occ.topic_text or "open floor"
    reply = Reply(f"Reminder: the open forum starts {lead} ({time_mark(occ.starts_at)}). Topic: {topic}.",
                  visibility=Visibility.PUBLIC)
    posted = await d.messenger(fs.platform).post(fs.channel_id, reply)
    return {"message_id": posted.message_id}


async def on_remind_day(d: Delivery) -> dict[str, Any]:
    return await _remind(d, "tomorrow")


async def on_remind_hour(d: Delivery) -> dict[str, Any]:
    return await _remind(d, "in one hour")


async def on_open(d: Delivery) -> dict[str, Any]:
    fs, occ = _load(d)
    if occ.status == OccurrenceStatus.SKIPPED.value:
        return {"skipped": True}
    occ = await d.store.run(lambda s: _pick_topic(s, occ.id or 0))
    facilitator = f"{fs.facilitator_name} is facilitating. " if fs.facilitator_name else ""
    reply = Reply(f"The open forum is open: {occ.topic_text}\n{facilitator}{fs.prompt or DEFAULT_PROMPT}\n"
                  f"(Until {time_mark(occ.ends_at)}. To save a reply as a shared practice: forum capture <reply>.)",
                  visibility=Visibility.PUBLIC)
    posted = await d.messenger(fs.platform).open_thread(fs.channel_id, f"Open forum {occ.slot}: {occ.topic_text}",
                                                        reply)

    def save(session: Session) -> None:
        row = session.get(ForumOccurrence, occ.id)
        assert row is not None
        row.thread_platform, row.thread_channel_id = posted.platform, posted.channel_id
        row.thread_id, row.thread_link = posted.thread_id or posted.message_id, posted.link or ""
        session.add(row)

    await d.store.run(save)
    return {"thread_id": posted.thread_id, "link": posted.link}


async def on_wrapup(d: Delivery) -> dict[str, Any]:
    fs, occ = _load(d)
    if occ.status == OccurrenceStatus.SKIPPED.value:
        return {"skipped": True}
    tz = d.settings.timezone
    now = d.now

    def gather(session: Session) -> tuple[OccurrenceFacts, list[str], list[tuple[int, str, str, int]]]:
        f = facts(session, occ)
        carried = [t.text for t, _ in topic_votes(session)][:5]
        rows = session.execute(
            select(ForumReply.member_id, MemberRecord.platform, MemberRecord.user_id, func.min(ForumReply.id))
            .join(MemberRecord, col(MemberRecord.id) == ForumReply.member_id)
            .where(ForumReply.occurrence_id == occ.id).group_by(col(ForumReply.member_id), col(MemberRecord.platform),
                                                               col(MemberRecord.user_id))
        ).all()
        return f, carried, [(m, p, u, r) for m, p, u, r in rows]

    f, carried, posters = await d.store.run(gather)
    lines = [f"Thank you all. Wrap-up of the open forum on {occ.slot}: {occ.topic_text or 'open floor'}",
             f"Took part: {f.participants} member(s)."]
    if f.practices:
        lines.append("Practices captured: " + "; ".join(f"P{p.id} {p.title}" for p in f.practices))
    else:
        lines.append("No practices captured yet: forum capture <reply> saves one.")
    if f.links:
        lines.append("Resources mentioned: " + " ".join(f.links[:10]))
    if carried:
        lines.append("Topics carried over to next time: " + "; ".join(carried))
    reply = Reply("\n".join(lines), visibility=Visibility.PUBLIC)
    messenger = d.messenger(fs.platform)
    if occ.thread_id:
        posted = await messenger.reply_in_thread(occ.thread_channel_id or fs.channel_id, occ.thread_id, reply)
    else:
        posted = await messenger.post(fs.channel_id, reply)

    def finish(session: Session) -> None:
        row = session.get(ForumOccurrence, occ.id)
        assert row is not None
        row.status = OccurrenceStatus.HELD.value
        session.add(row)
        for member_id, platform, user_id, first_reply in posters:
            profile = session.get(MemberProfile, member_id)
            if profile is not None and not profile.forum_invites:
                continue
            outbox.plan(session, key=f"forum:{occ.slot}:invite:{member_id}", kind="forum.invite", due_at=now,
                        expires_at=now + timedelta(days=3),
                        payload={"occurrence_id": occ.id, "member_id": member_id, "platform": platform,
                                 "user_id": user_id, "reply_id": first_reply})
        ensure_occurrences(session, fs, now, tz)

    await d.store.run(finish)
    d.scheduler.wake()
    return {"message_id": posted.message_id, "participants": f.participants}


async def on_invite(d: Delivery) -> dict[str, Any]:
    p = d.post.payload

    def read(session: Session) -> tuple[ForumOccurrence | None, ForumReply | None, bool, str]:
        occ = session.get(ForumOccurrence, p["occurrence_id"])
        reply = session.get(ForumReply, p["reply_id"])
        if "member_id" in p:
            record = session.get(MemberRecord, p["member_id"])
        else:  # planned before invitations carried the member's row id
            who = Member(p["platform"], p["user_id"], workspace=d.settings.workspace(p["platform"]))
            record = session.execute(select(MemberRecord)
                                     .where(is_member(MemberRecord, who))).scalars().first()
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
        f"Thanks for taking part in the open forum on {occ.slot}. You shared: \"{excerpt}\"\n"
        "Would you write it up as a practice so other members can find it? You choose how you are credited.",
        choices=(Choice("Write it up", f"forum capture R{reply.id}", style="primary"),
                 Choice("No thanks", "forum invites decline"),
                 Choice("Don't ask me again", "forum invites off", style="danger")))
    posted = await d.messenger(p["platform"]).send_dm(p["user_id"], message)
    return {"message_id": posted.message_id}


POSTS = {"forum.announce": on_announce, "forum.remind-day": on_remind_day, "forum.remind-hour": on_remind_hour,
         "forum.open": on_open, "forum.wrapup": on_wrapup, "forum.invite": on_invite}


local = format_in_zone  # the forum's name for the one time renderer


def export_member(session: Session, record: MemberRecord) -> dict[str, Any]:
    """A member's forum replies, proposed topics and votes."""
    replies = session.execute(select(ForumReply).where(ForumReply.member_id == record.id)).scalars().all()
    topics = session.execute(select(ForumTopic).where(ForumTopic.proposer_id == record.id)).scalars().all()
    votes = session.execute(select(ForumVote).where(ForumVote.member_id == record.id)).scalars().all()
    return {
        "replies": [{"id": f"R{r.id}", "text": r.text, "at": r.created_at.isoformat()} for r in replies],
        "topics_proposed": [{"id": f"T{t.id}", "text": t.text} for t in topics],
        "votes": [f"T{v.topic_id}" for v in votes],
    }


def forget_member(session: Session, record: MemberRecord, now: datetime) -> int:
    """Replies and votes go; proposed topics stay, without their proposer."""
    changed = 0
    for model, column in ((ForumReply, ForumReply.member_id), (ForumVote, ForumVote.member_id)):
        for row in session.execute(select(model).where(column == record.id)).scalars():
            session.delete(row)
            changed += 1
    for topic in session.execute(select(ForumTopic).where(ForumTopic.proposer_id == record.id)).scalars():
        topic.proposer_id = None
        session.add(topic)
        changed += 1
    session.flush()
    return changed
