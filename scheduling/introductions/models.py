"""Tables for peer introductions (issue 4 §9): who opted in per network, rounds, skips, pairings and
whether the people introduced met.

A round is planned by a network coordinator: `announced` while its announcement and pairing are ahead,
`paired` once the groups are made, `done` once the follow-up went out. A pairing is a group of 2 or 3
members (one `intro_pairing` row, one `intro_pairing_member` row per person, holding their met answer).
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import ClassVar

from sqlalchemy import Column, DateTime, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.store.models import utcnow


class RoundState(str, Enum):
    ANNOUNCED = "announced"
    PAIRED = "paired"
    DONE = "done"


class IntroOptIn(SQLModel, table=True):
    __tablename__: ClassVar[str] = "intro_opt_in"
    __table_args__ = (UniqueConstraint("network_id", "member_id", name="uq_intro_opt_in"),)

    id: int | None = Field(default=None, primary_key=True)
    network_id: int = Field(
        sa_column=Column(Integer, ForeignKey("network.id", ondelete="CASCADE"), nullable=False)
    )
    member_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class IntroRound(SQLModel, table=True):
    __tablename__: ClassVar[str] = "intro_round"

    id: int | None = Field(default=None, primary_key=True)
    network_id: int = Field(
        sa_column=Column(Integer, ForeignKey("network.id", ondelete="CASCADE"), nullable=False)
    )
    scheduled_for: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    state: str = Field(default=RoundState.ANNOUNCED.value, max_length=20)
    created_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("member.id", ondelete="SET NULL"))
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class IntroSkip(SQLModel, table=True):
    __tablename__: ClassVar[str] = "intro_skip"
    __table_args__ = (UniqueConstraint("round_id", "member_id", name="uq_intro_skip"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(
        sa_column=Column(Integer, ForeignKey("intro_round.id", ondelete="CASCADE"), nullable=False)
    )
    member_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False)
    )


class IntroPairing(SQLModel, table=True):
    __tablename__: ClassVar[str] = "intro_pairing"

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(
        sa_column=Column(Integer, ForeignKey("intro_round.id", ondelete="CASCADE"), nullable=False)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class IntroPairingMember(SQLModel, table=True):
    """One person in one pairing, and their answer to "did you meet?" (None until they answer)."""

    __tablename__: ClassVar[str] = "intro_pairing_member"
    __table_args__ = (UniqueConstraint("pairing_id", "member_id", name="uq_intro_pairing_member"),)

    id: int | None = Field(default=None, primary_key=True)
    pairing_id: int = Field(
        sa_column=Column(Integer, ForeignKey("intro_pairing.id", ondelete="CASCADE"), nullable=False)
    )
    member_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False)
    )
    met: bool | None = None
    answered_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
