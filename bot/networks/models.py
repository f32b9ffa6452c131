"""Tables for networks: groups within the community, with their own coordinators and members.

A network's coordinators are role grants with scope `network:<id>` (bot/members/roles.py); a community
coordinator or admin coordinates every network.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import ClassVar

from sqlalchemy import Column, DateTime, ForeignKey, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.store.models import utcnow


class JoinPolicy(str, Enum):
    OPEN = "open"  # anyone joins
    APPROVAL = "approval"  # a request, approved by the network's coordinators
    INVITE = "invite"  # only those a coordinator invited


class MembershipState(str, Enum):
    MEMBER = "member"
    REQUESTED = "requested"
    INVITED = "invited"


class Network(SQLModel, table=True):
    __tablename__: ClassVar[str] = "network"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=60, unique=True)
    name: str = Field(max_length=100)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    join_policy: str = Field(default=JoinPolicy.OPEN.value, max_length=20)
    created_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("member.id", ondelete="SET NULL"))
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    archived: bool = False


class NetworkMember(SQLModel, table=True):
    """One member's place in one network: a member, a pending request, or an open invitation."""

    __tablename__: ClassVar[str] = "network_member"
    __table_args__ = (UniqueConstraint("network_id", "member_id", name="uq_network_member"),)

    id: int | None = Field(default=None, primary_key=True)
    network_id: int = Field(
        sa_column=Column(Integer, ForeignKey("network.id", ondelete="CASCADE"), nullable=False)
    )
    member_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    state: str = Field(max_length=20)
    joined_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
