"""Tables for convenings: one-off meetings of a network, the members' answers, calendar feed tokens.

Times are aware UTC (SQLModel's UTCDateTime on timezone-aware columns), on SQLite too.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import ClassVar

from sqlalchemy import Column, ForeignKey, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.store.models import utcnow

DEFAULT_LEADS = "7d,1d,1h"


class ConveningStatus(str, Enum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class Answer(str, Enum):
    GOING = "going"
    MAYBE = "maybe"
    NOT_GOING = "not_going"
    WAITLIST = "waitlist"  # asked to go when the convening was full; promoted first come, first served


class Convening(SQLModel, table=True):
    """A meeting of one network. Instants are stored in UTC; `tz` is the zone it was scheduled in."""

    __tablename__: ClassVar[str] = "convening"

    id: int | None = Field(default=None, primary_key=True)
    network_id: int = Field(
        sa_column=Column(Integer, ForeignKey("network.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    title: str = Field(max_length=200)
    agenda: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    starts_at: datetime = Field(index=True)
    ends_at: datetime
    tz: str = Field(max_length=64)
    place: str = Field(default="", max_length=500)
    capacity: int | None = None
    status: str = Field(default=ConveningStatus.SCHEDULED.value, max_length=20)
    sequence: int = 0  # raised on every change, for the .ics
    uid: str = Field(default="", max_length=200)
    lead_times: str = Field(default=DEFAULT_LEADS, max_length=100)
    series_id: int | None = Field(default=None, index=True)  # convening_series.id, if part of a series
    created_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("member.id", ondelete="SET NULL"))
    )
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Rsvp(SQLModel, table=True):
    """One member's answer to one convening."""

    __tablename__: ClassVar[str] = "rsvp"
    __table_args__ = (UniqueConstraint("convening_id", "member_id", name="uq_rsvp"),)

    id: int | None = Field(default=None, primary_key=True)
    convening_id: int = Field(
        sa_column=Column(Integer, ForeignKey("convening.id", ondelete="CASCADE"), nullable=False)
    )
    member_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    answer: str = Field(max_length=20)
    remind_on_maybe: bool = False
    answered_at: datetime = Field(default_factory=utcnow)


class CalendarToken(SQLModel, table=True):
    """The secret in a subscribable feed's address: one per member ("what I'm going to") or network."""

    __tablename__: ClassVar[str] = "calendar_token"
    __table_args__ = (UniqueConstraint("owner_kind", "owner_id", name="uq_calendar_token_owner"),)

    id: int | None = Field(default=None, primary_key=True)
    owner_kind: str = Field(max_length=20)  # member | network
    owner_id: int
    token: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)


class ConveningMirror(SQLModel, table=True):
    """A convening's copy on a platform calendar (a Discord Guild Scheduled Event), kept in step with it."""

    __tablename__: ClassVar[str] = "convening_mirror"
    __table_args__ = (UniqueConstraint("convening_id", "platform", "scope_id", name="uq_convening_mirror"),)

    id: int | None = Field(default=None, primary_key=True)
    convening_id: int = Field(
        sa_column=Column(Integer, ForeignKey("convening.id", ondelete="CASCADE"), nullable=False)
    )
    platform: str = Field(max_length=20)
    scope_id: str = Field(max_length=100)  # the guild (server) the event lives in
    external_id: str = Field(max_length=100)
    synced_sequence: int = 0  # the convening's sequence the platform copy reflects
    updated_at: datetime = Field(default_factory=utcnow)


class ConveningSeries(SQLModel, table=True):
    """A repeating convening: the cadence (scheduling/time/cadence.py storage form) its occurrences follow."""

    __tablename__: ClassVar[str] = "convening_series"

    id: int | None = Field(default=None, primary_key=True)
    network_id: int = Field(
        sa_column=Column(Integer, ForeignKey("network.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    title: str = Field(max_length=200)
    cadence: str = Field(sa_column=Column(Text, nullable=False))
    created_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("member.id", ondelete="SET NULL"))
    )
    created_at: datetime = Field(default_factory=utcnow)
    cancelled_at: datetime | None = None
