"""Planned posts: the database is the source of truth, the scheduler only an alarm clock.

Every post the bot makes on its own (announcements, reminders, thread openings, wrap-ups, DMs) is a
`planned_post` row with a unique key and a state:

    pending --claim--> claimed --ok--> sent
       ^                  |--error, tries left--> pending (retried later, with backoff)
       |                  |--error, no tries left--> failed (coordinators are told)
       |                  |--not now (the reader's quiet hours)--> pending until then, the try not counted
       +-- a claim not renewed within CLAIM_WINDOW (its process died or stalled) goes back to pending
    pending past its expiry (the bot was down too long) --> skipped (coordinators are told)
    pending --cancel--> cancelled

A claim is one statement that takes only pending rows and stamps them with a token, so two processes
never claim one row. A claim is also fenced: right before each platform call the sender re-checks and
extends it in one UPDATE (`renew`), which matches only while the token is still on the row, the claim
has not lapsed and (for the leader) the scheduler lease is still its own. A process that paused past its
window, or lost the lease, therefore sends nothing more: another process has taken its posts over.
Every function here takes a session and runs inside the caller's transaction.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ARRAY, Integer, and_, any_, bindparam, cast, exists, func, or_, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from bot.messenger import time_mark
from bot.store.db import Store, rowcount
from scheduling.engine.models import PlannedPost, PostState, SchedulerLease

BACKOFF = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(minutes=30))
CLAIM_WINDOW = timedelta(seconds=20)  # a claim not renewed for this long has lapsed (see renew)
LEASE_NAME = "scheduler"


@dataclass(frozen=True)
class Claimed:
    """A claimed post, detached from any session: what a delivery handler needs."""

    id: int
    key: str
    kind: str
    due_at: datetime
    expires_at: datetime
    attempts: int
    max_attempts: int
    payload: dict[str, Any]
    token: str


@dataclass(frozen=True)
class Plan:
    """One post to plan: see plan_many."""

    key: str
    kind: str
    due_at: datetime
    expires_at: datetime
    payload: dict[str, Any] | None = None
    max_attempts: int = 4


_REPLANNABLE = (PostState.PENDING.value, PostState.CANCELLED.value, PostState.SKIPPED.value)


PLAN_BATCH = 1000  # rows per multi-row INSERT (SQLAlchemy's insertmanyvalues pages at this size)


def plan_many(session: Session, plans: Sequence[Plan]) -> int:
    """Plan posts in bulk, inside the caller's transaction. Every key is offered to INSERT ... ON
    CONFLICT (key) DO NOTHING RETURNING key in batches (on SQLite multi-row VALUES of PLAN_BATCH rows,
    on PostgreSQL one array per column through unnest), so a fresh plan costs no lookup and a second
    process planning the same key at the same moment is harmless. Keys that were already there and are
    still pending, cancelled or skipped are then re-planned in one batched UPDATE; sent, failed and
    claimed posts are left alone. Returns how many new rows were inserted. For thousands of posts
    outside a command's own transaction use `plan_in_chunks`, which commits every chunk so no
    transaction is held long enough to delay commands."""
    if not plans:
        return 0
    table = PlannedPost.__table__  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    by_key = {p.key: p for p in plans}  # the last plan for a key wins
    rows = [
        {
            "key": p.key,
            "kind": p.kind,
            "due_at": p.due_at,
            "expires_at": max(p.expires_at, p.due_at),
            "next_try_at": p.due_at,
            "payload": json.dumps(p.payload or {}, sort_keys=True),
            "max_attempts": p.max_attempts,
            "state": PostState.PENDING.value,
            "attempts": 0,
            "claimed_by": "",
            "last_error": "",
            "result": "",
            "created_at": now,
            "updated_at": now,
        }
        for p in by_key.values()
    ]
    if session.get_bind().dialect.name == "postgresql":
        return _plan_postgresql(session, rows, now)
    stmt = sqlite_insert(table).on_conflict_do_nothing(index_elements=["key"]).returning(table.c.key)
    inserted: set[str] = set()
    for i in range(0, len(rows), PLAN_BATCH):
        inserted.update(session.execute(stmt, rows[i : i + PLAN_BATCH]).scalars())
    again = [r for r in rows if r["key"] not in inserted]
    if again:
        session.execute(
            update(table)
            .where(table.c.key == bindparam("k"), or_(*(table.c.state == state for state in _REPLANNABLE)))
            .values(
                kind=bindparam("kind_"),
                due_at=bindparam("due_"),
                expires_at=bindparam("exp_"),
                next_try_at=bindparam("due_"),
                payload=bindparam("payload_"),
                max_attempts=bindparam("max_"),
                state=PostState.PENDING.value,
                attempts=0,
                last_error="",
                claimed_by="",
                updated_at=now,
            ),
            [
                {
                    "k": r["key"],
                    "kind_": r["kind"],
                    "due_": r["due_at"],
                    "exp_": r["expires_at"],
                    "payload_": r["payload"],
                    "max_": r["max_attempts"],
                }
                for r in again
            ],
        )
    return len(inserted)


_PG_ROWS = (
    "unnest(CAST(:keys AS varchar[]), CAST(:kinds AS varchar[]), CAST(:dues AS timestamptz[]), "
    "CAST(:exps AS timestamptz[]), CAST(:payloads AS text[]), CAST(:maxes AS integer[])) "
    "AS t(key, kind, due_at, expires_at, payload, max_attempts)"
)
_PG_INSERT = text(
    "INSERT INTO planned_post (key, kind, due_at, expires_at, next_try_at, payload, max_attempts, state, "
    "attempts, claimed_by, last_error, result, created_at, updated_at) "
    "SELECT t.key, t.kind, t.due_at, t.expires_at, t.due_at, t.payload, t.max_attempts, 'pending', 0, '', "
    f"'', '', :now, :now FROM {_PG_ROWS} ON CONFLICT (key) DO NOTHING RETURNING key"
)
_PG_REPLAN = text(
    "UPDATE planned_post AS p SET kind = t.kind, due_at = t.due_at, expires_at = t.expires_at, "
    "next_try_at = t.due_at, payload = t.payload, max_attempts = t.max_attempts, state = 'pending', "
    f"attempts = 0, last_error = '', claimed_by = '', updated_at = :now FROM {_PG_ROWS} "
    "WHERE p.key = t.key AND p.state IN ('pending', 'cancelled', 'skipped')"
)
PG_PLAN_BATCH = 5000  # rows per statement on PostgreSQL: one array per column, one round trip


def _pg_columns(rows: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    return {
        "keys": [r["key"] for r in rows],
        "kinds": [r["kind"] for r in rows],
        "dues": [r["due_at"] for r in rows],
        "exps": [r["expires_at"] for r in rows],
        "payloads": [r["payload"] for r in rows],
        "maxes": [r["max_attempts"] for r in rows],
        "now": now,
    }


def _plan_postgresql(session: Session, rows: list[dict[str, Any]], now: datetime) -> int:
    """plan_many on PostgreSQL: each batch goes as one array per column into INSERT ... SELECT FROM
    unnest(...) ON CONFLICT DO NOTHING RETURNING key (a short statement, so the driver and the server
    parse it once, not once per row); keys already there are re-planned the same way, in one UPDATE."""
    inserted: set[str] = set()
    for i in range(0, len(rows), PG_PLAN_BATCH):
        batch = rows[i : i + PG_PLAN_BATCH]
        inserted.update(session.execute(_PG_INSERT, _pg_columns(batch, now)).scalars())
    again = [r for r in rows if r["key"] not in inserted]
    for i in range(0, len(again), PG_PLAN_BATCH):
        session.execute(_PG_REPLAN, _pg_columns(again[i : i + PG_PLAN_BATCH], now))
    return len(inserted)


PLAN_CHUNK = 1000  # posts per transaction in plan_in_chunks


async def plan_in_chunks(
    store: Store, plans: Sequence[Plan], chunk: int = PLAN_CHUNK, *, pause: float = 0.0
) -> int:
    """Plan many posts in short transactions of `chunk` posts each, committed one after another, so
    commands running meanwhile wait for one chunk at most (a few milliseconds), never for the whole
    plan. With `pause`, it rests `pause` times as long as each chunk took before the next one, leaving
    the process (two cores, one interpreter lock) to the commands that arrive meanwhile: background
    planning uses it, bulk planning that someone waits for does not. Each chunk is idempotent
    (plan_many), so a plan cut short by a crash is completed by planning the same list again. Returns
    how many new rows were inserted."""
    total = 0
    for i in range(0, len(plans), chunk):
        part = list(plans[i : i + chunk])
        started = time.perf_counter()
        total += await store.run(lambda s, p=part: plan_many(s, p))
        if pause and i + chunk < len(plans):
            await asyncio.sleep((time.perf_counter() - started) * pause)
    return total


def plan(
    session: Session,
    *,
    key: str,
    kind: str,
    due_at: datetime,
    expires_at: datetime,
    payload: dict[str, Any] | None = None,
    max_attempts: int = 4,
) -> None:
    """Plan one post, or re-plan a pending (or cancelled) one with the same key. Sent posts stay sent."""
    plan_many(session, [Plan(key, kind, due_at, expires_at, payload, max_attempts)])


def cancel(session: Session, key_prefix: str) -> int:
    """Cancel every pending post whose key starts with `key_prefix`."""
    result = session.execute(
        update(PlannedPost)
        .where(
            col(PlannedPost.key).startswith(key_prefix, autoescape=True),
            col(PlannedPost.state) == PostState.PENDING.value,
        )
        .values(state=PostState.CANCELLED.value)
    )
    return rowcount(result)


def skip_expired(session: Session, now: datetime) -> list[PlannedPost]:
    """Mark pending posts past their expiry as skipped and return them (to be reported)."""
    stale = list(
        session.execute(
            select(PlannedPost).where(
                col(PlannedPost.state) == PostState.PENDING.value, col(PlannedPost.expires_at) < now
            )
        ).scalars()
    )
    for post in stale:
        post.state = PostState.SKIPPED.value
        post.last_error = (
            f"missed: due {time_mark(post.due_at)}, and by {time_mark(post.expires_at)} it was too late "
            "to send"
        )
        post.updated_at = now
        session.add(post)
    return stale


def release_stale_claims(
    session: Session, now: datetime, window: timedelta = CLAIM_WINDOW, *, keep: Sequence[str] = ()
) -> int:
    """Claims not renewed within `window` belong to a process that died or stalled: make them pending
    again. Its fence (renew) refuses such a claim from then on, so the post is sent by one process only.
    `keep`: the claims (tokens) the calling process is still working on; their fences decide those, so
    a post it sent a moment ago and has not yet recorded is never handed to its own next batch."""
    stmt = update(PlannedPost).where(
        col(PlannedPost.state) == PostState.CLAIMED.value, col(PlannedPost.claimed_at) <= now - window
    )
    if keep:
        stmt = stmt.where(col(PlannedPost.claimed_by).not_in(list(keep)))
    return rowcount(session.execute(stmt.values(state=PostState.PENDING.value, claimed_by="")))


def release(session: Session, token: str) -> int:
    """Give back a batch claimed but not worked on (its process is stopping): pending again at once,
    without counting the try it never had."""
    result = session.execute(
        update(PlannedPost)
        .where(col(PlannedPost.claimed_by) == token, col(PlannedPost.state) == PostState.CLAIMED.value)
        .values(state=PostState.PENDING.value, claimed_by="", attempts=col(PlannedPost.attempts) - 1)
    )
    return rowcount(result)


def _holds_lease(holder: str) -> Any:
    return exists().where(col(SchedulerLease.name) == LEASE_NAME, col(SchedulerLease.holder) == holder)


def claim_due(
    session: Session, now: datetime, holder: str, limit: int = 200, *, lease: str | None = None
) -> list[Claimed]:
    """Atomically claim up to `limit` due posts, in one statement: a CTE picks the ids once (on
    PostgreSQL `FOR UPDATE SKIP LOCKED`, so concurrent claimers take different rows), then they are
    updated. With `lease`, nothing is claimed unless that holder has the scheduler lease."""
    table = PlannedPost.__table__  # type: ignore[attr-defined]
    token = f"{holder}:{uuid.uuid4().hex[:12]}"
    due = (
        select(table.c.id)
        .where(table.c.state == PostState.PENDING.value, table.c.next_try_at <= now)
        .order_by(table.c.next_try_at, table.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if lease is not None:
        due = due.where(_holds_lease(lease))
    picked = due.cte("picked").prefix_with("MATERIALIZED", dialect="postgresql")
    if session.get_bind().dialect.name == "postgresql":
        # The picked ids as one array, so each row is found by its key: joined to the CTE instead, the
        # planner hash-joins a scan of every pending post (30 of the 45 ms of claiming 1,000 among 100,000).
        ids = cast(select(func.array_agg(picked.c.id)).scalar_subquery(), ARRAY(Integer))
        chosen = table.c.id == any_(ids)
    else:
        chosen = table.c.id == picked.c.id
    rows = session.execute(
        update(table)
        .where(chosen, table.c.state == PostState.PENDING.value)
        .values(
            state=PostState.CLAIMED.value,
            claimed_by=token,
            claimed_at=now,
            attempts=table.c.attempts + 1,
            updated_at=now,
        )
        .returning(
            table.c.id,
            table.c.key,
            table.c.kind,
            table.c.due_at,
            table.c.expires_at,
            table.c.attempts,
            table.c.max_attempts,
            table.c.payload,
            table.c.next_try_at,
        )
    ).all()
    rows = sorted(rows, key=lambda r: (r.next_try_at, r.id))
    return [
        Claimed(
            r.id,
            r.key,
            r.kind,
            r.due_at,
            r.expires_at,
            r.attempts,
            r.max_attempts,
            json.loads(r.payload or "{}"),
            token,
        )
        for r in rows
    ]


def renew(
    session: Session,
    token: str,
    now: datetime,
    ids: Sequence[int] | None = None,
    *,
    lease: str | None = None,
    window: timedelta = CLAIM_WINDOW,
) -> set[int]:
    """The fence: re-check and extend claims in one UPDATE. A claim holds while it is still ours
    (`token`), still claimed, renewed within `window` and, with `lease`, while that holder still has the
    scheduler lease. Returns the ids that hold (of `ids`, or of the whole claim when `ids` is None);
    only those may be sent."""
    table = PlannedPost.__table__  # type: ignore[attr-defined]
    stmt = (
        update(table)
        .where(
            table.c.claimed_by == token,
            table.c.state == PostState.CLAIMED.value,
            table.c.claimed_at > now - window,
        )
        .values(claimed_at=now)
        .returning(table.c.id)
    )
    if ids is not None:
        stmt = stmt.where(table.c.id.in_(list(ids)))
    if lease is not None:
        stmt = stmt.where(_holds_lease(lease))
    return set(session.execute(stmt).scalars())


_PG_SENT = text(
    "UPDATE planned_post AS p SET state = 'sent', sent_at = t.at, updated_at = t.at, last_error = '', "
    "result = t.res FROM unnest(CAST(:ids AS integer[]), CAST(:tokens AS varchar[]), "
    "CAST(:ats AS timestamptz[]), CAST(:results AS text[])) AS t(id, token, at, res) "
    "WHERE p.id = t.id AND p.claimed_by = t.token AND p.state = 'claimed' RETURNING p.id"
)


SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"
_SQLITE_SENT = text(
    "UPDATE planned_post SET state = 'sent', sent_at = json_extract(t.value, '$[2]'), "
    "updated_at = json_extract(t.value, '$[2]'), last_error = '', result = json_extract(t.value, '$[3]') "
    "FROM json_each(:rows) AS t WHERE planned_post.id = json_extract(t.value, '$[0]') "
    "AND planned_post.claimed_by = json_extract(t.value, '$[1]') AND +planned_post.state = 'claimed' "
    "RETURNING planned_post.id"
)


def mark_sent(session: Session, done: list[tuple[Claimed, datetime, dict[str, Any] | None]]) -> set[int]:
    """Record posts as sent, in one transaction: on PostgreSQL one UPDATE ... FROM unnest(...) RETURNING
    (one round trip for the whole group), on SQLite one UPDATE ... FROM json_each(...). Returns the ids
    whose claim still held (a lapsed claim means another process may have taken the post over)."""
    if not done:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        return set(
            session.execute(
                _PG_SENT,
                {
                    "ids": [c.id for c, _, _ in done],
                    "tokens": [c.token for c, _, _ in done],
                    "ats": [at for _, at, _ in done],
                    "results": [json.dumps(r or {}, sort_keys=True) for _, _, r in done],
                },
            ).scalars()
        )
    # SQLite: one UPDATE ... FROM json_each(...) RETURNING, the rows passed as one JSON array, the times
    # in UTC written as SQLAlchemy writes a DateTime on SQLite. The `+` on state keeps SQLite from walking
    # every claimed post by the state index for each row given: each given row finds its post by id.
    rows = [
        [c.id, c.token, at.astimezone(UTC).strftime(SQLITE_TIME), json.dumps(r or {}, sort_keys=True)]
        for c, at, r in done
    ]
    return set(session.execute(_SQLITE_SENT, {"rows": json.dumps(rows)}).scalars())


def mark_failed(session: Session, claimed: Claimed, now: datetime, error: str, *, retryable: bool) -> str:
    """Record a failed try. Returns the new state: pending (to retry later) or failed (given up)."""
    give_up = not retryable or claimed.attempts >= claimed.max_attempts
    state = PostState.FAILED if give_up else PostState.PENDING
    next_try = now + BACKOFF[min(claimed.attempts - 1, len(BACKOFF) - 1)]
    session.execute(
        update(PlannedPost)
        .where(col(PlannedPost.id) == claimed.id, col(PlannedPost.claimed_by) == claimed.token)
        .values(
            state=state.value, claimed_by="", last_error=error[:500], updated_at=now, next_try_at=next_try
        )
    )
    return state.value


def postpone(session: Session, claimed: Claimed, until: datetime, now: datetime, why: str) -> None:
    """Give a claimed post back, to be tried at `until`; the try does not count (the reader's quiet hours
    are not a failure)."""
    session.execute(
        update(PlannedPost)
        .where(col(PlannedPost.id) == claimed.id, col(PlannedPost.claimed_by) == claimed.token)
        .values(
            state=PostState.PENDING.value,
            claimed_by="",
            attempts=col(PlannedPost.attempts) - 1,
            next_try_at=until,
            last_error=f"waiting: {why}"[:500],
            updated_at=now,
        )
    )


def next_due(session: Session) -> datetime | None:
    return session.execute(
        select(col(PlannedPost.next_try_at))
        .where(col(PlannedPost.state) == PostState.PENDING.value)
        .order_by(col(PlannedPost.next_try_at))
        .limit(1)
    ).scalar()


def next_wakeup(session: Session, window: timedelta = CLAIM_WINDOW) -> datetime | None:
    """When the scheduler must look next: the next pending post falls due, or the oldest claim lapses
    (its process died: release_stale_claims then hands the post to whoever looks)."""
    oldest = session.execute(
        select(func.min(col(PlannedPost.claimed_at))).where(col(PlannedPost.state) == PostState.CLAIMED.value)
    ).scalar()
    times = [t for t in (next_due(session), oldest + window if oldest else None) if t is not None]
    return min(times, default=None)


def retry(session: Session, post_id: int, now: datetime) -> tuple[PlannedPost, bool] | None:
    """Send a failed, skipped or cancelled post again now (a coordinator's decision). Returns the post and
    whether it was made due again (False for one that had not failed); None when there is no such post."""
    post = session.get(PlannedPost, post_id)
    if post is None:
        return None
    if post.state not in (PostState.FAILED.value, PostState.SKIPPED.value, PostState.CANCELLED.value):
        return post, False
    post.state, post.attempts, post.next_try_at, post.last_error = PostState.PENDING.value, 0, now, ""
    post.expires_at = max(post.expires_at, now + timedelta(hours=1))
    post.updated_at = now
    session.add(post)
    return post, True


def take_lease(session: Session, name: str, holder: str, now: datetime, duration: timedelta) -> bool:
    """Become (or stay) the one process running the scheduler, until `now + duration`."""
    expires = now + duration
    taken = session.execute(
        update(SchedulerLease)
        .where(
            col(SchedulerLease.name) == name,
            or_(col(SchedulerLease.holder) == holder, and_(col(SchedulerLease.expires_at) < now)),
        )
        .values(holder=holder, expires_at=expires)
    )
    if rowcount(taken):
        return True
    if session.get(SchedulerLease, name) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(SchedulerLease(name=name, holder=holder, expires_at=expires))
            session.flush()
        return True
    except IntegrityError:
        return False


def drop_lease(session: Session, name: str, holder: str) -> None:
    session.execute(
        update(SchedulerLease)
        .where(col(SchedulerLease.name) == name, col(SchedulerLease.holder) == holder)
        .values(expires_at=datetime(2000, 1, 1, tzinfo=UTC))
    )
