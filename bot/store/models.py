"""The core's tables: members, role grants and the audit log.

A member is identified by (platform, workspace, user_id) in every table that names one: `workspace` is the
Slack team (or Enterprise Grid org) the user id belongs to, "" on platforms without one (console, Discord).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    ForeignKey,
    Integer,
    Text,
    UniqueConstraint,
    and_,
    false,
    true,
)
from sqlmodel import Field, SQLModel

from bot.messages import Member


def utcnow() -> datetime:
    """Now, aware UTC. SQLModel stores aware times as UTC (timestamptz on PostgreSQL) and returns them
    aware; queries comparing times go through typed SQLAlchemy expressions, never raw text()."""
    return datetime.now(UTC)


class MemberRecord(SQLModel, table=True):
    """A person the bot has met, on one platform. Holds only what features need."""

    __tablename__: ClassVar[str] = "member"
    __table_args__ = (UniqueConstraint("platform", "workspace", "user_id", name="uq_member_identity"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    workspace: str = Field(default="", max_length=100)
    user_id: str = Field(max_length=100)
    display_name: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow)

    def as_member(self) -> Member:
        return Member(self.platform, self.user_id, self.display_name, self.workspace)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.platform, self.workspace, self.user_id)


class RoleGrant(SQLModel, table=True):
    __tablename__: ClassVar[str] = "role_grant"
    __table_args__ = (UniqueConstraint("platform", "workspace", "user_id", "scope", name="uq_role_grant"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    workspace: str = Field(default="", max_length=100)
    user_id: str = Field(max_length=100)
    scope: str = Field(default="community", max_length=100)
    role: int
    granted_by: str = Field(default="", max_length=200)
    granted_at: datetime = Field(default_factory=utcnow)


class AuditEntry(SQLModel, table=True):
    __tablename__: ClassVar[str] = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    platform: str = Field(max_length=20)
    workspace: str = Field(default="", max_length=100)
    user_id: str = Field(max_length=100)
    actor_name: str = Field(default="", max_length=200)
    action: str = Field(max_length=100)
    detail: str = Field(default="", max_length=2000)


class MemberProfile(SQLModel, table=True):
    """What a member told us about themselves (time zone, work) and what they want to receive."""

    __tablename__: ClassVar[str] = "member_profile"

    member_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), primary_key=True)
    )
    timezone: str | None = Field(default=None, max_length=64)  # what the member chose (me timezone)
    platform_timezone: str | None = Field(default=None, max_length=64)  # what their chat profile says
    forum_invites: bool = True
    organisation: str | None = Field(default=None, max_length=200)
    role_title: str | None = Field(default=None, max_length=200)
    jurisdiction: str | None = Field(default=None, max_length=200)
    dm_reminders: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, server_default=true()))
    quiet_start: str | None = Field(default=None, max_length=5)  # local "HH:MM"
    quiet_end: str | None = Field(default=None, max_length=5)
    show_in_lists: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default=true())
    )
    forum_reminders: bool = Field(
        default=False,  # the open forum's reminders by DM too (opt-in)
        sa_column=Column(Boolean, nullable=False, server_default=false()),
    )

    @property
    def zone(self) -> str | None:
        """The zone to show this member times in: theirs if they set one, else their chat profile's."""
        return self.timezone or self.platform_timezone


class ProcessedEvent(SQLModel, table=True):
    """A platform event already handled (Slack retries carry the same event_id): the insert is the claim."""

    __tablename__: ClassVar[str] = "processed_event"

    platform: str = Field(max_length=20, primary_key=True)
    event_id: str = Field(max_length=100, primary_key=True)
    received_at: datetime = Field(default_factory=utcnow, index=True)


class UnreachableMember(SQLModel, table=True):
    """A member a direct message could not reach (DMs closed, blocked): coordinators can list them."""

    __tablename__: ClassVar[str] = "unreachable_member"
    __table_args__ = (UniqueConstraint("platform", "workspace", "user_id", name="uq_unreachable_member"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    workspace: str = Field(default="", max_length=100)
    user_id: str = Field(max_length=100)
    reason: str = Field(default="", max_length=200)
    first_at: datetime = Field(default_factory=utcnow)
    last_at: datetime = Field(default_factory=utcnow)
    failures: int = 1


class ButtonCommand(SQLModel, table=True):
    """A button's command too long for the platform's button id (Discord: 100 characters), by its hash."""

    __tablename__: ClassVar[str] = "button_command"

    key: str = Field(max_length=64, primary_key=True)
    command: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


IDENTITY_TABLES: tuple[type[SQLModel], ...] = (MemberRecord, RoleGrant, AuditEntry, UnreachableMember)


def is_member(table: Any, member: Member) -> ColumnElement[bool]:
    """The WHERE clause "this row names `member`", for any table with platform, workspace and user_id."""
    return and_(
        table.platform == member.platform,
        table.workspace == member.workspace,
        table.user_id == member.user_id,
    )


def member_of(row: Any, display_name: str = "") -> Member:
    """The member a row of one of those tables names."""
    return Member(row.platform, row.user_id, display_name, row.workspace)


class SlackInstallation(SQLModel, table=True):
    """A Slack workspace (or Enterprise Grid org, installed org-wide) that installed the app by OAuth.

    It names no member (the installer's id is not kept): the bot token and its refresh token are kept only
    encrypted (`secret`, Fernet with SLACK_TOKEN_KEY; adapters/slack/installations.py)."""

    __tablename__: ClassVar[str] = "slack_installation"
    __table_args__ = (UniqueConstraint("enterprise_id", "team_id", name="uq_slack_installation"),)

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: str = Field(default="", max_length=32)  # "" when not on Enterprise Grid
    team_id: str = Field(default="", max_length=32)  # "" for an org-wide install
    is_enterprise_install: bool = False
    app_id: str = Field(default="", max_length=32)
    team_name: str = Field(default="", max_length=200)
    bot_id: str = Field(default="", max_length=32)
    bot_user_id: str = Field(default="", max_length=32)
    bot_scopes: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    secret: str = Field(sa_column=Column(Text, nullable=False))
    installed_at: datetime = Field(default_factory=utcnow)


class SlackGuestRoute(SQLModel, table=True):
    """Slack Connect: the installation through which members of a workspace that has not installed copbot
    last reached it (a channel shared with them); copbot's DMs to them go through it. Names no member."""

    __tablename__: ClassVar[str] = "slack_guest_route"

    id: int | None = Field(default=None, primary_key=True)
    guest_workspace: str = Field(max_length=32, unique=True)  # their team (or org)
    via_workspace: str = Field(max_length=32)  # the installation's team (or org, installed org-wide)
    seen_at: datetime = Field(default_factory=utcnow)


class OAuthState(SQLModel, table=True):
    """A state issued to a browser starting an OAuth install: consumed once, before it expires."""

    __tablename__: ClassVar[str] = "oauth_state"

    state: str = Field(max_length=100, primary_key=True)
    expires_at: datetime = Field(index=True)
