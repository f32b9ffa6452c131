"""The `records` commands: the records policy (classes, defaults), classifying a record, legal holds,
retention runs and their approval, the disposition log, and records-request exports."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from sqlmodel import Session

from bot.commands import CommandGroup, Opt
from bot.context import Context, ensure_member, find_member, write_audit
from bot.errors import ArgumentError, NotFound
from bot.messages import Attachment, Choice, Item, Member, Reply
from bot.permissions import Role
from bot.store.models import MemberRecord
from bot.words import counted
from content.practices.service import practice_ref
from content.records import bundle, service
from content.records.models import RecordKind

ABOUT = """\
What copbot keeps: what you share (practices, replies in forum threads, notes about convenings, \
commitments and their answers, glossary terms, journey answers), what you choose (RSVPs, endorsements, \
ratings, interests, your profile and settings), attendance, and an audit log of what coordinators and admins \
did. `me data` shows everything about you. Commands you type are not stored as messages.
For how long: until you delete them or use `me forget` (your practices then stay, credited anonymously). \
If your community set a records policy (`records policy` shows it), practices, forum replies, convening notes \
and attendance are kept for their class's period and then deleted, only after a coordinator approves the \
list and never while a legal hold covers them (a hold also pauses `me forget` for what it covers).
What a records request can reveal: many members are public employees, and what they write about agency \
business can be a public record. An admin can export everything matching a request (dates, words, members, \
networks) for an agency's records officer: practices, forum replies, convening notes and attendance. Credit \
you chose is kept: an anonymous or role-only author is withheld and the cover sheet says so; only an admin's \
explicit disclosure flag names them, and that is audited. Attendance names you only if you agreed to appear \
in exports. Share knowing this."""

records = CommandGroup(
    "records", "public records: what is kept, for how long, holds and records requests", about=ABOUT
)


def _date(raw: str) -> date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw.strip()):
        raise ValueError(f"{raw!r} is not a date like 2027-03-01")
    return date.fromisoformat(raw.strip())


def _class_name(raw: str) -> str:
    name = "-".join(raw.strip().lower().split())
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,59}", name):
        raise ValueError(f"{raw!r} is not a class name: letters, digits and dashes, like program-record")
    return name


def _prefixed(prefix: str, raw: str) -> int:
    m = re.fullmatch(rf"[{prefix.lower()}{prefix.upper()}]?(\d{{1,9}})", raw.strip())
    if not m:
        raise ValueError(f"{raw!r} is not an id like {prefix}3")
    return int(m.group(1))


ClassName = Annotated[
    str,
    Opt(
        help="the class's name, like transitory", converter=_class_name, metavar="CLASS", example="transitory"
    ),
]
Day = Annotated[date | None, Opt(help="a date like 2027-03-01", converter=_date, metavar="DATE")]
RunId = Annotated[
    int, Opt(help="the run's id, like R2", converter=lambda r: _prefixed("R", r), metavar="RUN", example="R2")
]


def _record_id(raw: str) -> int:
    return _prefixed("P", raw)


def _ref(kind: str, record_id: int) -> str:
    return practice_ref(record_id) if kind == RecordKind.PRACTICE.value else f"{kind} {record_id}"


@records.command("policy")
async def policy(ctx: Context) -> Reply:
    """Show the records policy: each class, how long its records are kept, and each kind's default."""

    def load(session: Session) -> tuple[list[tuple[str, str, str]], dict[RecordKind, str]]:
        cs = [
            (c.name, f"{c.keep_days} days" if c.keep_days is not None else "permanently", c.description)
            for c in service.classes(session)
        ]
        return cs, service.defaults(session)

    cs, defaults = await ctx.store.run(load)
    if not cs:
        return Reply(
            "No records policy yet: copbot keeps everything until a member deletes it (or `me forget`). "
            "A coordinator sets one with: records class set transitory --keep-days 90"
        )
    fields = tuple((k.value, defaults.get(k, "no class: kept")) for k in RecordKind)
    return Reply(
        "Records policy. Records are kept for their class's period after they were written; expired records "
        "are deleted only after a coordinator approves the list, never while a legal hold covers them.",
        items=tuple(Item(title=name, body=desc, fields=(("Kept", kept),)) for name, kept, desc in cs),
        fields=tuple(("Default for " + k, v) for k, v in fields),
    )


@records.command("class set", role=Role.COORDINATOR)
async def class_set(
    ctx: Context,
    name: ClassName,
    *,
    keep_days: Annotated[
        int | None, Opt(help="days a record is kept after it was written", min=1, max=36500)
    ] = None,
    permanent: Annotated[bool, Opt(help="kept permanently (instead of --keep-days)")] = False,
    description: Annotated[str, Opt(help="what belongs in this class", max_length=300)] = "",
) -> Reply:
    """Create or change a records class and how long its records are kept.

    Example: records class set transitory --keep-days 90 --description "chat of passing value"
    """
    if (keep_days is None) == (not permanent):
        raise ArgumentError(
            "Say how long: --keep-days 90, or --permanent. Example: records class set program-record --permanent",
            "keep_days",
        )
    now = ctx.now()
    new = await ctx.store.run(
        lambda s: service.set_class(s, name, None if permanent else keep_days, description, now)
    )
    kept = "permanently" if permanent else f"for {keep_days} days"
    return Reply(f"Records class {name} {'created' if new else 'changed'}: records kept {kept}.")


@records.command("default", role=Role.COORDINATOR)
async def default(
    ctx: Context,
    kind: Annotated[RecordKind, Opt(help="the kind of record")],
    class_name: ClassName,
) -> Reply:
    """Set the class a kind of record gets unless classified otherwise.

    Example: records default forum-reply transitory
    """
    await ctx.store.run(lambda s: service.set_default(s, kind, class_name))
    return Reply(f"Every {kind.value} is now of class {class_name} unless classified otherwise.")


@records.command("classify", role=Role.COORDINATOR, audited=False)
async def classify(
    ctx: Context,
    kind: Annotated[RecordKind, Opt(help="the kind of record")],
    record_id: Annotated[
        int, Opt(help="the record's id (P12 for a practice)", converter=_record_id, metavar="ID")
    ],
    class_name: ClassName,
    *,
    reason: Annotated[
        str, Opt(help="why it belongs in this class", max_length=300, example='"program record"')
    ],
) -> Reply:
    """Give one record a class other than its kind's default, saying why (audited).

    Example: records classify practice P12 program-record --reason "documents the budget process"
    """
    if not reason.strip():
        raise ArgumentError('Say why: --reason "documents the budget process"', "reason")
    member, now = ctx.member, ctx.now()
    ref = _ref(kind.value, record_id)

    def apply(session: Session) -> str:
        before = service.classify(session, kind, record_id, class_name, reason, now)
        write_audit(session, member, "records classify", f"{ref}: {before} -> {class_name} ({reason})")
        return before

    before = await ctx.store.run(apply)
    return Reply(f"{ref} is now of class {class_name} (was {before}). The audit log records why.")


@records.command("list", role=Role.COORDINATOR)
async def list_records(
    ctx: Context,
    *,
    kind: Annotated[RecordKind, Opt(help="the kind of record")] = RecordKind.PRACTICE,
    page: Annotated[int, Opt(help="which page", min=1, max=10000)] = 1,
) -> Reply:
    """List records of one kind with their class and date, to classify them.

    Example: records list --kind forum-reply
    """

    def load(session: Session) -> list[tuple[service.Rec, str]]:
        labels, defaults = service.labels(session), service.defaults(session)
        found = list(service.records(session, (kind,)))[(page - 1) * 20 : page * 20]
        return [(r, labels.get((kind.value, r.id)) or defaults.get(kind) or "no class") for r in found]

    rows = await ctx.store.run(load)
    if not rows:
        return Reply(f"No {kind.value} records{' on this page' if page > 1 else ''}.")
    return Reply(
        f"{kind.value} records, page {page}:",
        items=tuple(
            Item(
                title=_ref(kind.value, r.id),
                body=r.text[:120],
                fields=(("Class", c), ("Written", f"{r.written_at:%Y-%m-%d}")),
            )
            for r, c in rows
        ),
        footer=f"More: records list --kind {kind.value} --page {page + 1}" if len(rows) == 20 else "",
    )


@records.command("hold add", role=Role.COORDINATOR)
async def hold_add(
    ctx: Context,
    name: Annotated[str, Opt(help="what the hold is for", max_length=200, example='"Smith v. County"')],
    *,
    from_day: Day = None,
    to_day: Day = None,
    member: Annotated[
        Member | None, Opt(help="only records this member wrote or attended", metavar="@MEMBER")
    ] = None,
    keyword: Annotated[str, Opt(help="only records containing this word or phrase", max_length=200)] = "",
) -> Reply:
    """Put records on legal hold: those matching every criterion given are never disposed of.

    Example: records hold add "Smith v. County" --from-day 2027-01-01 --to-day 2027-06-30 --keyword budget
    """
    now = ctx.now()

    def apply(session: Session) -> int:
        who = ensure_member(session, member) if member else None
        return (
            service.add_hold(
                session, name, from_day=from_day, to_day=to_day, member=who, keyword=keyword, now=now
            ).id
            or 0
        )

    hold_id = await ctx.store.run(apply)
    return Reply(
        f"Legal hold H{hold_id} ({name}) is in force; release it with: records hold release H{hold_id}"
    )


@records.command("hold list", role=Role.COORDINATOR)
async def hold_list(ctx: Context) -> Reply:
    """List the legal holds in force."""

    def load(session: Session) -> list[Item]:
        items = []
        for h in service.active_holds(session):
            facts = [("From", str(h.from_day or "any")), ("To", str(h.to_day or "any"))]
            if h.by_member:
                facts.append(("Member", _member_name(session, h.member_id)))
            if h.keyword:
                facts.append(("Keyword", h.keyword))
            items.append(Item(title=h.name, ref=f"H{h.id}", fields=tuple(facts)))
        return items

    items = await ctx.store.run(load)
    if not items:
        return Reply("No legal hold is in force.")
    return Reply(f"{counted(len(items), 'legal hold')} in force.", items=tuple(items))


def _member_name(session: Session, member_id: int | None) -> str:
    m = session.get(MemberRecord, member_id) if member_id else None
    if m is None:
        return "a forgotten member"
    return m.display_name or m.as_member().ref


@records.command("hold release", role=Role.COORDINATOR)
async def hold_release(
    ctx: Context,
    hold_id: Annotated[
        int, Opt(help="the hold's id, like H2", converter=lambda r: _prefixed("H", r), metavar="HOLD")
    ],
) -> Reply:
    """Release a legal hold: its records follow the retention policy again.

    Example: records hold release H2
    """
    now = ctx.now()
    hold = await ctx.store.run(lambda s: service.release_hold(s, hold_id, now))
    return Reply(f"Released legal hold H{hold_id} ({hold.name}).")


def _run_reply(run_id: int, rows: list[service.Listed], head: str) -> Reply:
    waiting = [r for r in rows if r.state == "listed"]
    items = tuple(
        Item(
            title=f"{r.number}. {_ref(r.kind, r.record_id)}",
            fields=(
                ("Class", r.class_name),
                ("Written", str(r.written_on)),
                ("Expired", str(r.expired_on)),
                ("State", r.state + (f" ({r.hold_ids})" if r.hold_ids else "")),
            ),
        )
        for r in rows[:50]
    )
    choices = (
        (Choice("Approve all listed", f"records approve R{run_id} --all", style="danger"),) if waiting else ()
    )
    return Reply(
        head,
        items=items,
        choices=choices,
        footer=f"Approve: records approve R{run_id} --items 1,2 (or --all). Nothing is deleted until then."
        if waiting
        else "",
    )


@records.command("run", role=Role.COORDINATOR)
async def run(ctx: Context) -> Reply:
    """List the records past their retention period, for a coordinator to approve; nothing is deleted yet."""
    now = ctx.now()
    run_id, rows = await ctx.store.run(lambda s: service.start_run(s, now))
    if not rows:
        return Reply(f"Retention run R{run_id}: no record is past its retention period.")
    held = sum(1 for r in rows if r.state == "held")
    return _run_reply(
        run_id,
        rows,
        f"Retention run R{run_id}: {counted(len(rows), 'record')} past their retention period"
        + (f", {held} of them on legal hold (they stay)." if held else "."),
    )


@records.command("show", role=Role.COORDINATOR)
async def show_run(ctx: Context, run_id: RunId) -> Reply:
    """Show a retention run's list and what became of each record.

    Example: records show R2
    """

    def load(session: Session) -> list[service.Listed]:
        service.get_run(session, run_id)
        return service.listed(session, run_id)

    rows = await ctx.store.run(load)
    return _run_reply(run_id, rows, f"Retention run R{run_id}: {counted(len(rows), 'record')}.")


@records.command("approve", role=Role.COORDINATOR, audited=False)
async def approve(
    ctx: Context,
    run_id: RunId,
    *,
    items: Annotated[
        list[int], Opt(help="the numbers in the run's list to dispose of", min=1, max=100000)
    ] = [],
    all: Annotated[bool, Opt(help="dispose of every listed record of the run")] = False,
) -> Reply:
    """Approve the disposition of expired records: they are deleted, unless a legal hold covers them.

    Example: records approve R2 --items 1,3
    """
    if bool(items) == all:
        raise ArgumentError(f"Say which: records approve R{run_id} --items 1,3, or --all", "items")
    member, now = ctx.member, ctx.now()

    def apply(session: Session) -> dict[str, list[str]]:
        outcome = service.approve(session, run_id, None if all else items, now)
        for state in ("deleted", "held", "gone"):
            for ref in outcome[state]:
                write_audit(session, member, f"records disposition {state}", f"R{run_id}: {ref}")
        return outcome

    outcome = await ctx.store.run(apply)
    parts = [f"{len(v)} {k}" for k, v in outcome.items() if v]
    lines = [f"{k}: {', '.join(v)}" for k, v in outcome.items() if v]
    return Reply(
        f"Run R{run_id}: "
        + (", ".join(parts) or "nothing to do")
        + ". Each disposition is logged (records log).",
        fields=tuple((line.split(": ", 1)[0], line.split(": ", 1)[1][:1000]) for line in lines),
    )


@records.command("log", role=Role.COORDINATOR)
async def disposition_log(ctx: Context) -> Reply:
    """The disposition log: what retention runs deleted or kept on hold, newest first."""
    rows = await ctx.store.run(service.log)
    if not rows:
        return Reply("No disposition yet.")
    return Reply(
        f"The last {counted(len(rows), 'disposition')}.",
        items=tuple(
            Item(
                title=f"R{run_id}.{d.number} {_ref(d.kind, d.record_id)}: {d.state}",
                fields=(
                    ("Class", d.class_name),
                    ("Decided", f"{d.decided_at:%Y-%m-%d %H:%M}" if d.decided_at else ""),
                    ("Hold", d.hold_ids or "none"),
                ),
            )
            for run_id, d in rows
        ),
    )


@records.command("export", role=Role.ADMIN, audited=False, host_only=True)
async def export(
    ctx: Context,
    *,
    from_day: Day = None,
    to_day: Day = None,
    keyword: Annotated[
        list[str], Opt(help="records containing any of these words", item_max_length=100)
    ] = [],
    member: Annotated[
        list[Member], Opt(help="records these members wrote or attended", metavar="@MEMBER")
    ] = [],
    network: Annotated[list[str], Opt(help="records of these networks (their slug)", suggest="network")] = [],
    disclose_anonymous: Annotated[
        bool, Opt(help="name authors credited anonymously or by role only (audited)")
    ] = False,
) -> Reply:
    """Export everything matching a records request as one zip (JSON and CSV per kind, manifest, cover sheet).

    Anonymous and role-only authors are withheld, and listed as withheld, unless --disclose-anonymous.
    The same request gives the same bytes again.
    Example: records export --from-day 2027-01-01 --to-day 2027-06-30 --keyword budget
    """
    if from_day and to_day and from_day > to_day:
        raise ArgumentError(f"--from-day {from_day} is after --to-day {to_day}.", "from_day")
    actor = ctx.member

    def apply(session: Session) -> bundle.Bundle:
        ids: list[int] = []
        names: list[str] = []
        for m in member:
            record = find_member(session, m)
            if record is None:
                raise NotFound(f"copbot has no record of {m.name}; nothing of theirs to export.")
            ids.append(record.id or 0)
            names.append(m.ref)
        req = bundle.Request(
            from_day=from_day,
            to_day=to_day,
            keywords=tuple(sorted(set(keyword))),
            members=tuple(sorted(ids)),
            member_names=tuple(sorted(names)),
            networks=tuple(sorted(set(network))),
            disclose=disclose_anonymous,
        )
        made = bundle.build(session, req)
        detail = "; ".join(req.describe()) + f"; bundle {made.name}"
        write_audit(
            session,
            actor,
            "records export" + (" DISCLOSING anonymous authors" if disclose_anonymous else ""),
            detail,
        )
        return made

    made = await ctx.store.run(apply)
    found = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in made.counts.items())
    return Reply(
        f"Records request bundle: {found}; {counted(len(made.withheld), 'item')} withheld by policy (see its cover sheet).",
        attachments=(Attachment(made.name, made.data, "application/zip"),),
    )
