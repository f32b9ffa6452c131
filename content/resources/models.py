"""Curated learning resources: the catalog in the database, ratings, interests, and the digest.

The YAML files in content/catalog are the source of the catalog; `resource` holds what they say (origin
"catalog") plus what coordinators add in chat (origin "chat"). Nothing is deleted: an entry removed from
the files, or retired by a coordinator, is kept with status "retired" and leaves search.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import ClassVar

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.store.models import utcnow
from scheduling.engine.places import PlaceFields


class Origin(str, Enum):
    CATALOG = "catalog"  # from content/catalog/*.yaml
    CHAT = "chat"  # added by a coordinator with `resource add`


class Status(str, Enum):
    ACTIVE = "active"
    RETIRED = "retired"


class RetiredBy(str, Enum):
    CATALOG = "catalog"  # the entry left the files; it comes back if it returns to them
    COORDINATOR = "coordinator"  # `resource retire`; a catalog reload does not undo it


class Resource(SQLModel, table=True):
    __tablename__: ClassVar[str] = "resource"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=100, unique=True)
    title: str = Field(max_length=300)
    author: str | None = Field(default=None, max_length=300)
    publisher: str | None = Field(default=None, max_length=300)
    url: str | None = Field(default=None, max_length=500)
    url_note: str | None = Field(default=None, max_length=500)
    kind: str = Field(max_length=20, index=True)
    level: str = Field(max_length=20, index=True)
    time: str = Field(max_length=100)
    cost: str = Field(max_length=10, index=True)
    summary: str = Field(sa_column=Column(Text, nullable=False))
    checked: date
    origin: str = Field(default=Origin.CATALOG.value, max_length=10)
    status: str = Field(default=Status.ACTIVE.value, max_length=20, index=True)
    retired_by: str = Field(default="", max_length=20)
    source_hash: str = Field(default="", max_length=64)  # the catalog entry as last loaded, to spot a change
    search_extra: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    added_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("member.id", ondelete="SET NULL"), index=True)
    )
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ResourceArea(SQLModel, table=True):
    """The learning areas a resource belongs to; position 0 is its home (the catalog file it lives in)."""

    __tablename__: ClassVar[str] = "resource_area"
    __table_args__ = (
        UniqueConstraint("resource_id", "area", name="uq_resource_area"),
        Index("ix_resource_area_area", "area"),
    )

    id: int | None = Field(default=None, primary_key=True)
    resource_id: int = Field(
        sa_column=Column(Integer, ForeignKey("resource.id", ondelete="CASCADE"), nullable=False)
    )
    area: str = Field(max_length=60)
    position: int = 0


class ResourceRating(SQLModel, table=True):
    """A member found a resource useful; at most once per member."""

    __tablename__: ClassVar[str] = "resource_rating"
    __table_args__ = (UniqueConstraint("resource_id", "member_id", name="uq_resource_rating"),)

    id: int | None = Field(default=None, primary_key=True)
    resource_id: int = Field(
        sa_column=Column(Integer, ForeignKey("resource.id", ondelete="CASCADE"), nullable=False)
    )
    member_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    created_at: datetime = Field(default_factory=utcnow)


class ResourceSent(SQLModel, table=True):
    """A suggestion already made to a member, so `resource suggest` never repeats it."""

    __tablename__: ClassVar[str] = "resource_sent"
    __table_args__ = (UniqueConstraint("member_id", "resource_id", name="uq_resource_sent"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False)
    )
    resource_id: int = Field(
        sa_column=Column(Integer, ForeignKey("resource.id", ondelete="CASCADE"), nullable=False)
    )
    sent_at: datetime = Field(default_factory=utcnow)


class MemberInterest(SQLModel, table=True):
    """A learning area a member said they care about."""

    __tablename__: ClassVar[str] = "member_interest"
    __table_args__ = (UniqueConstraint("member_id", "area", name="uq_member_interest"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False)
    )
    area: str = Field(max_length=60)
    created_at: datetime = Field(default_factory=utcnow)


class DigestSettings(SQLModel, table=True):
    """Where and how often the resource digest is posted (one row)."""

    __tablename__: ClassVar[str] = "digest_settings"

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    channel_id: str = Field(max_length=100)
    workspace: str = Field(default="", sa_column=Column(String(100), nullable=False, server_default=""))
    cadence: str = Field(sa_column=Column(Text, nullable=False))
    per_digest: int = 2
    updated_at: datetime = Field(default_factory=utcnow)


class DigestPlace(PlaceFields, table=True):
    """Another workspace's own channel for the digest (`resource channel`, issue 15): with Slack installed
    in several workspaces, each that sets one gets the same digest there, posted with its own token."""

    __tablename__: ClassVar[str] = "digest_place"
    __table_args__ = (UniqueConstraint("platform", "workspace", name="uq_digest_place"),)


class DigestShown(SQLModel, table=True):
    """A resource presented in a digest. A round is one pass through the catalog: no resource is shown
    twice in a round, and a new round starts only when every active resource has been shown."""

    __tablename__: ClassVar[str] = "digest_shown"
    __table_args__ = (
        UniqueConstraint("round", "resource_id", name="uq_digest_shown_round"),
        Index("ix_digest_shown_digest_key", "digest_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    resource_id: int = Field(
        sa_column=Column(Integer, ForeignKey("resource.id", ondelete="CASCADE"), nullable=False)
    )
    round: int
    digest_key: str = Field(max_length=200)
    position: int = 0
    shown_at: datetime = Field(default_factory=utcnow)
