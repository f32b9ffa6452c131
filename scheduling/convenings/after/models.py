"""Tables for after a convening: who attended (and whether they appear in the attendance export), the
members' notes, their one commitment per convening, and their answers to its 30/60/90-day follow-ups.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import ClassVar

from sqlalchemy import Column, ForeignKey, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.store.models import utcnow

FOLLOW_UP_DAYS = (30, 60, 90)


class AttendanceHow(str, Enum):
    MARKED = "marked"  # by a coordinator of the convening's network
    CHECKED_IN = "checked_in"  # by the member, during the convening


class Outcome(str, Enum):
    WORKED = "worked"
    TRYING = "trying"
    DROPPED = "dropped"
    WORDS = "words"  # answered in their own words only


class ConveningAttendance(SQLModel, table=True):
    __tablename__: ClassVar[str] = "convening_attendance"
    __table_args__ = (UniqueConstraint("convening_id", "member_id", name="uq_convening_attendance"),)

    id: int | None = Field(default=None, primary_key=True)
    convening_id: int = Field(
        sa_column=Column(Integer, ForeignKey("convening.id", ondelete="CASCADE"), nullable=False)
    )
    member_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    how: str = Field(max_length=20)
    share_in_export: bool = False  # the member's choice; nobody appears in an export without it
    recorded_at: datetime = Field(default_factory=utcnow)


class ConveningNote(SQLModel, table=True):
    __tablename__: ClassVar[str] = "convening_note"

    id: int | None = Field(default=None, primary_key=True)
    convening_id: int = Field(
        sa_column=Column(Integer, ForeignKey("convening.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    member_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class Commitment(SQLModel, table=True):
    """ "What I will try": one per member per convening."""

    __tablename__: ClassVar[str] = "commitment"
    __table_args__ = (UniqueConstraint("convening_id", "member_id", name="uq_commitment"),)

    id: int | None = Field(default=None, primary_key=True)
    convening_id: int = Field(
        sa_column=Column(Integer, ForeignKey("convening.id", ondelete="CASCADE"), nullable=False)
    )
    member_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    text: str = Field(sa_column=Column(Text, nullable=False))
    made_at: datetime = Field(default_factory=utcnow)
    practice_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("practice.id", ondelete="SET NULL"))
    )


class CommitmentAnswer(SQLModel, table=True):
    """The answer to one follow-up (30, 60 or 90 days); answering again replaces it."""

    __tablename__: ClassVar[str] = "commitment_answer"
    __table_args__ = (UniqueConstraint("commitment_id", "days", name="uq_commitment_answer"),)

    id: int | None = Field(default=None, primary_key=True)
    commitment_id: int = Field(
        sa_column=Column(Integer, ForeignKey("commitment.id", ondelete="CASCADE"), nullable=False)
    )
    days: int
    outcome: str = Field(max_length=20)
    text: str = Field(sa_column=Column(Text, nullable=False))
    answered_at: datetime = Field(default_factory=utcnow)
