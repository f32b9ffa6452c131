"""Shared practices: what a member tried, in what context, and what came of it."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import ClassVar

from sqlalchemy import Column, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.store.models import utcnow


class Attribution(str, Enum):
    """How a practice's author is credited; only the author may make it more revealing."""

    NAMED = "named"
    ROLE = "role"  # role only: "a chief of staff in a large city"
    ANONYMOUS = "anonymous"  # Chatham House Rule

    @property
    def openness(self) -> int:
        """How much the credit reveals about the author: anonymous 0, role only 1, named 2."""
        return (Attribution.ANONYMOUS, Attribution.ROLE, Attribution.NAMED).index(self)

    @property
    def label(self) -> str:
        return "role only" if self is Attribution.ROLE else self.value


class Level(str, Enum):
    LOCAL = "local"
    COUNTY = "county"
    REGIONAL = "regional"
    STATE = "state"
    TRIBAL = "tribal"
    FEDERAL = "federal"
    INTERNATIONAL = "international"


class Size(str, Enum):
    SMALL = "small"  # under 50,000 people
    MID_SIZE = "mid-size"  # 50,000 to 250,000
    LARGE = "large"  # 250,000 to 1 million
    VERY_LARGE = "very-large"  # over 1 million


class Sector(str, Enum):
    PUBLIC = "public"
    PRIVATE = "private"
    NONPROFIT = "nonprofit"
    PHILANTHROPY = "philanthropy"
    ACADEMIC = "academic"


class Framework(str, Enum):
    """The learning areas (bot/vocabulary.py AREAS, the same slugs resources use) a practice draws on."""

    SYSTEMS_THINKING = "systems-thinking"
    ADAPTIVE_LEADERSHIP = "adaptive-leadership"
    RESULTS_BASED_ACCOUNTABILITY = "results-based-accountability"
    FACILITATIVE_LEADERSHIP = "facilitative-leadership"
    LEADERSHIP_TRANSITIONS = "leadership-transitions"
    CROSS_SECTOR_COLLABORATION = "cross-sector-collaboration"
    CUSTOMER_FOCUSED_SERVICE = "customer-focused-service"
    SUSTAINABLE_LEADERSHIP = "sustainable-leadership"
    NETWORKS_AND_COMMUNITIES_OF_PRACTICE = "networks-and-communities-of-practice"


class PolicyArea(str, Enum):
    BUDGET = "budget-finance"
    ECONOMIC_DEVELOPMENT = "economic-development"
    HOUSING = "housing"
    PUBLIC_SAFETY = "public-safety"
    PUBLIC_HEALTH = "public-health"
    HUMAN_SERVICES = "human-services"
    TRANSPORTATION = "transportation"
    INFRASTRUCTURE = "infrastructure"
    ENVIRONMENT = "environment-climate"
    EDUCATION = "education"
    WORKFORCE = "workforce-hr"
    TECHNOLOGY = "technology-data"
    ENGAGEMENT = "community-engagement"
    OPERATIONS = "operations-governance"
    OTHER = "other"


class Status(str, Enum):
    ACTIVE = "active"
    RETIRED = "retired"


class LabelKind(str, Enum):
    FRAMEWORK = "framework"
    SECTOR = "sector"
    TAG = "tag"


class Practice(SQLModel, table=True):
    __tablename__: ClassVar[str] = "practice"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    what: str = Field(sa_column=Column(Text, nullable=False))
    level: str | None = Field(default=None, max_length=20, index=True)
    size: str | None = Field(default=None, max_length=20)
    policy_area: str | None = Field(default=None, max_length=40, index=True)
    region: str | None = Field(default=None, max_length=100)
    how_much: str | None = Field(default=None, sa_column=Column(Text))
    how_well: str | None = Field(default=None, sa_column=Column(Text))
    better_off: str | None = Field(default=None, sa_column=Column(Text))
    links: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    attribution: str = Field(max_length=20)
    author_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("member.id", ondelete="SET NULL"), index=True)
    )
    author_name: str = Field(default="", max_length=200)
    author_role: str = Field(default="", max_length=200)
    source_platform: str = Field(default="", max_length=20)
    source_link: str = Field(default="", max_length=500)
    source_note: str = Field(default="", max_length=200)
    status: str = Field(default=Status.ACTIVE.value, max_length=20, index=True)
    forum_occurrence_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("forum_occurrence.id", ondelete="SET NULL"))
    )
    search_extra: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # "tag=equity framework=systems-thinking level=county": the filters it passes, kept with search_extra;
    # on PostgreSQL each is a lexeme of the search vector, so filters are looked up in the search's index
    filter_keys: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    reviewed_at: datetime | None = None  # its owner (or a coordinator) last said it is still true


class PracticeLabel(SQLModel, table=True):
    """Frameworks, sectors and free tags: one row each, so filters are plain indexed lookups."""

    __tablename__: ClassVar[str] = "practice_label"
    __table_args__ = (
        UniqueConstraint("practice_id", "kind", "value", name="uq_practice_label"),
        Index("ix_practice_label_kind_value", "kind", "value"),
    )

    id: int | None = Field(default=None, primary_key=True)
    practice_id: int = Field(
        sa_column=Column(Integer, ForeignKey("practice.id", ondelete="CASCADE"), nullable=False)
    )
    kind: str = Field(max_length=20)
    value: str = Field(max_length=60)


class Endorsement(SQLModel, table=True):
    """A member saying "used this too", at most once per practice."""

    __tablename__: ClassVar[str] = "practice_endorsement"
    __table_args__ = (UniqueConstraint("practice_id", "member_id", name="uq_endorsement"),)

    id: int | None = Field(default=None, primary_key=True)
    practice_id: int = Field(
        sa_column=Column(Integer, ForeignKey("practice.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    member_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    note: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow)


class PracticeProposal(SQLModel, table=True):
    """A member proposed saving another member's message as a practice; the author decides."""

    __tablename__: ClassVar[str] = "practice_proposal"

    id: int | None = Field(default=None, primary_key=True)
    author_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    proposed_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("member.id", ondelete="SET NULL"))
    )
    title: str = Field(max_length=200)
    what: str = Field(sa_column=Column(Text, nullable=False))
    link: str = Field(default="", max_length=500)
    state: str = Field(default="pending", max_length=20)  # pending | accepted | declined
    practice_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow)


class PracticeSteward(SQLModel, table=True):
    """A member looking after a practice someone else shared (a leaving member's successor): they may edit,
    retire or restore it. The credit stays as the author chose it."""

    __tablename__: ClassVar[str] = "practice_steward"

    practice_id: int = Field(
        sa_column=Column(Integer, ForeignKey("practice.id", ondelete="CASCADE"), primary_key=True)
    )
    member_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    since: datetime = Field(default_factory=utcnow)
