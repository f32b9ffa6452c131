"""After a convening: attendance, notes, one commitment per member, and its 30/60/90-day follow-ups.

Plain functions on a session (the `after` commands are in scheduling/convenings/after/commands.py).

Attendance: a coordinator of the convening's network marks members (from 15 minutes before the start),
or a member checks in themselves between 15 minutes before the start and the end. Nobody appears in an
attendance export unless they said yes (`after consent`); the export counts the others.

Follow-ups: a commitment plans three DMs, keys `commitment:<id>:<days>`, kind `commitment.follow_up`,
due 30, 60 and 90 days after it was made. Answering "Dropped it" cancels those still pending (and the
handler checks again when it sends). An answer is stored against the latest follow-up reached.
They follow the member's DM choices (bot/members/dm_prefs.py): none with reminders off; one due in
their quiet hours is planned for the end of them, and if it still finds them quiet when it is sent
(the member changed their hours or zone, or the bot was down) it waits until they end.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session, col

from bot.errors import CommandError, NotAllowed, NotFound
from bot.members.dm_prefs import dm_prefs
from bot.messages import Choice, Member, Reply, mention
from bot.networks.service import record_of
from bot.store.db import rowcount
from bot.store.models import MemberRecord
from scheduling.convenings.after.models import (
    FOLLOW_UP_DAYS,
    AttendanceHow,
    Commitment,
    CommitmentAnswer,
    ConveningAttendance,
    ConveningNote,
    Outcome,
)
from scheduling.convenings.models import Convening, ConveningStatus
from scheduling.convenings.service import get as get_convening
from scheduling.engine import outbox
from scheduling.engine.models import PlannedPost, PostState
from scheduling.engine.runner import Delivery, Later

FOLLOW_UP = "commitment.follow_up"
CHECKIN_EARLY = timedelta(minutes=15)
FOLLOW_UP_GRACE = timedelta(days=7)  # a follow-up the bot could not send within a week is skipped
OUTCOME_WORDS = {"it worked": Outcome.WORKED, "still trying": Outcome.TRYING, "dropped it": Outcome.DROPPED}
OUTCOME_LABEL = {
    Outcome.WORKED.value: "It worked",
    Outcome.TRYING.value: "Still trying",
    Outcome.DROPPED.value: "Dropped it",
}


def require_held(conv: Convening, now: datetime, doing: str) -> None:
    if conv.status == ConveningStatus.CANCELLED.value:
        raise CommandError(f"{conv.title} (convening {conv.id}) was cancelled; you cannot {doing} it.")
    if now < conv.starts_at - CHECKIN_EARLY:
        raise CommandError(
            f"{conv.title} (convening {conv.id}) has not started yet; you cannot {doing} it "
            "until 15 minutes before the start."
        )


def attendance(session: Session, conv: Convening, member_id: int) -> ConveningAttendance | None:
    return (
        session.execute(
            select(ConveningAttendance).where(
                col(ConveningAttendance.convening_id) == conv.id,
                col(ConveningAttendance.member_id) == member_id,
            )
        )
        .scalars()
        .first()
    )


def mark(
    session: Session, conv: Convening, who: list[Member], now: datetime
) -> tuple[list[MemberRecord], int]:
    """A coordinator marks members as attending; returns those newly marked and how many already were."""
    require_held(conv, now, "mark attendance for")
    new, already = [], 0
    for m in who:
        record = record_of(session, m, create=True)
        assert record is not None
        if attendance(session, conv, record.id or 0) is not None:
            already += 1
            continue
        session.add(
            ConveningAttendance(
                convening_id=conv.id or 0,
                member_id=record.id or 0,
                how=AttendanceHow.MARKED.value,
                recorded_at=now,
            )
        )
        session.flush()
        new.append(record)
    return new, already


def check_in(session: Session, conv: Convening, member: Member, now: datetime) -> bool:
    """The member checks in; only from 15 minutes before the start until the end. False if already in."""
    if conv.status == ConveningStatus.CANCELLED.value:
        raise CommandError(
            f"{conv.title} (convening {conv.id}) was cancelled; there is nothing to check in to."
        )
    if not conv.starts_at - CHECKIN_EARLY <= now <= conv.ends_at:
        raise CommandError(
            f"Check-in for {conv.title} is open from 15 minutes before the start until the end "
            "only. If you were there, ask a coordinator to mark you: after attend "
            f"{conv.id} {mention(member)}"
        )
    record = record_of(session, member, create=True)
    assert record is not None
    if attendance(session, conv, record.id or 0) is not None:
        return False
    session.add(
        ConveningAttendance(
            convening_id=conv.id or 0,
            member_id=record.id or 0,
            how=AttendanceHow.CHECKED_IN.value,
            recorded_at=now,
        )
    )
    session.flush()
    return True


def attendee(
    session: Session, convening_id: int, member: Member, doing: str
) -> tuple[Convening, MemberRecord, ConveningAttendance]:
    """The convening and the member's attendance, or an error saying how to get recorded."""
    conv = get_convening(session, convening_id)
    record = record_of(session, member)
    row = attendance(session, conv, record.id or 0) if record is not None else None
    if record is None or row is None:
        raise CommandError(
            f"You are not recorded as attending {conv.title} (convening {conv.id}), so you "
            f"cannot {doing}. Check in during it (after checkin {conv.id}) or ask a coordinator "
            "to mark you."
        )
    return conv, record, row


def set_consent(session: Session, convening_id: int, member: Member, share: bool) -> Convening:
    conv, _, row = attendee(
        session, convening_id, member, "choose whether you appear in its attendance export"
    )
    row.share_in_export = share
    session.add(row)
    return conv


def add_note(session: Session, convening_id: int, member: Member, text: str, now: datetime) -> ConveningNote:
    conv, record, _ = attendee(session, convening_id, member, "add a note to it")
    note = ConveningNote(
        convening_id=conv.id or 0, member_id=record.id or 0, text=text.strip(), created_at=now
    )
    session.add(note)
    session.flush()
    return note


def follow_up_key(commitment_id: int, days: int) -> str:
    return f"commitment:{commitment_id}:{days}"


def commit(
    session: Session, convening_id: int, member: Member, text: str, now: datetime, community_tz: str
) -> tuple[Convening, Commitment]:
    """Record the member's one commitment for the convening and plan its follow-ups (outside the member's
    quiet hours)."""
    conv, record, _ = attendee(session, convening_id, member, "record a commitment for it")
    existing = (
        session.execute(
            select(Commitment).where(
                col(Commitment.convening_id) == conv.id, col(Commitment.member_id) == record.id
            )
        )
        .scalars()
        .first()
    )
    if existing is not None:
        raise CommandError(
            f"You already made your commitment for {conv.title} (commitment {existing.id}): "
            f'"{existing.text}". One commitment per convening.'
        )
    row = Commitment(convening_id=conv.id or 0, member_id=record.id or 0, text=text.strip(), made_at=now)
    session.add(row)
    session.flush()
    prefs = dm_prefs(session, record.id, community_tz)
    plans = []
    for days in FOLLOW_UP_DAYS:
        due = prefs.next_open(now + timedelta(days=days))
        assert due is not None  # no deadline: quiet hours always end
        plans.append(
            outbox.Plan(
                follow_up_key(row.id or 0, days),
                FOLLOW_UP,
                due,
                due + FOLLOW_UP_GRACE,
                {"commitment_id": row.id, "days": days},
            )
        )
    outbox.plan_many(session, plans)
    return conv, row


def own_commitment(session: Session, commitment_id: int, member: Member) -> Commitment:
    row = session.get(Commitment, commitment_id)
    if row is None:
        raise NotFound(f"There is no commitment {commitment_id}.")
    record = record_of(session, member)
    if record is None or record.id != row.member_id:
        raise NotAllowed("Only the member who made a commitment can answer for it or share it.")
    return row


def latest_answer(session: Session, commitment_id: int) -> CommitmentAnswer | None:
    return (
        session.execute(
            select(CommitmentAnswer)
            .where(col(CommitmentAnswer.commitment_id) == commitment_id)
            .order_by(col(CommitmentAnswer.answered_at).desc(), col(CommitmentAnswer.id).desc())
            .limit(1)
        )
        .scalars()
        .first()
    )


def is_dropped(session: Session, commitment_id: int) -> bool:
    answer = latest_answer(session, commitment_id)
    return answer is not None and answer.outcome == Outcome.DROPPED.value


def answer(
    session: Session, commitment_id: int, member: Member, text: str, now: datetime
) -> CommitmentAnswer:
    """Store an answer against the latest follow-up reached (30 before the first); "Dropped it" also
    cancels the follow-ups still to come."""
    row = own_commitment(session, commitment_id, member)
    words = " ".join(text.split())
    outcome = OUTCOME_WORDS.get(words.lower().rstrip(".!"), Outcome.WORDS)
    elapsed = now - row.made_at
    days = max([d for d in FOLLOW_UP_DAYS if elapsed >= timedelta(days=d)], default=FOLLOW_UP_DAYS[0])
    stored = (
        session.execute(
            select(CommitmentAnswer).where(
                col(CommitmentAnswer.commitment_id) == row.id, col(CommitmentAnswer.days) == days
            )
        )
        .scalars()
        .first()
    )
    if stored is None:
        stored = CommitmentAnswer(
            commitment_id=row.id or 0, days=days, outcome=outcome.value, text=words, answered_at=now
        )
    else:
        stored.outcome, stored.text, stored.answered_at = outcome.value, words, now
    session.add(stored)
    if outcome is Outcome.DROPPED:
        cancel_follow_ups(session, row.id or 0)
    session.flush()
    return stored


def cancel_follow_ups(session: Session, commitment_id: int) -> int:
    keys = [follow_up_key(commitment_id, d) for d in FOLLOW_UP_DAYS]
    result = session.execute(
        update(PlannedPost)
        .where(col(PlannedPost.key).in_(keys), col(PlannedPost.state) == PostState.PENDING.value)
        .values(state=PostState.CANCELLED.value)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


def export_rows(session: Session, conv: Convening) -> tuple[list[tuple[str, str, str]], int]:
    """(name, how, recorded at) of attendees who agreed to appear; and how many did not."""
    rows = session.execute(
        select(ConveningAttendance, MemberRecord)
        .join(MemberRecord, col(MemberRecord.id) == col(ConveningAttendance.member_id))
        .where(col(ConveningAttendance.convening_id) == conv.id)
        .order_by(col(ConveningAttendance.recorded_at), col(ConveningAttendance.id))
    ).all()
    shown = [
        (m.display_name or m.user_id, a.how.replace("_", " "), a.recorded_at.isoformat())
        for a, m in rows
        if a.share_in_export
    ]
    return shown, len(rows) - len(shown)


async def on_follow_up(d: Delivery) -> dict[str, Any]:
    p = d.post.payload

    def read(session: Session) -> tuple[Commitment | None, Convening | None, MemberRecord | None, str]:
        row = session.get(Commitment, p["commitment_id"])
        if row is None:
            return None, None, None, "gone"
        conv = session.get(Convening, row.convening_id)
        record = session.get(MemberRecord, row.member_id)
        if conv is None or record is None:
            return None, None, None, "gone"
        if is_dropped(session, row.id or 0):
            return row, conv, record, "dropped"
        prefs = dm_prefs(session, record.id, d.settings.timezone)
        if not prefs.reminders:
            return row, conv, record, "reminders off"
        if prefs.is_quiet(d.now):
            until = prefs.next_open(d.now, d.post.expires_at)
            if until is None:
                return row, conv, record, "quiet hours until after its last day"
            raise Later(until, "the member's quiet hours")
        return row, conv, record, ""

    row, conv, record, why = await d.store.run(read)
    if why or row is None or conv is None or record is None:
        return {"not_sent": why}
    days = int(p["days"])
    text = (
        f'{days} days ago, after {conv.title}, you said you would try: "{row.text}"\nHow is it going? '
        f"Answer in your own words with: after answer {row.id} <what happened>"
    )
    posted = await d.messenger(record.platform).send_dm(
        record.user_id,
        Reply(
            text,
            choices=tuple(
                Choice(label, f"after answer {row.id} {label}") for label in OUTCOME_LABEL.values()
            ),
        ),
        workspace=record.workspace,
    )
    return {"message_id": posted.message_id}


POSTS = {FOLLOW_UP: on_follow_up}


def export_member(session: Session, record: MemberRecord) -> dict[str, Any]:
    attended = (
        session.execute(
            select(ConveningAttendance)
            .where(col(ConveningAttendance.member_id) == record.id)
            .order_by(col(ConveningAttendance.id))
        )
        .scalars()
        .all()
    )
    notes = (
        session.execute(
            select(ConveningNote)
            .where(col(ConveningNote.member_id) == record.id)
            .order_by(col(ConveningNote.id))
        )
        .scalars()
        .all()
    )
    commitments = (
        session.execute(
            select(Commitment).where(col(Commitment.member_id) == record.id).order_by(col(Commitment.id))
        )
        .scalars()
        .all()
    )
    out = []
    for c in commitments:
        answers = (
            session.execute(
                select(CommitmentAnswer)
                .where(col(CommitmentAnswer.commitment_id) == c.id)
                .order_by(col(CommitmentAnswer.days))
            )
            .scalars()
            .all()
        )
        out.append(
            {
                "id": c.id,
                "convening": c.convening_id,
                "text": c.text,
                "made_at": c.made_at.isoformat(),
                "answers": [{"days": a.days, "outcome": a.outcome, "text": a.text} for a in answers],
            }
        )
    return {
        "attended": [
            {"convening": a.convening_id, "how": a.how, "share_in_export": a.share_in_export}
            for a in attended
        ],
        "notes": [
            {"convening": n.convening_id, "text": n.text, "at": n.created_at.isoformat()} for n in notes
        ],
        "commitments": out,
    }


def forget_member(session: Session, record: MemberRecord, now: datetime) -> int:
    """Attendance, notes, commitments and answers go, with the follow-ups still planned; a practice
    already shared stays (the practices hook handles it)."""
    changed = 0
    for c in (
        session.execute(select(Commitment).where(col(Commitment.member_id) == record.id)).scalars().all()
    ):
        cancel_follow_ups(session, c.id or 0)
        for a in session.execute(
            select(CommitmentAnswer).where(col(CommitmentAnswer.commitment_id) == c.id)
        ).scalars():
            session.delete(a)
            changed += 1
        session.delete(c)
        changed += 1
    for model in (ConveningNote, ConveningAttendance):
        for row in session.execute(select(model).where(col(model.member_id) == record.id)).scalars().all():
            session.delete(row)
            changed += 1
    session.flush()
    return changed
