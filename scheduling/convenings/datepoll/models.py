"""Tables for finding a date: a poll of proposed slots and the members' marks. Times are aware UTC."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import ClassVar

from sqlalchemy import Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.store.models import utcnow


class PollStatus(str, Enum):
    OPEN = "open"
    CONFIRMED = "confirmed"


class DatePoll(SQLModel, table=True):
    """A coordinator's proposal of several slots for a network's convening."""

    __tablename__: ClassVar[str] = "date_poll"

    id: int | None = Field(default=None, primary_key=True)
    network_id: int = Field(
        sa_column=Column(Integer, ForeignKey("network.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    title: str = Field(max_length=200)
    tz: str = Field(max_length=64)
    duration_minutes: int
    status: str = Field(default=PollStatus.OPEN.value, max_length=20)
    convening_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("convening.id", ondelete="SET NULL"))
    )
    created_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("member.id", ondelete="SET NULL"))
    )
    created_at: datetime = Field(default_factory=utcnow)
    closed_at: datetime | None = None


class DatePollSlot(SQLModel, table=True):
    """One proposed start; `position` is the number members mark (1, 2, ...)."""

    __tablename__: ClassVar[str] = "date_poll_slot"
    __table_args__ = (UniqueConstraint("poll_id", "position", name="uq_date_poll_slot"),)

    id: int | None = Field(default=None, primary_key=True)
    poll_id: int = Field(
        sa_column=Column(Integer, ForeignKey("date_poll.id", ondelete="CASCADE"), nullable=False)
    )
    position: int
    starts_at: datetime


class DatePollMark(SQLModel, table=True):
    """A member saying one slot works for them."""

    __tablename__: ClassVar[str] = "date_poll_mark"
    __table_args__ = (UniqueConstraint("slot_id", "member_id", name="uq_date_poll_mark"),)

    id: int | None = Field(default=None, primary_key=True)
    poll_id: int = Field(
        sa_column=Column(Integer, ForeignKey("date_poll.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    slot_id: int = Field(
        sa_column=Column(Integer, ForeignKey("date_poll_slot.id", ondelete="CASCADE"), nullable=False)
    )
    member_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    marked_at: datetime = Field(default_factory=utcnow)
