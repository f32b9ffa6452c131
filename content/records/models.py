"""Tables for records: the policy's classes and defaults, each record's class when changed from the
default, legal holds, and retention runs with their disposition log."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import ClassVar

from sqlalchemy import Column, Date, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.store.models import utcnow


class RecordKind(str, Enum):
    """What copbot stores that a records policy covers."""

    PRACTICE = "practice"
    FORUM_REPLY = "forum-reply"
    CONVENING_NOTE = "convening-note"
    ATTENDANCE = "attendance"


class RecordsClass(SQLModel, table=True):
    """A records class (transitory, program record, ...) and how long its records are kept."""

    __tablename__: ClassVar[str] = "records_class"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=60, unique=True)
    keep_days: int | None = None  # None: kept permanently
    description: str = Field(default="", max_length=300)
    created_at: datetime = Field(default_factory=utcnow)


class RecordsDefault(SQLModel, table=True):
    """The class a kind of record gets unless a coordinator classified it otherwise."""

    __tablename__: ClassVar[str] = "records_default"

    kind: str = Field(max_length=30, primary_key=True)
    class_name: str = Field(max_length=60)


class RecordsLabel(SQLModel, table=True):
    """One record's class, changed from its kind's default (with the reason; the audit log says who)."""

    __tablename__: ClassVar[str] = "records_label"
    __table_args__ = (UniqueConstraint("kind", "record_id", name="uq_records_label"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=30)
    record_id: int
    class_name: str = Field(max_length=60)
    reason: str = Field(default="", max_length=300)
    set_at: datetime = Field(default_factory=utcnow)


class LegalHold(SQLModel, table=True):
    """Records matching every given criterion (a date range, a member, a keyword) are never disposed of
    while the hold is not released."""

    __tablename__: ClassVar[str] = "records_hold"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    from_day: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    to_day: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    by_member: bool = False
    member_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("member.id", ondelete="SET NULL"), index=True)
    )
    keyword: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    released_at: datetime | None = None


class DispositionState(str, Enum):
    LISTED = "listed"  # expired, waiting for a coordinator's approval
    HELD = "held"  # expired but on legal hold: not to be disposed of
    DELETED = "deleted"  # approved and deleted
    GONE = "gone"  # deleted meanwhile by other means (the member's `me forget`, a cascade)


class RetentionRun(SQLModel, table=True):
    __tablename__: ClassVar[str] = "records_run"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)


class Disposition(SQLModel, table=True):
    """One expired record a run listed, and what became of it: the disposition log."""

    __tablename__: ClassVar[str] = "records_disposition"
    __table_args__ = (UniqueConstraint("run_id", "number", name="uq_records_disposition"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("records_run.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    number: int  # its number in the run's list
    kind: str = Field(max_length=30)
    record_id: int
    class_name: str = Field(max_length=60)
    written_on: date = Field(sa_column=Column(Date, nullable=False))
    expired_on: date = Field(sa_column=Column(Date, nullable=False))
    state: str = Field(default=DispositionState.LISTED.value, max_length=20)
    hold_ids: str = Field(default="", max_length=200)
    decided_at: datetime | None = None
