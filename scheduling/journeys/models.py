"""Tables for leadership-transition journeys (issue 18): the journeys as the files last said, each
member's run through one, what each step did, answers to steps' questions, peers who offered to talk and
whom they were introduced to, and a leaving member's handover note.

A run is `active`, `paused`, `stopped` or `done`. A step of a run is logged once (`journey_step_log`,
unique per run and step): `sent` by DM, `held` (reminders by DM were off: shown in `me transition status`
instead), `skipped` by the member, or `passed` (its day was behind them when they started).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import ClassVar

from sqlalchemy import Column, DateTime, ForeignKey, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.store.models import utcnow


class RunState(str, Enum):
    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"
    DONE = "done"


class StepState(str, Enum):
    SENT = "sent"
    HELD = "held"
    SKIPPED = "skipped"
    PASSED = "passed"


def _ts() -> Column:  # type: ignore[type-arg]
    return Column(DateTime(timezone=True), nullable=False)


def _member(ondelete: str = "CASCADE", nullable: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(Integer, ForeignKey("member.id", ondelete=ondelete), nullable=nullable, index=True)


class Journey(SQLModel, table=True):
    """A journey as content/journeys/<slug>.yaml last said (the whole definition, as JSON)."""

    __tablename__: ClassVar[str] = "journey"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=60, unique=True)
    title: str = Field(max_length=200)
    definition: str = Field(sa_column=Column(Text, nullable=False))
    source_hash: str = Field(max_length=64)
    active: bool = True  # false once its file is gone: runs already on it go on
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class JourneyRun(SQLModel, table=True):
    __tablename__: ClassVar[str] = "journey_run"

    id: int | None = Field(default=None, primary_key=True)
    journey_id: int = Field(
        sa_column=Column(Integer, ForeignKey("journey.id", ondelete="CASCADE"), nullable=False)
    )
    member_id: int = Field(sa_column=_member())
    role: str = Field(max_length=40)
    level: str = Field(max_length=20)
    starts_on: date
    state: str = Field(default=RunState.ACTIVE.value, max_length=20)
    paused_on: date | None = None
    shift_days: int = 0  # days paused so far: every later step moves by this much
    started_by: int | None = Field(default=None, sa_column=_member("SET NULL", True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class JourneyStepLog(SQLModel, table=True):
    __tablename__: ClassVar[str] = "journey_step_log"
    __table_args__ = (UniqueConstraint("run_id", "step", name="uq_journey_step_log"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(
        sa_column=Column(Integer, ForeignKey("journey_run.id", ondelete="CASCADE"), nullable=False)
    )
    step: str = Field(max_length=40)
    state: str = Field(max_length=20)
    at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class JourneyAnswer(SQLModel, table=True):
    """A member's answer to a step's question: private to them unless they share it as a practice."""

    __tablename__: ClassVar[str] = "journey_answer"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("journey_run.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    step: str = Field(max_length=40)
    text: str = Field(sa_column=Column(Text, nullable=False))
    practice_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("practice.id", ondelete="SET NULL"))
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class JourneyPeer(SQLModel, table=True):
    """A member who agreed to be asked by newcomers on the journeys they went through."""

    __tablename__: ClassVar[str] = "journey_peer"

    member_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), primary_key=True)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class JourneyIntro(SQLModel, table=True):
    """A newcomer introduced to a peer; at most once for any two members."""

    __tablename__: ClassVar[str] = "journey_intro"
    __table_args__ = (UniqueConstraint("newcomer_id", "peer_id", name="uq_journey_intro"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(
        sa_column=Column(Integer, ForeignKey("journey_run.id", ondelete="CASCADE"), nullable=False)
    )
    newcomer_id: int = Field(sa_column=_member())
    peer_id: int = Field(sa_column=_member())
    step: str = Field(max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class JourneyHandover(SQLModel, table=True):
    """A leaving member's handover note, and to whom their practices went."""

    __tablename__: ClassVar[str] = "journey_handover"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("journey_run.id", ondelete="CASCADE"), nullable=False, unique=True
        )
    )
    in_flight: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    contacts: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    successor_id: int | None = Field(default=None, sa_column=_member("SET NULL", True))
    practices_to: str = Field(default="", max_length=20)  # "" | successor | coordinators
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
