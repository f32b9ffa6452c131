"""The `after` commands: after a convening, attendance (marked or checked in), notes, one commitment
per member with its 30/60/90-day follow-ups, sharing an answer as a practice, and the attendance export.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from enum import Enum
from typing import Annotated

from sqlmodel import Session

from bot.commands import CommandGroup, Opt
from bot.context import Context, write_audit
from bot.errors import ArgumentError, CommandError
from bot.messages import Attachment, Choice, Member, Reply, mention
from bot.networks.params import coordinators_of
from bot.store.models import MemberRecord
from content.practices import service as practices
from content.practices.models import Attribution
from scheduling.convenings.after import service as svc
from scheduling.convenings.after.models import Outcome
from scheduling.convenings.service import get as get_convening
from scheduling.convenings.service import network_of
from scheduling.engine.notices import plan_dm

after_group = CommandGroup("after", "after a convening: attendance, notes, commitments and their follow-ups")

Id = Annotated[
    int,
    Opt(help="the convening's number (see convening list)", min=1, metavar="CONVENING", suggest="convening"),
]
CommitmentId = Annotated[
    int, Opt(help="the commitment's number (in its follow-up message)", min=1, metavar="COMMITMENT")
]


class YesNo(str, Enum):
    YES = "yes"
    NO = "no"


class ExportFormat(str, Enum):
    TEXT = "text"
    CSV = "csv"


def _consent_choices(convening_id: int) -> tuple[Choice, ...]:
    return (
        Choice("Include me in the attendance list", f"after consent {convening_id} yes"),
        Choice("Leave me out", f"after consent {convening_id} no"),
    )


@after_group.command("attend", scope=coordinators_of("convening", network_of), audited=False, host_only=True)
async def attend(
    ctx: Context,
    convening: Id,
    members: Annotated[
        list[Member], Opt(help="the members who attended (mention them)", metavar="@MEMBER...")
    ],
) -> Reply:
    """Mark members as having attended a convening of a network you coordinate.

    Each is asked whether they may appear in the attendance export, and invited to record a commitment.
    Example: after attend 12 @ana @leo
    """
    if not members:
        raise ArgumentError("Mention the members who attended. Example: after attend 12 @ana @leo", "members")
    now = ctx.now()

    def apply(session: Session) -> tuple[str, list[MemberRecord], int]:
        conv = get_convening(session, convening)
        new, already = svc.mark(session, conv, members, now)
        for record in new:
            plan_dm(
                session,
                f"after:{conv.id}:attended:{record.id}",
                now,
                (record.platform, record.user_id, record.workspace),
                f"Thanks for coming to {conv.title}. What will you try? "
                f"after commit {conv.id} <one thing>\n"
                "May you appear by name in its attendance list? Nobody does unless they say yes.",
                choices=[(c.label, c.command) for c in _consent_choices(conv.id or 0)],
                default_zone=ctx.settings.timezone,
                reminder=False,
                expires=timedelta(days=3),
            )
        write_audit(session, ctx.member, "after attend", f"{conv.id} +{len(new)}")
        return conv.title, new, already

    title, new, already = await ctx.store.run(apply)
    ctx.services.scheduler.wake()
    names = ", ".join(mention(r.as_member()) for r in new) or "nobody new"
    return Reply(f"Marked as attending {title}: {names}." + (f" {already} already were." if already else ""))


@after_group.command("checkin")
async def checkin(ctx: Context, convening: Id) -> Reply:
    """Check in to a convening you are at (from 15 minutes before the start until the end).

    Example: after checkin 12
    """
    now = ctx.now()

    def apply(session: Session) -> tuple[str, bool]:
        conv = get_convening(session, convening)
        return conv.title, svc.check_in(session, conv, ctx.member, now)

    title, new = await ctx.store.run(apply)
    said = f"You are checked in to {title}." if new else f"You were already recorded as attending {title}."
    return Reply(
        f"{said} May you appear by name in its attendance list? Nobody does unless they say yes.",
        choices=_consent_choices(convening),
    )


@after_group.command("consent")
async def consent(ctx: Context, convening: Id, answer: Annotated[YesNo, Opt(help="yes or no")]) -> Reply:
    """Choose whether you appear by name in a convening's attendance export (you can change it).

    Example: after consent 12 yes
    """
    share = answer is YesNo.YES
    conv = await ctx.store.run(lambda s: svc.set_consent(s, convening, ctx.member, share))
    if share:
        return Reply(
            f"You will appear in the attendance list of {conv.title}. Undo: after consent {conv.id} no"
        )
    return Reply(f"You will not appear in the attendance list of {conv.title}; it only counts you.")


@after_group.command("note")
async def note(
    ctx: Context, convening: Id, text: Annotated[str, Opt(help="your note", long=True, max_length=4000)]
) -> Reply:
    """Record a note for yourself about a convening you attended.

    Example: after note 12 Ask Ana about the budget template
    """
    now = ctx.now()
    n = await ctx.store.run(lambda s: svc.add_note(s, convening, ctx.member, text, now))
    return Reply(f"Noted (note {n.id}). What will you try? after commit {convening} <one thing>")


@after_group.command("commit")
async def commit(
    ctx: Context, convening: Id, text: Annotated[str, Opt(help="what you will try", max_length=500)]
) -> Reply:
    """Record the one thing you will try after a convening; the bot asks how it went at 30, 60 and 90 days.

    Example: after commit 12 Run our budget hearing as a listening session
    """
    now, tz = ctx.now(), ctx.settings.timezone
    conv, row = await ctx.store.run(lambda s: svc.commit(s, convening, ctx.member, text, now, tz))
    ctx.services.scheduler.wake()
    return Reply(
        f'Commitment {row.id} for {conv.title}: "{row.text}". I will ask how it is going in 30, 60 '
        f"and 90 days. Answer any time with: after answer {row.id} <what happened>"
    )


@after_group.command("answer")
async def answer(
    ctx: Context,
    commitment: CommitmentId,
    text: Annotated[
        str,
        Opt(help='"It worked", "Still trying", "Dropped it", or your own words', long=True, max_length=4000),
    ],
) -> Reply:
    """Say how your commitment is going; "Dropped it" stops the follow-ups.

    Example: after answer 5 It worked
    Example: after answer 5 We tried it twice; the second hearing had twice the turnout
    """
    now = ctx.now()
    stored = await ctx.store.run(lambda s: svc.answer(s, commitment, ctx.member, text, now))
    if stored.outcome == Outcome.DROPPED.value:
        return Reply("Thanks for saying so; no more follow-ups about this commitment.")
    share = tuple(
        Choice(f"Share it ({a.value})", f"after share {commitment} --attribution {a.value}")
        for a in (Attribution.NAMED, Attribution.ANONYMOUS)
    )
    return Reply(
        f"Thanks; saved as your {stored.days}-day answer. Others could learn from it: share it as a "
        f"practice with: after share {commitment} --attribution named|role|anonymous",
        choices=share,
    )


@after_group.command("share")
async def share(
    ctx: Context,
    commitment: CommitmentId,
    *,
    attribution: Annotated[Attribution, Opt(help="how you are credited: named, role or anonymous")],
    role_description: Annotated[
        str, Opt(help="how to describe you if credited by role", max_length=200)
    ] = "",
) -> Reply:
    """Share your commitment and your latest answer as a practice; you choose how you are credited.

    Example: after share 5 --attribution role --role-description "a budget director in a mid-size city"
    """
    if attribution is Attribution.ROLE and not role_description.strip():
        raise ArgumentError(
            "--role-description is needed when attribution is role, e.g. "
            '--role-description "a chief of staff in a large city"',
            "role_description",
        )

    def apply(session: Session) -> Reply:
        row = svc.own_commitment(session, commitment, ctx.member)
        if row.practice_id is not None:
            raise CommandError(f"Commitment {row.id} is already shared as P{row.practice_id}.")
        latest = svc.latest_answer(session, row.id or 0)
        if latest is None:
            raise CommandError(f"Say how it went first: after answer {row.id} <what happened>")
        conv = get_convening(session, row.convening_id)
        author = session.get(MemberRecord, row.member_id)
        assert author is not None
        outcome = svc.OUTCOME_LABEL.get(latest.outcome, "")
        what = f"What I tried: {row.text}\nAfter {latest.days} days: {latest.text}"
        if outcome and outcome.lower() != latest.text.lower().rstrip(".!"):
            what += f" ({outcome})"
        p = practices.create(
            session,
            author.as_member(),
            {
                "title": row.text[:200],
                "what": what,
                "attribution": attribution.value,
                "author_role": role_description.strip(),
                "author_name": author.display_name,
                "source_platform": author.platform,
                "source_link": "",
                "links": "",
                "source_note": f"commitment after {conv.title}"[:200],
            },
            {},
            ctx.now(),
        )
        row.practice_id = p.id
        session.add(row)
        return Reply(
            f"Saved P{p.id}: {p.title}. Credited as: {practices.attribution_text(p)}. "
            f"Change it with: practice edit P{p.id}"
        )

    return await ctx.store.run(apply)


@after_group.command("export", scope=coordinators_of("convening", network_of), audited=False, host_only=True)
async def export(
    ctx: Context,
    convening: Id,
    *,
    format: Annotated[
        ExportFormat,
        Opt(  # noqa: A002
            help="text or csv"
        ),
    ] = ExportFormat.TEXT,
) -> Reply:
    """Download a convening's attendance: only members who agreed to appear, and a count of the others.

    Example: after export 12 --format csv
    """

    def load(session: Session) -> tuple[str, int, list[tuple[str, str, str]], int]:
        conv = get_convening(session, convening)
        shown, hidden = svc.export_rows(session, conv)
        write_audit(session, ctx.member, "after export", f"{conv.id}")
        return conv.title, conv.id or 0, shown, hidden

    title, cid, shown, hidden = await ctx.store.run(load)
    if format is ExportFormat.CSV:
        buf = io.StringIO()
        out = csv.writer(buf)
        out.writerow(["name", "how", "recorded_at"])
        out.writerows(shown)
        attachment = Attachment(f"attendance-{cid}.csv", buf.getvalue().encode(), "text/csv")
    else:
        lines = [f"Attendance: {title}"] + [f"- {n} ({how})" for n, how, _ in shown]
        lines.append(f"{hidden} more attended and chose not to be listed.")
        attachment = Attachment(f"attendance-{cid}.txt", ("\n".join(lines) + "\n").encode(), "text/plain")
    return Reply(
        f"Attendance of {title}: {len(shown)} listed, {hidden} attended and chose not to be listed.",
        attachments=(attachment,),
    )
