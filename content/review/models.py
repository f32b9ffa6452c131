"""Tables for practice review: the community's review settings, each practice's review state, and the
civic dates (elections per jurisdiction) after which practices there fall due again."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import ClassVar

from sqlalchemy import Column, Date, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.store.models import utcnow


class ReviewState(str, Enum):
    CURRENT = "current"  # reviewed (or new); due at due_at
    ASKED = "asked"  # due: its owner (or the coordinators) were asked
    RETIRED = "retired"  # retired at a review; no more reviews


class ReviewSettings(SQLModel, table=True):
    """One row: how often practices fall due, how long an owner has to answer, the fiscal year's start."""

    __tablename__: ClassVar[str] = "review_settings"

    id: int = Field(default=1, primary_key=True)
    every_days: int = 365
    answer_days: int = 14
    fiscal_year_start: str = Field(default="", max_length=5)  # "MM-DD", or "" for none
    updated_at: datetime = Field(default_factory=utcnow)


class PracticeReview(SQLModel, table=True):
    """A practice's review: who owns it (None: the coordinators), when it falls due and why."""

    __tablename__: ClassVar[str] = "practice_review"

    practice_id: int = Field(
        sa_column=Column(Integer, ForeignKey("practice.id", ondelete="CASCADE"), primary_key=True)
    )
    owner_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("member.id", ondelete="SET NULL"), index=True)
    )
    state: str = Field(default=ReviewState.CURRENT.value, max_length=20, index=True)
    due_at: datetime
    reason: str = Field(default="interval", max_length=200)
    cycle: int = 0  # raised each time the review falls due: it keys the DMs, so each goes once
    asked_at: datetime | None = None
    escalated_at: datetime | None = None
    owner_left_at: datetime | None = None  # the owner left: due now, and it goes to the coordinators
    last_outcome: str = Field(default="", max_length=40)


class Election(SQLModel, table=True):
    """An election date in a jurisdiction: practices there fall due for review after it."""

    __tablename__: ClassVar[str] = "civic_election"
    __table_args__ = (UniqueConstraint("jurisdiction_key", "held_on", name="uq_civic_election"),)

    id: int | None = Field(default=None, primary_key=True)
    jurisdiction_key: str = Field(max_length=200, index=True)  # lower case, single spaces
    jurisdiction: str = Field(max_length=200)
    held_on: date = Field(sa_column=Column(Date, nullable=False))
    note: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
