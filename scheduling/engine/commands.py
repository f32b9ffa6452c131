"""The `schedule` and `clock` commands: what the bot will post and what went wrong, and the demo clock."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import Enum
from typing import Annotated

from sqlalchemy import select
from sqlmodel import Session, col

from bot.commands import CommandGroup, Opt
from bot.context import Context
from bot.errors import ArgumentError, CommandError, NotFound
from bot.messages import Choice, Item, Reply
from bot.messenger import format_in_zone
from bot.permissions import Role
from bot.zones import zone_for
from scheduling.engine import outbox
from scheduling.engine.clock import DemoClock
from scheduling.engine.models import PlannedPost, PostState
from scheduling.time.when import WhenError, parse_start

schedule_group = CommandGroup("schedule", "what the bot will post, and what went wrong")
clock_group = CommandGroup("clock", "the demo clock: these commands exist only when copbot runs with --demo")


def _zone(ctx: Context, session: Session) -> str:
    return zone_for(session, ctx.member, ctx.settings.timezone)


# ---- the schedule ----------------------------------------------------------------------------------


class StateFilter(str, Enum):
    PLANNED = "planned"
    PROBLEMS = "problems"
    SENT = "sent"
    ALL = "all"


NOTHING = {
    StateFilter.PLANNED: "Nothing is planned in the schedule.",
    StateFilter.PROBLEMS: "No problems in the schedule: nothing failed or was skipped.",
    StateFilter.SENT: "Nothing has been sent yet.",
    StateFilter.ALL: "The schedule is empty.",
}


@schedule_group.command("list", role=Role.COORDINATOR, audited=False)
async def schedule_list(
    ctx: Context,
    *,
    show: Annotated[
        StateFilter, Opt(help="planned (default), problems (failed or skipped), sent, or all")
    ] = StateFilter.PLANNED,
    limit: Annotated[int, Opt(help="how many", min=1, max=100)] = 20,
) -> Reply:
    """Show what the bot will post, and what failed or was skipped and why.

    Example: schedule list --show problems
    """
    states = {
        StateFilter.PLANNED: [PostState.PENDING, PostState.CLAIMED],
        StateFilter.PROBLEMS: [PostState.FAILED, PostState.SKIPPED],
        StateFilter.SENT: [PostState.SENT],
        StateFilter.ALL: list(PostState),
    }[show]

    def load(session: Session) -> tuple[list[PlannedPost], str]:
        order = (
            col(PlannedPost.next_try_at)
            if show is StateFilter.PLANNED
            else col(PlannedPost.updated_at).desc()
        )
        rows = (
            session.execute(
                select(PlannedPost)
                .where(col(PlannedPost.state).in_([s.value for s in states]))
                .order_by(order)
                .limit(limit)
            )
            .scalars()
            .all()
        )
        return list(rows), _zone(ctx, session)

    rows, tz = await ctx.store.run(load)
    if not rows:
        return Reply(NOTHING[show])
    items = []
    for p in rows:
        facts = [("State", p.state), ("Due", format_in_zone(p.due_at, tz))]
        if p.attempts:
            facts.append(("Tries", str(p.attempts)))
        if p.last_error:
            facts.append(("Why", p.last_error))
        if p.sent_at:
            facts.append(("Sent", format_in_zone(p.sent_at, tz)))
        choices = (Choice("Retry", f"schedule retry {p.id}"),) if p.state in ("failed", "skipped") else ()
        items.append(Item(title=f"{p.kind} · {p.key}", ref=str(p.id), fields=tuple(facts), choices=choices))
    return Reply(f"Schedule ({show.value}), times in {tz}:", items=tuple(items))


NOT_RETRIED = {
    PostState.PENDING.value: "has not failed: it is planned and will be sent when it is due",
    PostState.CLAIMED.value: "is being sent right now",
    PostState.SENT.value: "was already sent",
}


@schedule_group.command("retry", role=Role.COORDINATOR)
async def schedule_retry(
    ctx: Context,
    post: Annotated[int, Opt(help="the post's number from schedule list", min=1, metavar="ID")],
) -> Reply:
    """Send a failed or skipped post again, now.

    Example: schedule retry 42
    """
    now = ctx.now()
    found = await ctx.store.run(lambda s: outbox.retry(s, post, now))
    if found is None:
        raise NotFound(f"There is no planned post {post}. See: schedule list --show problems")
    row, retried = found
    if not retried:
        raise CommandError(
            f"Post {post} ({row.key}) {NOT_RETRIED.get(row.state, 'is ' + row.state)}; only a failed, "
            "skipped or cancelled post can be retried. See them with: schedule list --show problems"
        )
    report = await ctx.services.scheduler.tick()
    return Reply(
        f"Retried post {post} ({row.key}): {report.sent} sent, {report.retrying} to retry, "
        f"{report.failed} failed."
    )


# ---- the demo clock --------------------------------------------------------------------------------


def _demo(ctx: Context) -> DemoClock:
    clock = ctx.services.clock
    if not isinstance(clock, DemoClock):  # the commands are registered only with the demo clock
        raise CommandError("The demo clock is off. Start copbot with --demo to move time by hand.")
    return clock


_DURATION = re.compile(r"^(\d+)\s*(m|min|minutes?|h|hours?|d|days?|w|weeks?)$")


def _duration(raw: str) -> timedelta:
    m = _DURATION.match(raw.strip().lower())
    if not m:
        raise ValueError(f"{raw!r} is not a duration like 30m, 2h, 3d or 1w")
    n, unit = int(m.group(1)), m.group(2)[0]
    return {
        "m": timedelta(minutes=n),
        "h": timedelta(hours=n),
        "d": timedelta(days=n),
        "w": timedelta(weeks=n),
    }[unit]


WALK_STEPS = 500  # planned posts one move sends one by one, in order; past that the rest go at once


async def _move_to(ctx: Context, target: datetime, label: str) -> Reply:
    """Move the demo clock to `target` the way real time would pass: stop at each planned post on the way,
    in order, so each is sent when due (not found expired and skipped at the end of one big jump)."""
    clock, scheduler = _demo(ctx), ctx.services.scheduler
    sent = skipped = 0
    for _ in range(WALK_STEPS):
        due = await ctx.store.run(outbox.next_due)
        if due is None or due > target:
            break
        clock.set(due)
        report = await scheduler.tick()
        sent, skipped = sent + report.sent, skipped + report.skipped
    clock.set(target)
    report = await scheduler.tick()
    sent, skipped = sent + report.sent, skipped + report.skipped
    tz = await ctx.store.run(lambda s: _zone(ctx, s))
    return Reply(
        f"{label} It is now {format_in_zone(ctx.now(), tz)}. Posts sent: {sent}"
        + (f", skipped: {skipped}" if skipped else "")
        + "."
    )


@clock_group.command("advance", role=Role.ADMIN, audited=False)
async def clock_advance(
    ctx: Context,
    by: Annotated[str, Opt(help="how far: 30m, 2h, 3d, 1w", converter=_duration, metavar="DURATION")],
) -> Reply:
    """Move the demo clock forward and send, in order, whatever falls due on the way.

    Example: clock advance 1d
    """
    return await _move_to(ctx, _demo(ctx)() + by, "Moved the clock forward.")  # type: ignore[operator]


@clock_group.command("set", role=Role.ADMIN, audited=False)
async def clock_set(
    ctx: Context,
    when: Annotated[
        str,
        Opt(
            help='a later date and time, e.g. "the 15th of next month at 9am" or "2027-03-01 09:00"',
            max_length=100,
            metavar="WHEN",
        ),
    ],
) -> Reply:
    """Move the demo clock to a later moment and send, in order, whatever falls due on the way.

    Times are in your time zone unless you name one. The demo clock never goes back.
    Example: clock set the 15th of next month at 9am
    """
    _demo(ctx)
    tz = await ctx.store.run(lambda s: _zone(ctx, s))
    try:
        moment = parse_start(when, tz, ctx.now())
    except WhenError as exc:
        raise ArgumentError(f"WHEN: {exc}.", field="when") from None
    return await _move_to(ctx, moment, "Set the clock.")


@clock_group.command("next", role=Role.ADMIN, audited=False)
async def clock_next(ctx: Context) -> Reply:
    """Jump the demo clock to the next planned post and send it."""
    _demo(ctx)
    await ctx.services.scheduler.tick()  # what is already due goes first; then jump to what comes next
    due = await ctx.store.run(outbox.next_due)
    if due is None:
        return Reply(
            'Nothing is planned. Set the forum first: forum set --rule "first Tuesday of every month, 12:00"'
        )
    return await _move_to(ctx, max(due, ctx.now()), "Jumped to the next planned post.")


@clock_group.command("now", role=Role.ADMIN, audited=False)
async def clock_now(ctx: Context) -> Reply:
    """Show the demo clock's time."""
    tz = await ctx.store.run(lambda s: _zone(ctx, s))
    return Reply(f"It is {format_in_zone(ctx.now(), tz)}.")
