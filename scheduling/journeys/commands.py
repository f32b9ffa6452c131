"""`me transition ...` (a member's own journey) and `transition ...` (the journeys; coordinators' view)."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Annotated

from sqlalchemy import select
from sqlmodel import Session, col

from bot.commands import CommandGroup, Opt
from bot.context import Context, ensure_member
from bot.errors import ArgumentError, CommandError
from bot.members.dm_prefs import dm_prefs
from bot.messages import Choice, Item, Member, Reply, mention
from bot.messenger import format_in_zone
from bot.permissions import Role
from bot.store.models import MemberRecord
from bot.words import counted
from content.practices.models import Attribution
from content.practices.service import practice_ref
from scheduling.journeys import answers, handover, service
from scheduling.journeys.definitions import LEVELS, ROLES, Journey
from scheduling.journeys.delivery import compose
from scheduling.journeys.models import Journey as JourneyRow
from scheduling.journeys.models import JourneyAnswer, JourneyPeer, JourneyRun, RunState, StepState
from scheduling.time.when import read_date

mine = CommandGroup("me", "")  # adds `me transition ...` to the core's `me` group
transition = CommandGroup("transition", "leadership-transition journeys")

RoleKind = Enum("RoleKind", {r.upper().replace("-", "_"): r for r in ROLES}, type=str)  # type: ignore[misc]
LevelKind = Enum("LevelKind", {v.upper(): v for v in LEVELS}, type=str)  # type: ignore[misc]


class OnOff(str, Enum):
    ON = "on"
    OFF = "off"


def _date(raw: str) -> date:
    return read_date(raw, "2027-03-01")


JourneyName = Annotated[
    str,
    Opt(
        help="the journey's id, e.g. new-chief-of-staff (see: transition journeys)",
        max_length=100,
        metavar="JOURNEY",
    ),
]
RoleOpt = Annotated[RoleKind | None, Opt(help="your kind of role (default: the journey's, when it has one)")]  # type: ignore[valid-type]
LevelOpt = Annotated[LevelKind, Opt(help="level of government: city, county, state or federal")]  # type: ignore[valid-type]
Starts = Annotated[
    date | None,
    Opt(
        help="the day you start in the role (default: today); a past date counts",
        converter=_date,
        metavar="YYYY-MM-DD",
    ),
]
StepRef = Annotated[
    str, Opt(help="a step's number or id, e.g. 3 or listening-tour", max_length=40, metavar="STEP")
]


def _role(journey: Journey, role: Enum | None) -> str:
    if role is not None:
        return str(role.value)
    if journey.default_role is None:
        raise ArgumentError(
            f"--role: say which kind of role, one of: {', '.join(journey.roles)}. Example: me "
            f"transition start {journey.journey} --role {journey.roles[0]} --level city",
            "role",
        )
    return journey.default_role


def _started_reply(started: service.Started, whose: str) -> Reply:
    run, j = started.run, started.journey
    lines = [
        f"{whose} on '{j.title}' ({run.role.replace('-', ' ')}, {run.level} level), from "
        f"{run.starts_on:%a %-d %b %Y}."
    ]
    if started.passed:
        lines.append(
            f"{counted(started.passed, 'step was', 'steps were')} already behind the start date; read any with: "
            "me transition step <number>."
        )
    if started.first is not None:
        step, due = started.first
        lines.append(
            f"Step {j.steps.index(step) + 1} of {len(j.steps)}, '{step.title}', comes "
            f"{format_in_zone(due, started.zone)}. Steps come by direct message at 09:00 "
            f"({started.zone}), outside quiet hours."
        )
    else:
        lines.append(
            "Every step is already behind the start date: the journey is recorded as done. To offer to "
            "talk with newcomers on it: me transition peers on"
        )
    return Reply(
        " ".join(lines),
        choices=(Choice("My journey", "me transition status"), Choice("Pause", "me transition pause")),
        footer="Pause, resume, skip a step or stop: me transition pause | resume | skip | stop",
    )


@mine.command("transition start")
async def start(
    ctx: Context,
    journey: JourneyName,
    *,
    level: LevelOpt,  # type: ignore[valid-type]
    role: RoleOpt = None,  # type: ignore[valid-type]
    starts: Starts = None,
) -> Reply:
    """Start a leadership-transition journey: a short step by DM on the days that matter.

    Example: me transition start new-chief-of-staff --level city --starts 2027-03-01
    Example: me transition start leaving-office --role city-manager --level county
    """
    member, now, tz = ctx.member, ctx.now(), ctx.settings.timezone

    def apply(session: Session) -> service.Started:
        row = service.find_journey(session, journey)
        record = ensure_member(session, member)
        first = starts or service.local_today(now, dm_prefs(session, record.id or 0, tz).zone)
        return service.start(
            session, member, row, _role(service.definition(row), role), level.value, first, now, tz
        )

    started = await ctx.store.run(apply)
    ctx.services.scheduler.wake()
    return _started_reply(started, "You are")


def _step_line(session: Session, run: JourneyRun, journey: Journey, zone: str, now: datetime) -> list[Item]:
    done = service.logged(session, run.id or 0)
    rules = dm_prefs(session, run.member_id, zone)
    items = []
    for n, step in enumerate(journey.steps, start=1):
        log = done.get(step.id)
        if log is not None:
            state = {
                StepState.SENT.value: f"sent {format_in_zone(log.at, rules.zone)}",
                StepState.HELD.value: f"held, reminders by DM are off: read it with me transition step {n}",
                StepState.SKIPPED.value: "skipped",
                StepState.PASSED.value: "before your start date",
            }[log.state]
        elif run.state in (RunState.STOPPED.value, RunState.PAUSED.value):
            state = run.state
        else:
            due = service.step_due(run, step, rules.zone, rules.quiet)
            state = (
                f"missed {format_in_zone(due, rules.zone)}"
                if due + service.STEP_GRACE < now
                else f"comes {format_in_zone(max(due, now), rules.zone)}"
            )
        items.append(Item(f"{n}. {step.title}", state, ref=step.id))
    return items


@mine.command("transition status")
async def status(ctx: Context) -> Reply:
    """Show your journey: each step, sent, held, skipped or when it comes."""
    member, now, tz = ctx.member, ctx.now(), ctx.settings.timezone

    def load(session: Session) -> Reply:
        run = service.latest_run(session, member)
        if run is None:
            return Reply("You are not on a journey. See them with: transition journeys")
        row = session.get(JourneyRow, run.journey_id)
        journey = service.definition(row)  # type: ignore[arg-type]
        fields = (
            ("Journey", journey.title),
            ("Role", f"{run.role.replace('-', ' ')}, {run.level} level"),
            ("Started", f"{run.starts_on:%a %-d %b %Y}"),
            ("State", run.state),
        )
        choices = {
            RunState.ACTIVE.value: (
                Choice("Pause", "me transition pause"),
                Choice("Skip next", "me transition skip"),
                Choice("Stop", "me transition stop", style="danger"),
            ),
            RunState.PAUSED.value: (
                Choice("Resume", "me transition resume", style="primary"),
                Choice("Stop", "me transition stop", style="danger"),
            ),
        }.get(run.state, ())
        return Reply(
            f"Your journey: {journey.title}",
            fields=fields,
            items=tuple(_step_line(session, run, journey, tz, now)),
            choices=choices,
            footer="Read a step: me transition step <number>",
        )

    return await ctx.store.run(load)


@mine.command("transition step")
async def show_step(ctx: Context, step: StepRef) -> Reply:
    """Read a step of your journey, whether it has come yet or not.

    Example: me transition step 3
    """
    member = ctx.member

    def load(session: Session) -> str:
        run = service.latest_run(session, member)
        if run is None:
            raise CommandError("You are not on a journey. See them with: transition journeys")
        journey = service.definition(session.get(JourneyRow, run.journey_id))  # type: ignore[arg-type]
        return compose(session, run, journey, service.find_step(journey, step), None)

    return Reply(await ctx.store.run(load))


@mine.command("transition pause")
async def pause(ctx: Context) -> Reply:
    """Pause your journey: no steps come until you resume, and later steps move by the days paused."""
    member, now, tz = ctx.member, ctx.now(), ctx.settings.timezone
    run = await ctx.store.run(lambda s: service.pause(s, member, now, tz))
    return Reply(
        f"Your journey is paused from {run.paused_on:%a %-d %b %Y}. Go on with: me transition resume",
        choices=(Choice("Resume", "me transition resume", style="primary"),),
    )


@mine.command("transition resume")
async def resume(ctx: Context) -> Reply:
    """Go on with a paused journey; the steps still ahead move by the days it was paused."""
    member, now, tz = ctx.member, ctx.now(), ctx.settings.timezone
    run, planned = await ctx.store.run(lambda s: service.resume(s, member, now, tz))
    ctx.services.scheduler.wake()
    return Reply(
        f"Your journey goes on: {counted(planned, 'step')} ahead, moved by {counted(run.shift_days, 'day')} paused in all. "
        "See them with: me transition status"
    )


@mine.command("transition skip")
async def skip(ctx: Context, step: StepRef = "") -> Reply:
    """Skip a step that has not come yet: the next one, or the one you name.

    Example: me transition skip
    Example: me transition skip listening-tour
    """
    member, now = ctx.member, ctx.now()
    skipped, _ = await ctx.store.run(lambda s: service.skip(s, member, step, now))
    return Reply(
        f"Skipped '{skipped.title}'; it will not come. Read it anyway with: me transition step {skipped.id}"
    )


@mine.command("transition stop")
async def stop(ctx: Context) -> Reply:
    """Stop your journey; no more steps come. Your answers stay yours (me data shows them)."""
    member, now = ctx.member, ctx.now()
    row = await ctx.store.run(lambda s: service.stop(s, member, now))
    return Reply(f"Stopped '{row.title}'. Start another any time: transition journeys")


@mine.command("transition answer")
async def answer(
    ctx: Context,
    text: Annotated[
        str,
        Opt(
            help="your answer; only you see it unless you share it",
            long=True,
            max_length=4000,
            metavar="ANSWER",
        ),
    ],
    *,
    step: Annotated[
        str, Opt(help="which step's question (default: the latest that reached you)", max_length=40)
    ] = "",
    share: Annotated[
        Attribution | None,
        Opt(
            help="also share it as a practice, credited: named, role (role only) "
            "or anonymous (Chatham House Rule)"
        ),
    ] = None,
    role_description: Annotated[
        str,
        Opt(
            help='how to describe you if credited by role, e.g. "a chief of staff in a mid-size city"',
            max_length=200,
        ),
    ] = "",
) -> Reply:
    """Answer the question a step asked you. It stays private unless you share it as a practice.

    Example: me transition answer Listen to the front desk before the cabinet.
    Example: me transition answer "Keep a decision log from day one." --share role --role-description "a chief of staff in a large city"
    """
    member, now = ctx.member, ctx.now()

    def apply(session: Session) -> str:
        found, run, journey, asked = answers.answer(session, member, text, step, now)
        if share is None:
            return (
                f"Saved your answer to '{asked.question}'. Only you see it. To share it as a practice: "
                f"me transition share {asked.id} --attribution named|role|anonymous"
            )
        p = answers.share(session, member, found, run, journey, asked, share, role_description, now)
        return (
            f"Saved your answer and shared it as practice {practice_ref(p.id or 0)}, credited as you chose."
        )

    return Reply(await ctx.store.run(apply))


@mine.command("transition share")
async def share_answer(
    ctx: Context,
    step: StepRef,
    *,
    attribution: Annotated[
        Attribution, Opt(help="named, role (role only) or anonymous (Chatham House Rule)")
    ],
    role_description: Annotated[
        str, Opt(help="how to describe you if credited by role", max_length=200)
    ] = "",
) -> Reply:
    """Share an answer you gave on your journey as a practice, with the credit you choose.

    Example: me transition share listening-tour --attribution anonymous
    """
    member, now = ctx.member, ctx.now()

    def apply(session: Session) -> str:
        run = service.latest_run(session, member)
        if run is None:
            raise CommandError("You are not on a journey. See them with: transition journeys")
        journey = service.definition(session.get(JourneyRow, run.journey_id))  # type: ignore[arg-type]
        asked = service.find_step(journey, step)
        found = (
            session.execute(
                select(JourneyAnswer).where(
                    col(JourneyAnswer.run_id) == run.id, col(JourneyAnswer.step) == asked.id
                )
            )
            .scalars()
            .first()
        )
        if found is None:
            raise CommandError(
                f"You have not answered '{asked.title}'. Answer with: me transition answer <text> "
                f"--step {asked.id}"
            )
        if found.practice_id is not None:
            return f"You already shared it as {practice_ref(found.practice_id)}."
        p = answers.share(session, member, found, run, journey, asked, attribution, role_description, now)
        return f"Shared your answer as practice {practice_ref(p.id or 0)}."

    return Reply(await ctx.store.run(apply))


@mine.command("transition peers")
async def peers(ctx: Context, choice: Annotated[OnOff, Opt(help="on or off")]) -> Reply:
    """Offer (or stop offering) to talk with newcomers making a move you made: same journey, role and level.

    Example: me transition peers on
    """
    member, now = ctx.member, ctx.now()

    def apply(session: Session) -> tuple[bool, int]:
        record = ensure_member(session, member)
        row = session.get(JourneyPeer, record.id)
        if choice is OnOff.ON and row is None:
            session.add(JourneyPeer(member_id=record.id or 0, created_at=now))
        elif choice is OnOff.OFF and row is not None:
            session.delete(row)
        runs = session.execute(select(col(JourneyRun.id)).where(col(JourneyRun.member_id) == record.id)).all()
        return row is not None, len(runs)

    _, runs = await ctx.store.run(apply)
    if choice is OnOff.OFF:
        return Reply("You will not be introduced to newcomers any more. Undo with: me transition peers on")
    hint = (
        ""
        if runs
        else (
            " You have no journey on record yet: start the one you went through with the date you "
            "started, e.g. me transition start new-chief-of-staff --level city --starts 2025-01-06 "
            "(its steps are then behind you)."
        )
    )
    return Reply(
        "Thank you: newcomers on a journey you went through, for the same kind of role and level, may be "
        "introduced to you (each newcomer once, during overlapping working hours)." + hint
    )


@mine.command("transition handover")
async def handover_note(
    ctx: Context,
    *,
    in_flight: Annotated[
        str | None, Opt(help="what is in flight and where each item stands", long=True, max_length=4000)
    ] = None,
    contacts: Annotated[str | None, Opt(help="who to call about what", long=True, max_length=4000)] = None,
    successor: Annotated[
        Member | None, Opt(help="who takes over: gets your note and your practices to look after, told once")
    ] = None,
    to_coordinators: Annotated[
        bool, Opt(help="no successor: pass your practices to the coordinators for review")
    ] = False,
) -> Reply:
    """Your handover as you leave a role: a note for your successor, and your practices passed on.

    With no options, shows what you have so far and the practices you own.
    Example: me transition handover --in-flight "Budget amendment due 3 June" --contacts "Finance: Dana" --successor @jordan
    """
    member, now = ctx.member, ctx.now()
    nothing = in_flight is None and contacts is None and successor is None and not to_coordinators
    ho = await ctx.store.run(
        lambda s: (
            handover.show(s, member)
            if nothing
            else handover.record(s, member, in_flight, contacts, successor, to_coordinators, now)
        )
    )
    note = ho.note
    fields = (
        ("What is in flight", (note.in_flight if note else "") or "not written yet"),
        ("Who to call", (note.contacts if note else "") or "not written yet"),
        ("Your practices", ", ".join(f"{practice_ref(p.id or 0)} {p.title}" for p in ho.practices) or "none"),
        (
            "Passed to",
            mention(ho.successor.as_member())
            if ho.successor
            else ("the coordinators" if note and note.practices_to == "coordinators" else "nobody yet"),
        ),
    )
    text = "Your handover note is saved. " + ho.told if not nothing else "Your handover so far."
    return Reply(
        text.strip(),
        fields=fields,
        footer=handover.ME_DATA + " Change the note: me transition handover "
        '--in-flight "..." --contacts "..." --successor @name',
    )


# ---- the journeys, and the coordinators' view -----------------------------------------------------------


@transition.command("journeys")
async def journeys(ctx: Context) -> Reply:
    """List the leadership-transition journeys you can start."""
    found = await ctx.store.run(service.active_journeys)
    if not found:
        return Reply("There are no journeys yet.")
    items = tuple(
        Item(
            j.title,
            j.summary,
            fields=(
                ("Steps", f"{len(j.steps)} over {j.steps[-1].day} days"),
                ("Suits", ", ".join(r.replace("-", " ") for r in j.roles)),
            ),
            ref=row.slug,
        )
        for row, j in found
    )
    return Reply(
        f"{counted(len(items), 'journey')}:",
        items=items,
        footer="Start one: me transition start <journey> --level city --starts 2027-03-01",
    )


@transition.command("start", role=Role.COORDINATOR)
async def start_for(
    ctx: Context,
    member: Annotated[Member, Opt(help="who starts the journey")],
    journey: JourneyName,
    *,
    level: LevelOpt,  # type: ignore[valid-type]
    role: RoleOpt = None,  # type: ignore[valid-type]
    starts: Starts = None,
) -> Reply:
    """Start a journey for a member (coordinators); they are told by DM and can pause or stop it.

    Example: transition start @jordan new-city-manager --role city-manager --level city --starts 2027-03-01
    """
    by, now, tz = ctx.member, ctx.now(), ctx.settings.timezone

    def apply(session: Session) -> service.Started:
        row = service.find_journey(session, journey)
        record = ensure_member(session, member)
        first = starts or service.local_today(now, dm_prefs(session, record.id or 0, tz).zone)
        started = service.start(
            session,
            member,
            row,
            _role(service.definition(row), role),
            level.value,
            first,
            now,
            tz,
            started_by=by,
        )
        service.dm(
            session,
            f"journey:{started.run.id}:started",
            now,
            record,
            f"{mention(by)} started '{row.title}' for you. {_started_reply(started, 'You are').text} "
            "Not for you? me transition stop",
            [("My journey", "me transition status")],
        )
        return started

    started = await ctx.store.run(apply)
    ctx.services.scheduler.wake()
    return _started_reply(started, f"{mention(member)} is")


@transition.command("list", role=Role.COORDINATOR)
async def list_runs(
    ctx: Context, *, all: Annotated[bool, Opt(help="include stopped and finished journeys")] = False
) -> Reply:
    """Who is on which journey and how far along (coordinators). Answers stay private unless shared."""
    now, tz = ctx.now(), ctx.settings.timezone

    def load(session: Session) -> list[Item]:
        query = (
            select(JourneyRun, JourneyRow, MemberRecord)
            .join(JourneyRow, col(JourneyRow.id) == col(JourneyRun.journey_id))
            .join(MemberRecord, col(MemberRecord.id) == col(JourneyRun.member_id))
            .order_by(col(JourneyRun.starts_on))
        )
        if not all:
            query = query.where(col(JourneyRun.state).in_(service.OPEN))
        rows = session.execute(query).all()
        counts = answers.counts(session, [r.id or 0 for r, _, _ in rows])
        items = []
        for run, row, record in rows:
            journey = service.definition(row)
            done = service.logged(session, run.id or 0)
            nxt = service.next_step(session, run, journey)
            rules = dm_prefs(session, run.member_id, tz)
            where = run.state
            if nxt is not None and run.state == RunState.ACTIVE.value:
                due = max(now, service.step_due(run, nxt, rules.zone, rules.quiet))
                where = f"next: step {journey.steps.index(nxt) + 1}, {format_in_zone(due, tz)}"
            n, shared = counts.get(run.id or 0, (0, 0))
            items.append(
                Item(
                    f"{mention(record.as_member())}: {journey.title}",
                    f"{len(done)} of {len(journey.steps)} steps; {where}",
                    fields=(
                        ("Role", f"{run.role.replace('-', ' ')}, {run.level} level"),
                        ("Started", f"{run.starts_on:%Y-%m-%d}"),
                        ("State", run.state),
                        ("Answers", f"{n} ({shared} shared as practices)"),
                    ),
                )
            )
        return items

    items = await ctx.store.run(load)
    if not items:
        return Reply(
            "Nobody is on a journey right now." + ("" if all else " Include past ones: transition list --all")
        )
    return Reply(f"{counted(len(items), 'member')} on a journey:", items=tuple(items))
