"""`resource suggest`: a few resources for one member, never one they rated or were already sent.

Each candidate scores points for what we know about the member:
- 3 for each of its areas the member named as an interest (`me interests add`);
- 1 for each of its areas among the resources they found useful (capped at 3);
- up to 4 for matching the next open forum's topic (the full-text rank, scaled to the best match).
Ties go to the resources more members found useful, then to catalog order. What is sent is recorded.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from bot.context import ensure_member
from bot.messages import Member
from bot.store import fulltext
from content.resources import service
from content.resources.models import Resource, ResourceArea, ResourceRating, ResourceSent, Status
from scheduling.forum.models import ForumOccurrence, ForumTopic, OccurrenceStatus

_STOP = {
    "about",
    "after",
    "again",
    "their",
    "there",
    "these",
    "those",
    "through",
    "which",
    "while",
    "with",
    "what",
    "when",
    "where",
    "your",
    "from",
    "into",
    "that",
    "this",
    "have",
    "bring",
    "working",
    "open",
    "floor",
}


@dataclass
class Suggestions:
    views: list[service.ResourceView]
    reasons: dict[int, list[str]]
    interests: list[str]
    topic: str


def next_forum_topic(session: Session, now: datetime) -> str:
    """The topic of the next planned open forum, when one is known."""
    occ = session.exec(
        select(ForumOccurrence)
        .where(
            col(ForumOccurrence.starts_at) > now,
            col(ForumOccurrence.status) == OccurrenceStatus.PLANNED.value,
        )
        .order_by(col(ForumOccurrence.starts_at))
        .limit(1)
    ).first()
    if occ is None:
        return ""
    if occ.topic_text:
        return occ.topic_text
    topic = session.get(ForumTopic, occ.topic_id) if occ.topic_id else None
    return topic.text if topic else ""


def topic_query(topic: str) -> fulltext.Query:
    """Any of the topic's significant words (OR), as a search query."""
    words = [w for w in re.findall(r"[^\W_]{4,}", topic.lower()) if w not in _STOP][:8]
    return fulltext.parse_query(" OR ".join(dict.fromkeys(words)))


def suggest(session: Session, member: Member, now: datetime, count: int) -> Suggestions:
    record = ensure_member(session, member)
    mid = record.id or 0
    rated = set(
        session.exec(
            select(col(ResourceRating.resource_id)).where(col(ResourceRating.member_id) == mid)
        ).all()
    )
    sent = set(
        session.exec(select(col(ResourceSent.resource_id)).where(col(ResourceSent.member_id) == mid)).all()
    )
    wanted = service.interests(session, mid)
    liked = Counter(
        session.exec(select(col(ResourceArea.area)).where(col(ResourceArea.resource_id).in_(rated))).all()
        if rated
        else []
    )
    candidates: list[int] = [
        rid
        for rid in session.exec(
            select(col(Resource.id))
            .where(col(Resource.status) == Status.ACTIVE.value)
            .order_by(col(Resource.id))
        ).all()
        if rid is not None and rid not in rated and rid not in sent
    ]
    areas = service.areas_of(session, candidates)
    popular = service.rating_counts(session)
    topic = next_forum_topic(session, now)
    topical: dict[int, float] = {}
    parsed = topic_query(topic) if topic else fulltext.Query()
    if parsed:
        hits = service.ranked_hits(session, parsed, service.Filters(), limit=50)
        best = max((h.rank for h in hits), default=0.0) or 1.0
        topical = {h.id: h.rank / best for h in hits}
    scores: dict[int, float] = {}
    reasons: dict[int, list[str]] = {}
    for rid in candidates:
        mine = areas.get(rid, [])
        why = []
        score = 0.0
        matched = [a for a in mine if a in wanted]
        if matched:
            score += 3 * len(matched)
            why.append("your interest in " + ", ".join(matched))
        similar = sum(min(liked[a], 3) for a in mine if liked[a])
        if similar:
            score += similar
            why.append("like resources you found useful")
        if rid in topical:
            score += 4 * topical[rid]
            why.append(f"the next forum's topic ({topic})")
        scores[rid], reasons[rid] = score, why
    chosen = sorted(candidates, key=lambda rid: (-scores[rid], -popular.get(rid, 0), rid))[:count]
    for rid in chosen:
        session.add(ResourceSent(resource_id=rid, member_id=mid, sent_at=now))
    session.flush()
    return Suggestions(service.views(session, service.by_ids(session, chosen)), reasons, wanted, topic)
