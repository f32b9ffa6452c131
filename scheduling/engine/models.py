"""Tables of the scheduling engine: planned posts (the outbox) and the leader lease.

Times are aware UTC; SQLModel stores them on timezone-aware columns (timestamptz on PostgreSQL).
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import ClassVar

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from bot.store.models import utcnow


class PostState(str, Enum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    FORGOTTEN = "forgotten"  # for or about a member who asked to be forgotten: emptied, never sent


class PlannedPost(SQLModel, table=True):
    """One thing the bot will post. `key` is unique, so planning twice never posts twice."""

    __tablename__: ClassVar[str] = "planned_post"
    # claims, lapsed claims, wake-ups and renewals select by state first (migration 0018)
    __table_args__ = (Index("ix_planned_post_state_next_try_at", "state", "next_try_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=40)
    due_at: datetime
    expires_at: datetime  # the last moment it may still go out; after that it is skipped and reported
    state: str = Field(default=PostState.PENDING.value, max_length=20)
    next_try_at: datetime = Field(index=True)
    attempts: int = 0
    max_attempts: int = 4
    claimed_by: str = Field(default="", max_length=64)
    claimed_at: datetime | None = None
    sent_at: datetime | None = None
    last_error: str = Field(default="", max_length=500)
    payload: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))
    result: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class SchedulerLease(SQLModel, table=True):
    """Which process runs the scheduler. A holder renews it; another takes it over when it lapses."""

    __tablename__: ClassVar[str] = "scheduler_lease"

    name: str = Field(primary_key=True, max_length=40)
    holder: str = Field(max_length=64)
    expires_at: datetime
