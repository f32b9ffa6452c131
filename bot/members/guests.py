"""Guests: members of another organisation who reach copbot through a channel their organisation shares
with ours (Slack Connect). They use copbot like any member: search, share, RSVP, take part in the forum.
The adapter marks their requests (Incoming.guest); their identity is their own workspace's, so none of
the host's roles carry over to them.

A coordinator can keep the commands declared `host_only` (exports and attendance) to the host
organisation with `role guests host-only`, and open them again with `role guests open`. By default they
are open, like every other command.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, ClassVar

from sqlmodel import Field, Session, SQLModel, select

from bot.commands import Opt
from bot.context import Context, write_audit
from bot.members.roles import roles
from bot.messages import Reply
from bot.permissions import Role
from bot.store.models import utcnow

REFUSED = (
    "{path} is kept to the host organisation's members: you reach copbot as a guest, through a "
    "channel shared with your organisation. Everything else works for you as for any member; a "
    "coordinator of this community can tell you more."
)


class GuestPolicy(SQLModel, table=True):
    """Whether the host_only commands are kept from guests (one row; none means open)."""

    __tablename__: ClassVar[str] = "guest_policy"

    id: int | None = Field(default=None, primary_key=True)
    host_only: bool = False
    updated_at: datetime = Field(default_factory=utcnow)


def host_only(session: Session) -> bool:
    row = session.exec(select(GuestPolicy)).first()
    return bool(row and row.host_only)


class GuestChoice(str, Enum):
    HOST_ONLY = "host-only"
    OPEN = "open"


@roles.command("guests", role=Role.COORDINATOR, audited=False)
async def guests(
    ctx: Context,
    choice: Annotated[GuestChoice, Opt(help="host-only, or open")],
) -> Reply:
    """Keep exports and attendance to the host organisation, away from guests in shared channels, or open them.

    Guests are members of another organisation who use copbot through a channel shared with yours (Slack
    Connect). Kept from them when host-only: practice and records exports, attendance (marking it,
    exporting it, who is going), network member lists and the community's figures.
    Example: role guests host-only
    """
    keep = choice is GuestChoice.HOST_ONLY

    def apply(session: Session) -> None:
        row = session.exec(select(GuestPolicy)).first() or GuestPolicy()
        row.host_only, row.updated_at = keep, ctx.now()
        session.add(row)
        write_audit(session, ctx.member, "role guests", choice.value)

    await ctx.store.run(apply)
    if keep:
        return Reply(
            "Exports and attendance are now for the host organisation's members only; guests in shared "
            "channels are told so if they try. Undo with: role guests open"
        )
    return Reply("Guests in shared channels may use exports and attendance again, like any member.")
