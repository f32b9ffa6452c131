"""What the forum suggests while a member types an id (autocomplete): open topics (T3), forum replies not
yet saved as practices (R12) and the member's own requests to save a reply waiting for an answer (C4), by
id or by their words."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlmodel import Session, col

from bot.context import find_member
from bot.messages import Member
from bot.store.db import contains_pattern, typed_id
from scheduling.forum.commands import parse_reply_id, parse_request_id, parse_topic_id
from scheduling.forum.models import CaptureRequest, ForumReply, ForumTopic, TopicStatus

LABEL_WORDS = 90  # characters of a topic's or a reply's text shown beside its id


def _label(ref: str, text: str) -> str:
    words = " ".join(text.split())
    return f"{ref} {words[: LABEL_WORDS - 1] + '…' if len(words) > LABEL_WORDS else words}"


def suggest_topics(
    session: Session, prefix: str, member: Member, now: datetime, limit: int
) -> list[tuple[str, str]]:
    """Open topics whose id is what is typed (T3, 3) or whose text contains it, newest first."""
    wanted = typed_id(prefix, parse_topic_id)
    matches = col(ForumTopic.text).ilike(contains_pattern(prefix), escape="\\")
    rows = session.execute(
        select(ForumTopic)
        .where(
            col(ForumTopic.status) == TopicStatus.OPEN.value,
            or_(col(ForumTopic.id) == wanted, matches) if wanted is not None else matches,
        )
        .order_by((col(ForumTopic.id) == (wanted or 0)).desc(), col(ForumTopic.id).desc())
        .limit(limit)
    ).scalars()
    return [(_label(f"T{t.id}", t.text), f"T{t.id}") for t in rows]


def suggest_replies(
    session: Session, prefix: str, member: Member, now: datetime, limit: int
) -> list[tuple[str, str]]:
    """Forum replies not yet saved as a practice whose id is what is typed (R12, 12) or whose text
    contains it, newest first. Only the words are shown, never who wrote them."""
    wanted = typed_id(prefix, parse_reply_id)
    matches = col(ForumReply.text).ilike(contains_pattern(prefix), escape="\\")
    rows = session.execute(
        select(ForumReply)
        .where(
            col(ForumReply.practice_id).is_(None),
            or_(col(ForumReply.id) == wanted, matches) if wanted is not None else matches,
        )
        .order_by((col(ForumReply.id) == (wanted or 0)).desc(), col(ForumReply.id).desc())
        .limit(limit)
    ).scalars()
    return [(_label(f"R{r.id}", r.text), f"R{r.id}") for r in rows]


def suggest_capture_requests(
    session: Session, prefix: str, member: Member, now: datetime, limit: int
) -> list[tuple[str, str]]:
    """Requests to save one of the member's own replies that wait for their answer (forum consent)."""
    record = find_member(session, member)
    wanted = typed_id(prefix, parse_request_id)
    matches = col(ForumReply.text).ilike(contains_pattern(prefix), escape="\\")
    rows = session.execute(
        select(CaptureRequest, ForumReply)
        .join(ForumReply, col(ForumReply.id) == col(CaptureRequest.reply_id))
        .where(
            col(CaptureRequest.state) == "pending",
            col(ForumReply.member_id) == (record.id if record else -1),
            or_(col(CaptureRequest.id) == wanted, matches) if wanted is not None else matches,
        )
        .order_by(col(CaptureRequest.id).desc())
        .limit(limit)
    ).all()
    return [(_label(f"C{c.id}", r.text), f"C{c.id}") for c, r in rows]
