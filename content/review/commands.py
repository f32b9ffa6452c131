"""The `review` commands: answer a review (still true, update, retire), adopt a practice, mark an owner
gone, the community's review settings and its election dates."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from sqlmodel import Session

from bot.commands import CommandGroup, Opt
from bot.context import Context, find_member, write_audit
from bot.errors import ArgumentError, NotFound
from bot.messages import Choice, Item, Member, Reply
from bot.permissions import Role
from bot.words import counted
from content.practices.commands import PracticeId
from content.practices.models import Practice
from content.practices.service import practice_ref, reviewed_text
from content.review import calendar_import, posts, service
from content.review.models import PracticeReview, ReviewSettings

review = CommandGroup("review", "keep shared practices true: reviews, owners, election dates")


def _date(raw: str) -> date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw.strip()):
        raise ValueError(f"{raw!r} is not a date like 2027-11-02")
    return date.fromisoformat(raw.strip())


Day = Annotated[date, Opt(help="the election day, like 2027-11-02", converter=_date, metavar="DATE")]


def _next(r: PracticeReview) -> str:
    return f"Next review due {r.due_at:%Y-%m-%d} ({r.reason})."


async def _answer(ctx: Context, practice_id: int, outcome: str) -> tuple[str, PracticeReview]:
    member, coordinator, now, settings = (
        ctx.member,
        ctx.is_at_least(Role.COORDINATOR),
        ctx.now(),
        ctx.settings,
    )
    ref = practice_ref(practice_id)

    def apply(session: Session) -> tuple[str, PracticeReview]:
        owner_before = service.load(session, practice_id, settings)[1].owner_id
        p, r = service.answer(session, practice_id, member, coordinator, outcome, now, settings)
        record = find_member(session, member)
        if record is None or owner_before != record.id:
            write_audit(session, member, f"review {outcome}", ref)
        return p.title, r

    return await ctx.store.run(apply)


@review.command("confirm")
async def confirm(ctx: Context, practice_id: PracticeId) -> Reply:
    """Say a practice you own is still true (the "Still true" button); search then shows it as reviewed.

    Example: review confirm P12
    """
    title, r = await _answer(ctx, practice_id, "still true")
    ref = practice_ref(practice_id)
    return Reply(f"Thank you: {ref} ({title}) is marked reviewed in {ctx.now():%B %Y}. {_next(r)}")


@review.command("update")
async def update(ctx: Context, practice_id: PracticeId) -> Reply:
    """Say a practice you own needs changes (the "Update" button): it counts as reviewed, then edit it.

    Example: review update P12
    """
    title, r = await _answer(ctx, practice_id, "updated")
    ref = practice_ref(practice_id)
    return Reply(
        f"Thank you: {ref} ({title}) is marked reviewed in {ctx.now():%B %Y}. Now change what is no longer "
        f'true, for example: practice edit {ref} --what "What we do now..." {_next(r)}',
        choices=(Choice("Show it", f"practice show {ref}"),),
    )


@review.command("retire")
async def retire(ctx: Context, practice_id: PracticeId) -> Reply:
    """Say a practice is no longer true (the "Retire" button): it leaves search; practice restore undoes it.

    Example: review retire P12
    """
    title, _ = await _answer(ctx, practice_id, "retired")
    ref = practice_ref(practice_id)
    return Reply(f"Retired {ref} ({title}); it no longer shows in search. Undo with: practice restore {ref}")


@review.command("adopt", role=Role.COORDINATOR)
async def adopt(ctx: Context, practice_id: PracticeId) -> Reply:
    """Become the owner of a practice's reviews (a coordinator taking over from an author who left).

    Example: review adopt P12
    """
    member, settings = ctx.member, ctx.settings
    p, r = await ctx.store.run(lambda s: service.adopt(s, practice_id, member, settings))
    ref = practice_ref(practice_id)
    return Reply(
        f"You now own the reviews of {ref} ({p.title}). {_next(r)}",
        choices=tuple(Choice(label, cmd) for label, cmd in service.answer_choices(ref)),
    )


@review.command("gone", role=Role.COORDINATOR)
async def gone(
    ctx: Context, who: Annotated[Member, Opt(help="the member who left", metavar="@MEMBER", example="@bob")]
) -> Reply:
    """Mark a member as gone: the practices they own fall due now and go to the coordinators.

    Example: review gone @bob
    """
    now = ctx.now()

    def apply(session: Session) -> int:
        record = find_member(session, who)
        if record is None:
            raise NotFound(f"copbot has not met {who.name}; nothing of theirs to hand over.")
        return service.owner_gone(session, record, now)

    n = await ctx.store.run(apply)
    if not n:
        return Reply(f"{who.name} owns no practice reviews; nothing changed.")
    return Reply(
        f"{counted(n, 'practice review')} owned by {who.name} {'is' if n == 1 else 'are'} due now and go to the coordinators "
        "at the next daily review sweep."
    )


@review.command("mine")
async def mine(ctx: Context) -> Reply:
    """List the practices whose reviews you own, and when each is due."""
    member = ctx.member
    rows = await ctx.store.run(lambda s: service.owned_by(s, member))
    if not rows:
        return Reply("You own no practice reviews. Practices you share are yours to review.")
    items = tuple(_item(p, r) for p, r in rows)
    return Reply(f"You own the reviews of {counted(len(rows), 'practice')}.", items=items)


def _item(p: Practice, r: PracticeReview) -> Item:
    ref = practice_ref(p.id or 0)
    facts = [("State", r.state), ("Due", f"{r.due_at:%Y-%m-%d} ({r.reason})")]
    if p.reviewed_at:
        facts.append(("Reviewed", reviewed_text(p)))
    return Item(
        title=p.title,
        ref=ref,
        fields=tuple(facts),
        choices=tuple(Choice(label, cmd) for label, cmd in service.answer_choices(ref)),
    )


@review.command("due", role=Role.COORDINATOR)
async def due(ctx: Context) -> Reply:
    """List the practice reviews that are overdue (asked and not yet answered)."""
    rows = await ctx.store.run(service.overdue)
    if not rows:
        return Reply("No practice review is overdue.")
    return Reply(
        f"{counted(len(rows), 'practice review')} overdue.", items=tuple(_item(p, r) for p, r in rows[:25])
    )


@review.command("settings", role=Role.COORDINATOR)
async def settings_(
    ctx: Context,
    *,
    every_days: Annotated[
        int | None, Opt(help="days between reviews of a practice", min=7, max=3650, example="365")
    ] = None,
    answer_days: Annotated[
        int | None, Opt(help="days an owner has to answer before coordinators are asked", min=1, max=365)
    ] = None,
    fiscal_year_start: Annotated[
        str | None,
        Opt(help="month-day the fiscal year starts, like 07-01; none turns it off", max_length=10),
    ] = None,
    off: Annotated[bool, Opt(help="stop reviews (nothing is deleted; settings again restarts them)")] = False,
) -> Reply:
    """Turn practice reviews on and set how often practices fall due, or show the settings.

    Reviews start with the first change here: a daily sweep then asks owners whose practices fell due.
    Example: review settings --every-days 365 --answer-days 14 --fiscal-year-start 07-01
    """
    fiscal = service.parse_fiscal_start(fiscal_year_start) if fiscal_year_start is not None else None
    now, tz = ctx.now(), ctx.settings.timezone
    changed = every_days is not None or answer_days is not None or fiscal is not None
    if off:
        if changed:
            raise ArgumentError("Use --off alone: review settings --off", "off")

        def stop(session: Session) -> bool:
            posts.stop(session)
            return service.turn_off(session)

        was_on = await ctx.store.run(stop)
        return Reply("Practice reviews are off." if was_on else "Practice reviews were already off.")

    def apply(session: Session) -> tuple[ReviewSettings, bool]:
        if not changed:
            return service.settings_row(session), service.reviews_on(session)
        rs = service.configure(
            session, now, every_days=every_days, answer_days=answer_days, fiscal_year_start=fiscal
        )
        posts.ensure_planned(session, now, tz)
        return rs, True

    rs, on = await ctx.store.run(apply)
    if not on:
        return Reply(
            "Practice reviews are off. A coordinator turns them on, for example: "
            "review settings --every-days 365 --answer-days 14"
        )
    fy = rs.fiscal_year_start or "not set"
    return Reply(
        ("Review settings changed. " if changed else "Review settings. ")
        + f"A practice falls due every {rs.every_days} days, after an election in its region, at the start "
        f"of the fiscal year ({fy}) and when its owner leaves; owners have {rs.answer_days} days to answer."
    )


@review.command("election add", role=Role.COORDINATOR)
async def election_add(
    ctx: Context,
    jurisdiction: Annotated[
        str, Opt(help="the jurisdiction, matched to practices' region", max_length=200, example="Ohio")
    ],
    on: Day,
    *,
    note: Annotated[str, Opt(help="what is elected", max_length=200)] = "",
) -> Reply:
    """Enter an election date: practices whose region is that jurisdiction fall due the day after.

    Example: review election add Ohio 2027-11-02 --note "governor"
    """
    added = await ctx.store.run(lambda s: service.add_election(s, jurisdiction, on, note))
    if not added:
        return Reply(f"{jurisdiction} already has an election on {on}; nothing changed.")
    return Reply(
        f"Election added: {jurisdiction}, {on}. Practices with region {jurisdiction} fall due after it."
    )


@review.command("election import", role=Role.COORDINATOR)
async def election_import(
    ctx: Context,
    url: Annotated[str, Opt(help="where the calendar file (.ics) is, https://...", max_length=500)],
    *,
    jurisdiction: Annotated[
        str, Opt(help="the jurisdiction of every date in it (else each event's location)", max_length=200)
    ] = "",
) -> Reply:
    """Import election dates from a calendar file (.ics) on the web.

    Example: review election import https://elections.example.gov/2027.ics --jurisdiction Ohio
    """
    found = await calendar_import.fetch_elections(url, jurisdiction)

    def apply(session: Session) -> int:
        return sum(service.add_election(session, where, day, note) for where, day, note in found)

    added = await ctx.store.run(apply)
    return Reply(
        f"Read {counted(len(found), 'election date')} from the calendar; {added} new, "
        f"{len(found) - added} already known."
    )


@review.command("election list")
async def election_list(ctx: Context) -> Reply:
    """List the election dates copbot knows."""
    rows = await ctx.store.run(service.elections)
    if not rows:
        return Reply(
            "No election dates yet. A coordinator adds one with: review election add Ohio 2027-11-02"
        )
    return Reply(
        f"{counted(len(rows), 'election date')}.",
        items=tuple(Item(title=f"{e.jurisdiction}: {e.held_on}", body=e.note, ref=f"E{e.id}") for e in rows),
    )


def _election_id(raw: str) -> int:
    m = re.fullmatch(r"[Ee]?(\d{1,9})", raw.strip())
    if not m:
        raise ValueError(f"{raw!r} is not an election id like E3")
    return int(m.group(1))


@review.command("election remove", role=Role.COORDINATOR)
async def election_remove(
    ctx: Context,
    election_id: Annotated[
        int, Opt(help="the id from review election list, like E3", converter=_election_id, metavar="ID")
    ],
) -> Reply:
    """Remove an election date entered by mistake.

    Example: review election remove E3
    """
    e = await ctx.store.run(lambda s: service.remove_election(s, election_id))
    if e is None:
        raise ArgumentError(f"There is no election E{election_id}; see: review election list", "election_id")
    return Reply(f"Removed the election {e.jurisdiction}, {e.held_on}.")
