"""The `practice` commands: share, search, show, endorse, edit, retire, restore, mine, export."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any

from sqlmodel import Session

from bot.commands import CommandGroup, GlobalAction, Opt, with_page
from bot.context import Context, write_audit
from bot.errors import ArgumentError, NotAllowed
from bot.messages import Attachment, Choice, Item, Reply, Visibility
from bot.permissions import Role
from bot.store import fulltext
from bot.words import counted
from content.practices import service
from content.practices.export import MIME, SUFFIX, ExportFormat, render
from content.practices.models import (
    Attribution,
    Framework,
    LabelKind,
    Level,
    PolicyArea,
    Practice,
    Sector,
    Size,
    Status,
)
from content.practices.service import (
    Filters,
    PracticeView,
    attribution_text,
    parse_practice_id,
    practice_ref,
    public_source,
)

practices = CommandGroup("practice", "record and find what members tried")
PAGE_SIZE = 5

PracticeId = Annotated[
    int,
    Opt(
        help="the practice's id, like P12",
        converter=parse_practice_id,
        metavar="ID",
        example="P12",
        suggest="practice",
    ),
]
RetiredPracticeId = Annotated[
    int,
    Opt(
        help="the retired practice's id, like P12",
        converter=parse_practice_id,
        metavar="ID",
        example="P12",
        suggest="retired-practice",
    ),
]


def practice_item(v: PracticeView, *, body: str | None = None) -> Item:
    p = v.practice
    ref = practice_ref(p.id or 0)
    facts = [("Shared by", attribution_text(p))]
    if v.context_line():
        facts.append(("Context", v.context_line()))
    if v.frameworks:
        facts.append(("Frameworks", ", ".join(v.frameworks)))
    if v.tags:
        facts.append(("Tags", ", ".join(v.tags)))
    facts.append(("Endorsed", str(v.endorsements)))
    if p.reviewed_at:
        facts.append(("Reviewed", service.reviewed_text(p)))
    if p.status != Status.ACTIVE.value:
        facts.append(("Status", p.status))
    summary = body if body is not None else (v.snippet or _clip(p.what, 220))
    return Item(
        title=p.title,
        body=summary,
        fields=tuple(facts),
        ref=ref,
        choices=(
            Choice("Show", f"practice show {ref}"),
            Choice("Endorse", f"practice endorse {ref}", style="primary"),
        ),
    )


def _clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rsplit(" ", 1)[0] + "…"


def _fields_from_args(
    args: dict[str, Any], given: set[str] | None = None
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Split command arguments into practice columns and labels, validating what needs it."""
    fields: dict[str, Any] = {}
    labels: dict[str, list[str]] = {}

    def wanted(name: str) -> bool:
        return given is None or name in given

    for name in ("title", "what", "region", "how_much", "how_well", "better_off"):
        if wanted(name):
            value = args.get(name)
            fields[name] = value if value not in ("",) else None
    for name in ("level", "size", "policy_area", "attribution"):
        if wanted(name) and args.get(name) is not None:
            fields[name] = args[name].value
    if wanted("role_description"):
        fields["author_role"] = args.get("role_description") or ""
    if wanted("links"):
        fields["links"] = json.dumps(service.check_links(args.get("links") or []))
    if wanted("frameworks"):
        labels[LabelKind.FRAMEWORK.value] = [f.value for f in args.get("frameworks") or []]
    if wanted("sectors"):
        labels[LabelKind.SECTOR.value] = [s.value for s in args.get("sectors") or []]
    if wanted("tags"):
        tags = []
        for t in args.get("tags") or []:
            tag = service.normalise_tag(t)
            if tag not in tags:
                tags.append(tag)
        if len(tags) > service.MAX_TAGS:
            raise ArgumentError(f"--tags: give at most {service.MAX_TAGS} tags.", "tags")
        labels[LabelKind.TAG.value] = tags
    if "title" in fields and not fields["title"]:
        raise ArgumentError('--title cannot be empty. Example: --title "Budget town halls on Zoom"', "title")
    if "what" in fields and not fields["what"]:
        raise ArgumentError("--what cannot be empty: say what you did, in a few sentences.", "what")
    return fields, labels


Title = Annotated[
    str, Opt(help="a short name for the practice", max_length=200, example='"Participatory budgeting pilot"')
]
What = Annotated[str, Opt(help="what you did, in a few sentences", long=True, label="What you did")]
HowMuch = Annotated[
    str,
    Opt(
        help="RBA: how much did we do? (for example 12 sessions, 400 residents)",
        long=True,
        max_length=2000,
        label="How much did we do?",
    ),
]
HowWell = Annotated[
    str, Opt(help="RBA: how well did we do it?", long=True, max_length=2000, label="How well did we do it?")
]
BetterOff = Annotated[
    str,
    Opt(
        help="RBA: is anyone better off? The evidence you have",
        long=True,
        max_length=2000,
        label="Is anyone better off?",
    ),
]
AttributionOpt = Annotated[
    Attribution, Opt(help="how you are credited: named, role (role only) or anonymous (Chatham House Rule)")
]
RoleDescription = Annotated[
    str,
    Opt(
        help='how to describe you if credited by role, e.g. "a chief of staff in a large city"',
        max_length=200,
    ),
]
Region = Annotated[str, Opt(help="region, e.g. Midwest or Ontario", max_length=100)]
Tags = Annotated[list[str], Opt(help="free tags, e.g. budgeting,equity", suggest="tag")]
Links = Annotated[
    list[str],
    Opt(
        help="web links to reports or pages",
        item_max_length=500,
        converter=lambda raw: service.check_links([raw])[0],
    ),
]


# practice share: needed with role-only credit (declared, so a form in pages asks for it on its own page)
NeededRoleDescription = Annotated[
    str,
    Opt(
        help='how to describe you if credited by role, e.g. "a chief of staff in a large city"',
        max_length=200,
        needed_if=("attribution", Attribution.ROLE.value),
    ),
]


def _check_attribution(attribution: Attribution | None, role_description: str | None) -> None:
    if attribution is Attribution.ROLE and not (role_description or "").strip():
        raise ArgumentError(
            "--role-description is needed when attribution is role, e.g. "
            '--role-description "a chief of staff in a large city"',
            "role_description",
        )


@practices.command(
    "share", form=True, entry=GlobalAction("Share a practice", "Share a practice that worked (or didn't)")
)
async def share(
    ctx: Context,
    *,
    title: Title,
    what: What,
    attribution: AttributionOpt,
    role_description: NeededRoleDescription = "",
    level: Annotated[Level | None, Opt(help="level of government")] = None,
    size: Annotated[
        Size | None,
        Opt(help="jurisdiction size: small (<50k), mid-size (50k–250k), large (250k–1M), very-large (>1M)"),
    ] = None,
    policy_area: Annotated[PolicyArea | None, Opt(help="policy area")] = None,
    sectors: Annotated[list[Sector], Opt(help="sectors involved")] = [],
    region: Region = "",
    how_much: HowMuch = "",
    how_well: HowWell = "",
    better_off: BetterOff = "",
    frameworks: Annotated[list[Framework], Opt(help="frameworks it draws on")] = [],
    tags: Tags = [],
    links: Links = [],
    source: Annotated[str, Opt(help="where it was shared, e.g. 'forum 2026-03-03'", max_length=200)] = "",
) -> Reply:
    """Share a practice that worked (or didn't) so other members can find it.

    Say how you want to be credited: named, by role only, or anonymously (Chatham House Rule).
    With no options it opens a form.
    Example: practice share --title "Budget town halls on Zoom" --what "We moved our budget hearings online..." --attribution named --level local --tags budgeting
    """
    args = dict(
        title=title,
        what=what,
        attribution=attribution,
        role_description=role_description,
        level=level,
        size=size,
        policy_area=policy_area,
        sectors=sectors,
        region=region,
        how_much=how_much,
        how_well=how_well,
        better_off=better_off,
        frameworks=frameworks,
        tags=tags,
        links=links,
    )
    fields, labels = _fields_from_args(args)
    fields.update(
        author_name=ctx.member.name[:200],
        source_platform=ctx.member.platform,
        source_link=(ctx.incoming.link or "")[:500],
        source_note=source,
    )
    member = ctx.member

    def apply(session: Session) -> PracticeView:
        p = service.create(session, member, fields, labels, ctx.now())
        return service.views(session, [p])[0]

    view = await ctx.store.run(apply)
    ref = practice_ref(view.practice.id or 0)
    # Said in the channel, a confirmation next to the author's own command would name them: only a named
    # practice is announced there.
    shown = Visibility.PUBLIC if attribution is Attribution.NAMED else Visibility.PRIVATE
    return Reply(
        f"Saved {ref}: {view.practice.title}. Credited as: {attribution_text(view.practice)}.",
        items=(practice_item(view),),
        visibility=shown,
        footer=f"Change it with: practice edit {ref}",
    )


def _filters(
    tag: list[str],
    framework: list[Framework],
    sector: list[Sector],
    level: Level | None,
    policy_area: PolicyArea | None,
) -> Filters:
    return Filters(
        tags=[service.normalise_tag(t) for t in tag],
        frameworks=[f.value for f in framework],
        sectors=[s.value for s in sector],
        level=level.value if level else None,
        policy_area=policy_area.value if policy_area else None,
    )


@practices.command("search")
async def search(
    ctx: Context,
    query: Annotated[
        str,
        Opt(
            help='words to look for; "quotes" for a phrase, -word to exclude, word* for a prefix',
            max_length=300,
            metavar="WORDS",
            verbatim=True,
        ),
    ] = "",
    *,
    tag: Annotated[list[str], Opt(help="only practices with this tag", suggest="tag")] = [],
    framework: Annotated[list[Framework], Opt(help="only practices drawing on this framework")] = [],
    level: Annotated[Level | None, Opt(help="only this level of government")] = None,
    sector: Annotated[list[Sector], Opt(help="only practices involving this sector")] = [],
    policy_area: Annotated[PolicyArea | None, Opt(help="only this policy area")] = None,
    reviewed_within: Annotated[
        int | None,
        Opt(help="only practices reviewed (or shared) in the last this many months", min=1, max=600),
    ] = None,
    freshest: Annotated[bool, Opt(help="the most recently reviewed first, not the best matches")] = False,
    page: Annotated[int, Opt(help="which page of results", min=1, max=1000)] = 1,
) -> Reply:
    """Find shared practices by words and filters, best matches first.

    Words match other forms of the same word: "partnerships" finds "partnership", and an acronym or
    synonym from the glossary finds the full term ("RBA" finds "Results Based Accountability").
    With no words, lists the newest practices that pass the filters.
    Each result says when it was last reviewed ("Reviewed: March 2027"); --reviewed-within 12 keeps those
    confirmed in the last year, --freshest puts the most recently reviewed first.
    Example: practice search "public private" --tag transitions --level local
    """
    filters = _filters(tag, framework, sector, level, policy_area)
    if reviewed_within is not None:
        filters.reviewed_since = ctx.now() - timedelta(days=round(reviewed_within * 30.44))
    offset = (page - 1) * PAGE_SIZE
    found, more = await ctx.store.run(
        lambda s: service.search(
            s,
            query,
            filters,
            limit=PAGE_SIZE,
            offset=offset,
            expand=ctx.services.expand_query,
            freshest=freshest,
        )
    )
    what = (f"for {query!r}" + fulltext.ignored_note(query)) if query.strip() else "(newest first)"
    if freshest:
        what = (f"for {query!r} " if query.strip() else "") + "(most recently reviewed first)"
    if not found:
        hint = " Try fewer words or filters." if page == 1 else " There are no more pages."
        return Reply(f"No practices found {what}.{hint}")
    first = offset + 1
    text = f"Practices {what}: {first}–{offset + len(found)}"
    choices: tuple[Choice, ...] = ()
    footer = ""
    if more:
        next_cmd = with_page(ctx.incoming.text or "practice search", page + 1)
        choices = (Choice("Next page", next_cmd),)
        footer = f"More: {next_cmd}"
    return Reply(text, items=tuple(practice_item(v) for v in found), choices=choices, footer=footer)


@practices.command("show")
async def show(ctx: Context, practice_id: PracticeId) -> Reply:
    """Show one practice in full.

    Example: practice show P12
    """

    def load(session: Session) -> tuple[PracticeView, list[str]]:
        p = service.get(session, practice_id)
        return service.views(session, [p])[0], service.endorsement_notes(session, practice_id)

    view, notes = await ctx.store.run(load)
    p = view.practice
    ref = practice_ref(p.id or 0)
    facts: list[tuple[str, str]] = [("Shared by", attribution_text(p))]
    for label, value in (
        ("Context", view.context_line()),
        ("How much did we do?", p.how_much),
        ("How well did we do it?", p.how_well),
        ("Is anyone better off?", p.better_off),
        ("Frameworks", ", ".join(view.frameworks)),
        ("Tags", ", ".join(view.tags)),
        ("Links", " ".join(view.links)),
        ("Source", public_source(p)),
        ("Endorsed by", f"{counted(view.endorsements, 'member')}"),
        ("Status", p.status),
        ("Shared", p.created_at.strftime("%Y-%m-%d")),
        ("Updated", p.updated_at.strftime("%Y-%m-%d")),
        ("Reviewed", service.reviewed_text(p)),
    ):
        if value:
            facts.append((label, value))
    body = p.what + ("\n\nNotes from members who used it: " + " / ".join(notes) if notes else "")
    return Reply(
        f"{ref}: {p.title}\n{body}",
        fields=tuple(facts),
        choices=(Choice("Endorse", f"practice endorse {ref}", style="primary"),),
    )


@practices.command("endorse")
async def endorse(
    ctx: Context,
    practice_id: PracticeId,
    note: Annotated[str, Opt(help="optional: how you used it", max_length=500)] = "",
) -> Reply:
    """Say you used this practice too, with an optional note (once per member).

    Example: practice endorse P12 we ran this in our county in 2025
    """
    member = ctx.member

    def apply(session: Session) -> tuple[bool, str, int]:
        p = service.get(session, practice_id)
        created = service.endorse(session, p, member, note)
        return created, p.title, service.views(session, [p])[0].endorsements

    created, title, count = await ctx.store.run(apply)
    ref = practice_ref(practice_id)
    if not created:
        extra = " Your note was updated." if note else ""
        return Reply(f"You had already endorsed {ref} ({title}); each member endorses once.{extra}")
    return Reply(f"Thanks: you endorsed {ref} ({title}). It now has {counted(count, 'endorsement')}.")


@practices.command("edit", form=False)
async def edit(
    ctx: Context,
    practice_id: PracticeId,
    *,
    title: Title | None = None,
    what: Annotated[str | None, Opt(help="what you did", long=True, label="What you did")] = None,
    attribution: Annotated[Attribution | None, Opt(help="named, role or anonymous")] = None,
    role_description: RoleDescription | None = None,
    level: Annotated[Level | None, Opt(help="level of government")] = None,
    size: Annotated[Size | None, Opt(help="jurisdiction size")] = None,
    policy_area: Annotated[PolicyArea | None, Opt(help="policy area")] = None,
    sectors: Annotated[list[Sector], Opt(help="sectors involved (replaces the list)")] = [],
    region: Region | None = None,
    how_much: HowMuch | None = None,
    how_well: HowWell | None = None,
    better_off: BetterOff | None = None,
    frameworks: Annotated[list[Framework], Opt(help="frameworks (replaces the list)")] = [],
    tags: Annotated[list[str], Opt(help="tags (replaces the list)", suggest="tag")] = [],
    links: Annotated[list[str], Opt(help="links (replaces the list)", item_max_length=500)] = [],
) -> Reply:
    """Change a practice you shared (coordinators can change any). Only the options you give change.

    With only the id it opens the form, filled in. How the author is credited is theirs to open up:
    others may make it less revealing (named, role only, anonymous), never more.
    Example: practice edit P12 --tags budgeting,equity --better-off "Turnout doubled"
    """
    args = dict(
        title=title,
        what=what,
        attribution=attribution,
        role_description=role_description,
        level=level,
        size=size,
        policy_area=policy_area,
        sectors=sectors,
        region=region,
        how_much=how_much,
        how_well=how_well,
        better_off=better_off,
        frameworks=frameworks,
        tags=tags,
        links=links,
    )
    given = {k for k, v in args.items() if v not in (None, [])}
    member, is_coordinator = ctx.member, ctx.is_at_least(Role.COORDINATOR)
    cmd = ctx.services.registry.commands["practice edit"]
    if not given:

        def load(session: Session) -> PracticeView:
            p = service.get(session, practice_id)
            if not service.may_edit(session, p, member, is_coordinator):
                raise NotAllowed(f"Only the author or a coordinator can edit {practice_ref(practice_id)}.")
            return service.views(session, [p])[0]

        v = await ctx.store.run(load)
        p = v.practice
        prefilled = {
            "practice_id": practice_ref(practice_id),
            "title": p.title,
            "what": p.what,
            "attribution": p.attribution,
            "role_description": p.author_role,
            "level": p.level,
            "size": p.size,
            "policy_area": p.policy_area,
            "sectors": v.sectors,
            "region": p.region,
            "how_much": p.how_much,
            "how_well": p.how_well,
            "better_off": p.better_off,
            "frameworks": v.frameworks,
            "tags": v.tags,
            "links": v.links,
        }
        return Reply(
            f"Edit {practice_ref(practice_id)}: change the fields and submit.",
            form=cmd.to_form({k: v for k, v in prefilled.items() if v not in (None, "", [])}),
        )
    fields, labels = _fields_from_args(args, given)

    def apply(session: Session) -> tuple[PracticeView, bool]:
        p = service.get(session, practice_id)
        if not service.may_edit(session, p, member, is_coordinator):
            raise NotAllowed(f"Only the author or a coordinator can edit {practice_ref(practice_id)}.")
        new_attr = Attribution(fields.get("attribution", p.attribution))
        new_role = fields.get("author_role", p.author_role)
        is_author = service.is_author(session, p, member)
        refusal = None if is_author else service.credit_change_refusal(p, new_attr, new_role)
        if refusal is not None:
            raise NotAllowed(refusal)
        _check_attribution(new_attr, new_role)
        if is_author and new_attr is Attribution.NAMED and not p.author_name:
            fields["author_name"] = member.name[:200]
        service.update(session, p, fields, labels, ctx.now())
        if not is_author:
            write_audit(
                session, member, "practice edit", f"{practice_ref(practice_id)}: {', '.join(sorted(given))}"
            )
        return service.views(session, [p])[0], is_author

    view, _ = await ctx.store.run(apply)
    return Reply(
        f"Updated {practice_ref(practice_id)} ({', '.join(sorted(given))}).", items=(practice_item(view),)
    )


async def _set_status(ctx: Context, practice_id: int, status: Status) -> Reply:
    member, is_coordinator = ctx.member, ctx.is_at_least(Role.COORDINATOR)
    ref = practice_ref(practice_id)

    def apply(session: Session) -> tuple[bool, Practice]:
        p = service.get(session, practice_id)
        if not service.may_edit(session, p, member, is_coordinator):
            raise NotAllowed(f"Only the author or a coordinator can change {ref}.")
        changed = service.set_status(session, p, status, ctx.now())
        if changed and not service.is_author(session, p, member):
            write_audit(
                session, member, f"practice {'retire' if status is Status.RETIRED else 'restore'}", ref
            )
        return changed, p

    changed, p = await ctx.store.run(apply)
    if not changed:
        return Reply(f"{ref} is already {status.value}; nothing changed.")
    if status is Status.RETIRED:
        return Reply(
            f"Retired {ref} ({p.title}). It no longer shows in search; undo with: practice restore {ref}"
        )
    return Reply(f"Restored {ref} ({p.title}); it shows in search again.")


@practices.command("retire")
async def retire(ctx: Context, practice_id: PracticeId) -> Reply:
    """Hide a practice from search (author or coordinator). Nothing is deleted; restore undoes it.

    Example: practice retire P12
    """
    return await _set_status(ctx, practice_id, Status.RETIRED)


@practices.command("restore")
async def restore(ctx: Context, practice_id: RetiredPracticeId) -> Reply:
    """Bring a retired practice back into search (author or coordinator).

    Example: practice restore P12
    """
    return await _set_status(ctx, practice_id, Status.ACTIVE)


@practices.command("mine")
async def mine(ctx: Context) -> Reply:
    """List the practices you shared, including retired ones, and those you look after for someone else."""
    member = ctx.member
    found, kept = await ctx.store.run(
        lambda s: (service.authored_by(s, member), service.looked_after_by(s, member))
    )
    if not found and not kept:
        return Reply("You have not shared a practice yet. Start with: practice share")
    items = tuple(practice_item(v, body=_clip(v.practice.what, 160)) for v in found)
    items += tuple(
        practice_item(v, body="You look after this one: " + _clip(v.practice.what, 140)) for v in kept
    )
    kept_text = f" You look after {len(kept)} more." if kept else ""
    return Reply(f"You shared {counted(len(found), 'practice')}.{kept_text}", items=items)


@practices.command("export", host_only=True)
async def export(
    ctx: Context,
    *,
    format: Annotated[ExportFormat, Opt(help="file format")] = ExportFormat.CSV,
    tag: Annotated[list[str], Opt(help="only practices with this tag", suggest="tag")] = [],
    framework: Annotated[list[Framework], Opt(help="only practices drawing on this framework")] = [],
    level: Annotated[Level | None, Opt(help="only this level of government")] = None,
    sector: Annotated[list[Sector], Opt(help="only practices involving this sector")] = [],
    policy_area: Annotated[PolicyArea | None, Opt(help="only this policy area")] = None,
) -> Reply:
    """Download the shared practices as a CSV, JSON or Markdown file (credits as each author chose).

    Example: practice export --format markdown --framework adaptive-leadership
    """
    filters = _filters(tag, framework, sector, level, policy_area)
    found = await ctx.store.run(lambda s: service.all_for_export(s, filters))
    data = render(found, format)
    stamp = ctx.now().strftime("%Y%m%d-%H%M%S")
    name = f"practices-{stamp}.{SUFFIX[format]}"
    return Reply(
        f"Exported {counted(len(found), 'practice')} as {format.value}.",
        attachments=(Attachment(name, data, MIME[format]),),
    )
