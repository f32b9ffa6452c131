"""`help`: generated from the command declarations, listing only what the asker may run."""

from __future__ import annotations

from typing import Annotated

from bot.commands import CommandGroup, Opt
from bot.context import Context
from bot.errors import CommandError
from bot.messages import Reply

general = CommandGroup("", "")


@general.command("help")
async def help_command(
    ctx: Context,
    topic: Annotated[str, Opt(help="a command or group, e.g. practice search", metavar="COMMAND")] = "",
) -> Reply:
    """Show the commands you can use, or how to use one.

    Example: help practice search
    """
    registry = ctx.services.registry
    visible = registry.visible_to(ctx.role)
    if topic:
        words = topic.lower().split()
        cmd, used = registry.lookup(words)
        if cmd is not None and used == len(words) and cmd.role <= ctx.role:
            return Reply(cmd.help_text())
        in_group = [c for c in visible if c.group == words[0]]
        if in_group and len(words) == 1:
            lines = [f"{c.path} — {c.summary}" for c in in_group]
            return Reply(f"{words[0]}: {registry.groups.get(words[0], '')}\n" + "\n".join(lines)
                         + f"\nMore on one: help {in_group[0].path}")
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
