"""`help`: generated from the command declarations, listing only what the asker may run."""

from __future__ import annotations

from typing import Annotated

from bot.commands import Command, CommandGroup, Opt
from bot.context import Context
from bot.errors import CommandError
from bot.messages import Reply
from bot.permissions import Role

general = CommandGroup("", "")


async def visible_commands(ctx: Context) -> list[Command]:
    """The commands the asker may run: by role, and scoped ones only where they hold the scope somewhere."""
    held: dict[str, bool] = {}
    shown = []
    for cmd in ctx.services.registry.visible_to(ctx.role):
        if cmd.scope is not None and ctx.role < Role.COORDINATOR:
            if cmd.scope.label not in held:
                held[cmd.scope.label] = await cmd.scope.held_by(ctx)
            if not held[cmd.scope.label]:
                continue
        shown.append(cmd)
    return shown


@general.command("help")
async def help_command(
    ctx: Context,
    topic: Annotated[str, Opt(help="a command or group, e.g. practice search", metavar="COMMAND")] = "",
) -> Reply:
    """Show the commands you can use, or how to use one.

    Example: help practice search
    """
    registry = ctx.services.registry
    visible = await visible_commands(ctx)
    if topic:
        words = topic.lower().split()
        cmd, used = registry.lookup(words)
        if cmd is not None and used == len(words) and cmd in visible:
            return Reply(cmd.help_text())
        in_group = [c for c in visible if c.group == words[0]]
        if in_group and len(words) == 1:
            lines = [f"{c.path} — {c.summary}" for c in in_group]
            about = registry.about.get(words[0], "")
            return Reply(
                f"{words[0]}: {registry.groups.get(words[0], '')}\n"
                + (f"{about}\n" if about else "")
                + "\n".join(lines)
                + f"\nMore on one: help {in_group[0].path}"
            )
        raise CommandError(registry.unknown_message(words, ctx.role).replace("the command", "a command"))
    groups: dict[str, list[str]] = {}
    for c in visible:
        groups.setdefault(c.group if " " in c.path else "", []).append(f"  {c.path} — {c.summary}")
    lines = [f"Commands you can use (you are {ctx.role.label}):"]
    for name in sorted(groups):
        if name:
            lines.append(f"{name}: {registry.groups.get(name, '')}")
        lines.extend(groups[name])
    lines.append("More on one command: help <command>, for example: help practice search")
    return Reply("\n".join(lines))
