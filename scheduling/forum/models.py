"""Tables of the monthly open forum: its settings, occurrences, topics and votes, replies, capture requests.

Times are aware UTC; SQLModel stores them on timezone-aware columns (timestamptz on PostgreSQL).
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import ClassVar

from sqlalchemy import Column, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.store.models import utcnow
from scheduling.engine.places import PlaceFields


class ForumSettings(SQLModel, table=True):
    """The forum's cadence and where and how it runs (one row)."""

    __tablename__: ClassVar[str] = "forum_settings"

    id: int | None = Field(default=None, primary_key=True)
    cadence: str = Field(sa_column=Column(Text, nullable=False))
    platform: str = Field(max_length=20)
    channel_id: str = Field(max_length=100)
    # where the channel is, in the platform's terms (a Slack team): Slack installed by OAuth posts there
    # with that workspace's token (bot/messenger.py); "" where the platform has no such scope
    workspace: str = Field(default="", sa_column=Column(String(100), nullable=False, server_default=""))
    facilitator_platform: str = Field(default="", max_length=20)
    facilitator_workspace: str = Field(default="", max_length=100)
    facilitator_user_id: str = Field(default="", max_length=100)
    facilitator_name: str = Field(default="", max_length=200)
    announce_days: int = 7
    prompt: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    join_info: str = Field(default="", max_length=500)
    holiday_country: str = Field(default="US", max_length=10)
    # The tags its posts get where the channel has tags (a Discord forum channel), comma-separated; empty:
    # the default rule (scheduling.forum.service.post_tags).
    post_tags: str = Field(default="", sa_column=Column(String(300), nullable=False, server_default=""))
    updated_at: datetime = Field(default_factory=utcnow)


class ForumPlace(PlaceFields, table=True):
    """Another workspace's (or platform's) own channel for the forum, set from there with `forum channel`:
    with Slack installed in several workspaces, each that sets one gets the announcements, reminders, the
    thread and the wrap-up in it, posted with its own token. The main channel stays in ForumSettings."""

    __tablename__: ClassVar[str] = "forum_place"
    __table_args__ = (UniqueConstraint("platform", "workspace", name="uq_forum_place"),)


class ForumThread(SQLModel, table=True):
    """The thread an occurrence opened in a ForumPlace (the main channel's is on ForumOccurrence)."""

    __tablename__: ClassVar[str] = "forum_thread"
    __table_args__ = (UniqueConstraint("occurrence_id", "platform", "workspace", name="uq_forum_thread"),)

    id: int | None = Field(default=None, primary_key=True)
    occurrence_id: int = Field(
        sa_column=Column(Integer, ForeignKey("forum_occurrence.id", ondelete="CASCADE"), nullable=False)
    )
    platform: str = Field(max_length=20)
    workspace: str = Field(default="", max_length=100)
    channel_id: str = Field(max_length=100)
    thread_id: str = Field(max_length=100)
    link: str = Field(default="", max_length=500)


class OccurrenceStatus(str, Enum):
    PLANNED = "planned"
    SKIPPED = "skipped"
    HELD = "held"


class ForumOccurrence(SQLModel, table=True):
    __tablename__: ClassVar[str] = "forum_occurrence"

    id: int | None = Field(default=None, primary_key=True)
    slot: str = Field(max_length=10, unique=True)  # the cadence's local date, YYYY-MM-DD
    starts_at: datetime
    ends_at: datetime
    moved_from: datetime | None = None
    status: str = Field(default=OccurrenceStatus.PLANNED.value, max_length=20)
    skip_reason: str = Field(default="", max_length=300)
    topic_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("forum_topic.id", ondelete="SET NULL"))
    )
    topic_text: str = Field(default="", max_length=300)
    thread_platform: str = Field(default="", max_length=20)
    thread_channel_id: str = Field(default="", max_length=100)
    thread_id: str = Field(default="", max_length=100)
    thread_link: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow)


class TopicStatus(str, Enum):
    OPEN = "open"
    USED = "used"
    WITHDRAWN = "withdrawn"


class ForumTopic(SQLModel, table=True):
    __tablename__: ClassVar[str] = "forum_topic"

    id: int | None = Field(default=None, primary_key=True)
    text: str = Field(max_length=300)
    proposer_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("member.id", ondelete="SET NULL"))
    )
    status: str = Field(default=TopicStatus.OPEN.value, max_length=20)
    created_at: datetime = Field(default_factory=utcnow)


class ForumVote(SQLModel, table=True):
    __tablename__: ClassVar[str] = "forum_vote"
    __table_args__ = (UniqueConstraint("topic_id", "member_id", name="uq_forum_vote"),)

    id: int | None = Field(default=None, primary_key=True)
    topic_id: int = Field(
        sa_column=Column(Integer, ForeignKey("forum_topic.id", ondelete="CASCADE"), nullable=False)
    )
    member_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow)


class ForumReply(SQLModel, table=True):
    """A member's message in a forum thread."""

    __tablename__: ClassVar[str] = "forum_reply"

    id: int | None = Field(default=None, primary_key=True)
    occurrence_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("forum_occurrence.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    member_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False)
    )
    text: str = Field(sa_column=Column(Text, nullable=False))
    link: str = Field(default="", max_length=500)
    practice_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("practice.id", ondelete="SET NULL"))
    )
    created_at: datetime = Field(default_factory=utcnow)


class CaptureRequest(SQLModel, table=True):
    """Someone asked to save another member's reply as a practice; the author decides."""

    __tablename__: ClassVar[str] = "forum_capture_request"
    __table_args__ = (UniqueConstraint("reply_id", name="uq_capture_reply"),)

    id: int | None = Field(default=None, primary_key=True)
    reply_id: int = Field(
        sa_column=Column(Integer, ForeignKey("forum_reply.id", ondelete="CASCADE"), nullable=False)
    )
    requested_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("member.id", ondelete="SET NULL"))
    )
    state: str = Field(default="pending", max_length=20)  # pending | accepted | declined
    created_at: datetime = Field(default_factory=utcnow)
