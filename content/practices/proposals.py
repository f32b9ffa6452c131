"""`practice propose` / `practice consent`: saving someone else's words as a practice, with their consent.

A member who finds a useful message by someone else (from the message's own menu, which `practice
from-message` declares, or by the command) proposes it; the author gets a direct message and chooses how
to be credited, or declines. Nothing is saved until the author answers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from sqlalchemy import or_, select
from sqlmodel import Session, col

from bot.commands import CommandGroup, MessageAction, Opt
from bot.context import Context, ensure_member, find_member
from bot.errors import ArgumentError, CommandError, NotFound
from bot.messages import Member, Reply, mention
from bot.store.db import contains_pattern, typed_id
from bot.store.models import MemberRecord
from content.practices import service
from content.practices.commands import practice_ref
from content.practices.consent import Consent, consent_answer, still_visible
from content.practices.models import PracticeProposal
from scheduling.engine.notices import plan_notice

proposals = CommandGroup("practice", "")  # adds `practice propose` and `practice consent`


def _proposal_id(raw: str) -> int:
    value = raw.strip().lstrip("#")
    value = value[1:] if value[:1] in "Qq" else value
    if not value.isdigit():
        raise ValueError(f"{raw!r} is not a proposal id; they look like Q4")
    return int(value)


@proposals.command("propose")
async def practice_propose(
    ctx: Context,
    author: Annotated[Member, Opt(help="who wrote it (mention them)")],
    *,
    title: Annotated[str, Opt(help="a short name for the practice", max_length=200)] = "",
    what: Annotated[
        str, Opt(help="what they did, in their words", long=True, label="What they did", max_length=4000)
    ] = "",
    link: Annotated[str, Opt(help="a link to the message", max_length=500)] = "",
) -> Reply:
    """Propose saving someone else's message as a shared practice; they choose how they are credited.

    Nothing is saved until they answer. With only the author it opens a form.
    Example: practice propose @ana --title "Budget office hours" --what "Ana's team holds weekly office hours..."
    """
    member, now = ctx.member, ctx.now()
    if author.key == member.key:
        raise CommandError("That is your own message: share it with `practice share` and choose your credit.")
    if not title.strip() or not what.strip():
        cmd = ctx.services.registry.commands["practice propose"]
        return Reply(
            f"Check what {mention(author)} wrote; they will be asked before anything is saved.",
            form=cmd.to_form({"title": title, "what": what, "link": link}, fixed={"author": author.ref}),
        )
    if link and not link.startswith(("https://", "http://")):
        raise ArgumentError("--link must be a web address starting with https://", "link")

    def apply(session: Session) -> tuple[int, str]:
        record = ensure_member(session, author)
        asker = ensure_member(session, member)
        proposal = PracticeProposal(
            author_id=record.id or 0, proposed_by=asker.id, title=title.strip(), what=what.strip(), link=link
        )
        session.add(proposal)
        session.flush()
        excerpt = " ".join(proposal.what.split())[:300]
        plan_notice(
            session,
            f"practice:proposal:{proposal.id}",
            now,
            platform=author.platform,
            user_id=author.user_id,
            workspace=author.workspace,
            expires=timedelta(days=7),
            text=(
                f"{mention(member)} would like to save what you wrote as a shared practice, "
                f'"{proposal.title}": "{excerpt}"\n'
                f"Nothing is saved unless you agree. This is proposal Q{proposal.id}. How should you be "
                f"credited? Press a button, or type one of: practice consent Q{proposal.id} named, practice "
                f'consent Q{proposal.id} role --role-description "a city manager", practice consent '
                f"Q{proposal.id} anonymous, practice consent Q{proposal.id} no."
            ),
            choices=[
                ("Named", f"practice consent Q{proposal.id} named"),
                ("Role only", f"practice consent Q{proposal.id} role"),
                ("Anonymous", f"practice consent Q{proposal.id} anonymous"),
                ("No thanks", f"practice consent Q{proposal.id} no"),
            ],
        )
        return proposal.id or 0, mention(record.as_member() if record.display_name else author)

    pid, name = await ctx.store.run(apply)
    ctx.services.scheduler.wake()
    return Reply(
        f"Asked {name} whether it may be saved as a practice (Q{pid}) and how they want to be "
        "credited. Nothing is saved until they answer."
    )


@proposals.command(
    "from-message", entry=MessageAction("Save as practice", "Save this message as a shared practice")
)
async def practice_from_message(
    ctx: Context,
    author: Annotated[Member, Opt(help="who wrote the message (mention them)")],
    *,
    text: Annotated[str, Opt(help="the message's text", long=True, max_length=4000)] = "",
    link: Annotated[str, Opt(help="a link to the message", max_length=500)] = "",
) -> Reply:
    """Save a chat message as a practice; someone else's is proposed to them first.

    Your own message opens the practice form filled in; someone else's opens a proposal, and they are asked
    how to be credited before anything is saved.

    Example: practice from-message @ana --text "We hold weekly budget office hours." --link https://example.org/m/1
    """
    words = text.strip()
    if not words:
        raise ArgumentError(
            "That message has no text to save; describe the practice with: practice share", "text"
        )
    link = link if link.startswith(("https://", "http://")) else ""
    title = service.title_from_text(words)
    registry = ctx.services.registry
    if author.key == ctx.member.key:
        form = registry.commands["practice share"].to_form(
            {"title": title, "what": words, "links": [link] if link else [], "source": "a chat message"}
        )
        return Reply("Check the practice and choose how you are credited, then submit.", form=form)
    await ctx.store.run(lambda s: ensure_member(s, author))  # the form carries their id: keep their name
    form = registry.commands["practice propose"].to_form(
        {"title": title, "what": words, "link": link}, fixed={"author": author.ref}
    )
    return Reply(
        f"Check what {mention(author)} wrote; they will be asked before anything is saved.", form=form
    )


@proposals.command("consent")
async def practice_consent(
    ctx: Context,
    proposal: Annotated[
        int,
        Opt(
            help="the proposal's id, like Q4", converter=_proposal_id, metavar="PROPOSAL", suggest="proposal"
        ),
    ],
    answer: Annotated[Consent, Opt(help="named, role, anonymous, or no")],
    *,
    role_description: Annotated[
        str, Opt(help="how to describe you if credited by role", max_length=200)
    ] = "",
) -> Reply:
    """Answer a proposal to save your message as a practice: how to credit you, or no.

    Example: practice consent Q4 anonymous
    """
    member = ctx.member

    def apply(session: Session) -> Reply:
        row = session.get(PracticeProposal, proposal)
        if row is None:
            raise NotFound(f"There is no proposal Q{proposal}.")
        author = session.get(MemberRecord, row.author_id)
        assert author is not None
        attribution = consent_answer(
            member, author, row.state, answer, role_description, f"practice consent Q{proposal}"
        )
        if attribution is None:
            row.state = "declined"
            session.add(row)
            return Reply("Understood: nothing was saved.")
        fields: dict[str, Any] = dict(
            title=row.title,
            what=row.what,
            attribution=attribution.value,
            author_role=role_description,
            author_name=member.name[:200],
            source_platform=author.platform,
            source_link=row.link,
            source_note="proposed by another member",
        )
        p = service.create(session, member, fields, {}, ctx.now())
        row.state, row.practice_id = "accepted", p.id
        session.add(row)
        ref = practice_ref(p.id or 0)
        return Reply(
            f"Thank you. Saved as {ref}: {p.title}. Credited as: {service.attribution_text(p)}. "
            f"Change it with: practice edit {ref}{still_visible(attribution, ref, 'your message')}"
        )

    return await ctx.store.run(apply)


def export_member(session: Session, record: MemberRecord) -> list[dict[str, Any]]:
    rows = session.execute(
        select(PracticeProposal).where(col(PracticeProposal.author_id) == record.id)
    ).scalars()
    return [
        {
            "id": f"Q{r.id}",
            "title": r.title,
            "what": r.what,
            "state": r.state,
            "created_at": r.created_at.isoformat(),
        }
        for r in rows
    ]


def forget_member(session: Session, record: MemberRecord, now: datetime) -> int:
    """Proposals about a forgotten member's words go (pending ones could otherwise still be accepted)."""
    rows = list(
        session.execute(
            select(PracticeProposal).where(col(PracticeProposal.author_id) == record.id)
        ).scalars()
    )
    for r in rows:
        session.delete(r)
    return len(rows)


def suggest_proposals(
    session: Session, prefix: str, member: Member, now: datetime, limit: int
) -> list[tuple[str, str]]:
    """Proposals to save one of the member's own messages that wait for their answer (autocomplete for
    practice consent); nobody else's."""
    record = find_member(session, member)
    wanted = typed_id(prefix, _proposal_id)
    matches = col(PracticeProposal.title).ilike(contains_pattern(prefix), escape="\\")
    rows = session.execute(
        select(PracticeProposal)
        .where(
            col(PracticeProposal.state) == "pending",
            col(PracticeProposal.author_id) == (record.id if record else -1),
            or_(col(PracticeProposal.id) == wanted, matches) if wanted is not None else matches,
        )
        .order_by(col(PracticeProposal.id).desc())
        .limit(limit)
    ).scalars()
    return [(f"Q{p.id} {p.title}", f"Q{p.id}") for p in rows]
