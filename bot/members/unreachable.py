"""`schedule unreachable`: members a direct message could not reach, so coordinators can follow up."""

from __future__ import annotations

from bot.commands import CommandGroup
from bot.context import Context
from bot.members.events import unreachable_rows
from bot.messages import Item, Member, Reply, Visibility, mention
from bot.messenger import time_mark
from bot.permissions import Role
from bot.words import counted

unreachable_group = CommandGroup("schedule", "")  # adds to the scheduler's `schedule` group


@unreachable_group.command("unreachable", role=Role.COORDINATOR, audited=False)
async def schedule_unreachable(ctx: Context) -> Reply:
    """List members the bot could not reach by direct message (for example, DMs from the server turned off).

    Example: schedule unreachable
    """
    rows = await ctx.store.run(unreachable_rows)
    if not rows:
        return Reply("Every member the bot wrote to could be reached by direct message.")
    items = tuple(
        Item(
            title=mention(Member(r["platform"], r["user_id"], r["name"], r["workspace"])),
            fields=(
                ("Platform", r["platform"]),
                ("Why", r["reason"] or "refused"),
                ("Failed DMs", str(r["failures"])),
                ("Last", time_mark(r["last_at"])),
            ),
        )
        for r in rows
    )
    return Reply(
        f"{counted(len(rows), 'member')} could not be reached by direct message (for example, they turned off "
        "messages from the server). Where a notice channel is set, they were mentioned there instead.",
        items=items,
        visibility=Visibility.PRIVATE,
    )
