"""`stats`: the community's figures for coordinators, as charts with their tables (and a CSV)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from bot.commands import CommandGroup, Opt
from bot.context import Context
from bot.errors import ArgumentError
from bot.messages import Attachment, Reply
from bot.permissions import Role
from content.stats import service

stats_group = CommandGroup("stats", "the community's figures, for coordinators")
MAX_MONTHS = 36


def _month(raw: str) -> date:
    text = raw.strip()
    m = re.fullmatch(r"(\d{4})-(\d{2})(?:-(\d{2}))?", text)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"{raw!r} is not a month like 2026-03 (or a day like 2026-03-15)")
    return date(int(m.group(1)), int(m.group(2)), 1)


Month = Annotated[
    date | None,
    Opt(help="first month (YYYY-MM); default: a year before --until", converter=_month, metavar="YYYY-MM"),
]
Until = Annotated[
    date | None, Opt(help="last month (YYYY-MM); default: this month", converter=_month, metavar="YYYY-MM")
]


@stats_group.command("", role=Role.COORDINATOR, audited=False, host_only=True)
async def stats(
    ctx: Context,
    *,
    since: Month = None,
    until: Until = None,
    csv: Annotated[bool, Opt(help="also attach every figure as a CSV file")] = False,
) -> Reply:
    """Show the community's figures: members active, forum participation, practices shared, convenings,
    reminders and the digest, month by month.

    Each chart comes with its table; --csv attaches all the figures for a spreadsheet.
    Example: stats --since 2026-01 --until 2026-12 --csv
    """
    tz = ctx.settings.timezone
    today = ctx.now().astimezone(ZoneInfo(tz)).date()
    last = until or today.replace(day=1)
    # default: the twelve months ending with `last`
    first = since or service.months(date(last.year - 1, last.month, 1), last)[1]
    if first > last:
        raise ArgumentError(
            f"--since {first:%Y-%m} is after --until {last:%Y-%m}. Example: stats --since 2026-01 --until 2026-06",
            "since",
        )
    if len(service.months(first, last)) > MAX_MONTHS:
        raise ArgumentError(
            f"--since: at most {MAX_MONTHS} months at a time. Example: stats --since 2025-01 --until 2026-12",
            "since",
        )
    charts = await ctx.store.run(lambda s: service.figures(s, first, last, tz, ctx.now()))
    attachments = (
        (Attachment(f"copbot-figures-{first:%Y-%m}-to-{last:%Y-%m}.csv", service.as_csv(charts), "text/csv"),)
        if csv
        else ()
    )
    return Reply(
        f"The community from {first:%B %Y} to {last:%B %Y} ({tz}).",
        charts=tuple(charts),
        attachments=attachments,
        footer="" if csv else "All the figures as a CSV file: stats --csv",
    )
