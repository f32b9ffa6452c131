"""`home`: one member's overview, gathered from every feature's `HomeSection` (the Slack App Home too)."""

from __future__ import annotations

from bot.commands import CommandGroup
from bot.context import Context
from bot.errors import CommandError
from bot.messages import Reply

home_group = CommandGroup("", "")


async def run_section(ctx: Context, path: str, words: list[str]) -> Reply:
    """Run another command for the same member (its own permission check included) as a home section."""
    cmd = ctx.services.registry.commands[path]
    if cmd.role > ctx.role:
        return Reply("")
    parsed = ctx.services.registry.bind(cmd, words, {})
    try:
        result = await cmd.func(ctx, **parsed.args)
    except CommandError as exc:  # "no forum is scheduled yet" is an answer here, not a failure
        return Reply(str(exc))
    return result[0] if isinstance(result, list) else result


async def overview(ctx: Context) -> list[tuple[str, Reply]]:
    """The home sections, each a heading and a reply (buttons included), in the features' order."""
    sections = sorted((s for f in ctx.services.features for s in f.home), key=lambda s: s.order)
    return [(s.heading, await s.build(ctx)) for s in sections]


@home_group.command("home")
async def home(ctx: Context) -> list[Reply]:
    """Your overview: the next forum, your convenings, networks, recent practices, suggestions, settings.

    Example: home
    """
    out = []
    for heading, reply in await overview(ctx):
        text = f"**{heading}**" + (f"\n{reply.text}" if reply.text else "")
        out.append(
            Reply(text, items=reply.items, fields=reply.fields, choices=reply.choices, footer=reply.footer)
        )
    return out
