"""What the outbox holds about a member, for `me data` and `me forget`.

A planned post is *about* a member when it is sent to them (a DM: the payload's platform and user id, or
its member id) or when its payload, result or last error names them (their user id, or their display name,
as a whole word in any case). Forgetting a member keeps such a post only as a kind and times: its payload
and result are emptied, its key (which can hold a hash of the recipient) is replaced, and one not yet sent
is never sent (state `forgotten`, which no retry revives). A post about them is also where their own words
were quoted (a DM asking them to share what they wrote, their forum reply mirrored into the thread), so the
quote goes with it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlmodel import Session, col

from bot.store.models import MemberRecord
from scheduling.engine.models import PlannedPost, PostState

FORGOTTEN_PAYLOAD = json.dumps({"forgotten": True})


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def _loads(raw: str) -> Any:
    try:
        return json.loads(raw) if raw else {}
    except ValueError:
        return raw  # not JSON: searched as it is


class Subject:
    """How posts can name one member."""

    def __init__(self, record: MemberRecord) -> None:
        self.record = record
        words = [w for w in {record.user_id, record.display_name.strip()} if w]
        self.pattern = re.compile("|".join(rf"(?<!\w){re.escape(w)}(?!\w)" for w in words), re.IGNORECASE)
        # Payloads are stored as JSON, where a non-ASCII name is written with \u escapes: look for both forms.
        self.needles = sorted({n.lower() for w in words for n in (w, json.dumps(w)[1:-1])})

    def addressed(self, payload: Any) -> bool:
        if not isinstance(payload, dict):
            return False
        record = self.record
        to_them = payload.get("platform") == record.platform and payload.get("user_id") == record.user_id
        return to_them or (record.id is not None and payload.get("member_id") == record.id)

    def named(self, *values: Any) -> bool:
        return any(self.pattern.search(s) for v in values for s in _strings(v))

    def concerns(self, post: PlannedPost) -> bool:
        payload = _loads(post.payload)
        return self.addressed(payload) or self.named(payload, _loads(post.result), post.last_error)


def _candidates(session: Session, subject: Subject) -> list[PlannedPost]:
    """Rows that may concern the member (a cheap text filter; `Subject.concerns` decides)."""
    texts = (col(PlannedPost.payload), col(PlannedPost.result), col(PlannedPost.last_error))
    tests = [func.lower(t).contains(n, autoescape=True) for t in texts for n in subject.needles]
    if subject.record.id is not None:
        tests.append(col(PlannedPost.payload).contains(f'"member_id": {subject.record.id}', autoescape=True))
    return list(session.execute(select(PlannedPost).where(or_(*tests))).scalars())


def export_member(session: Session, record: MemberRecord) -> list[dict[str, Any]]:
    """The messages planned for or sent to the member: what kind, when, and whether they went. Not their
    text, which can name other members (their own words are in the other features' parts of the export)."""
    subject = Subject(record)
    return [
        {
            "kind": post.kind,
            "state": post.state,
            "due_at": post.due_at.isoformat(),
            "sent_at": post.sent_at.isoformat() if post.sent_at else None,
        }
        for post in _candidates(session, subject)
        if subject.addressed(_loads(post.payload))
    ]


def forget_member(session: Session, record: MemberRecord, now: datetime) -> int:
    """Empty every post for or about the member; those not yet sent never will be."""
    subject = Subject(record)
    changed = 0
    for post in _candidates(session, subject):
        if not subject.concerns(post):
            continue
        post.key = f"forgotten:{post.id}"
        post.payload, post.result, post.last_error = FORGOTTEN_PAYLOAD, "", ""
        if post.state != PostState.SENT.value:
            post.state = PostState.FORGOTTEN.value
        post.claimed_by, post.updated_at = "", now
        session.add(post)
        changed += 1
    session.flush()
    return changed
