"""`define` for everyone; `glossary list` and `glossary export` for everyone; `glossary add` and
`glossary edit` for coordinators (audited by the dispatcher, like every coordinator command)."""

from __future__ import annotations

from typing import Annotated

from sqlmodel import Session

from bot.commands import CommandGroup, Opt
from bot.context import Context
from bot.errors import ArgumentError
from bot.messages import Attachment, Choice, Item, Reply
from bot.permissions import Role
from bot.words import counted
from content.glossary import service
from content.glossary.service import Definition
from content.resources.catalog import AREAS
from content.resources.commands import Area

define_group = CommandGroup("", "")
glossary = CommandGroup("glossary", "the community's shared vocabulary")

TermName = Annotated[
    str,
    Opt(
        help="a term, acronym or synonym, e.g. RBA or collective impact",
        max_length=200,
        metavar="TERM",
        suggest="term",
    ),
]
Names = Annotated[list[str], Opt(help="other names it goes by: acronyms, synonyms", item_max_length=120)]
Related = Annotated[
    list[str], Opt(help="related terms already in the glossary", item_max_length=200, suggest="term")
]
Resources = Annotated[
    list[str],
    Opt(
        help="catalog resources by slug, e.g. friedman-trying-hard-is-not-good-enough",
        item_max_length=100,
        suggest="resource",
    ),
]
DefinitionText = Annotated[
    str, Opt(help="2 to 4 sentences in our own words (no quotation)", long=True, max_length=900)
]
Source = Annotated[
    str,
    Opt(
        help='author and work it draws on, e.g. "Mark Friedman, Trying Hard Is Not Good Enough (2005)"',
        max_length=200,
    ),
]


def _reply(d: Definition) -> Reply:
    row = d.row
    also = row.names_list("also")
    heading = row.term + (f" ({', '.join(also)})" if also else "")
    fields = [("Area", AREAS.get(row.area, row.area))]
    if d.related:
        fields.append(("Related", ", ".join(d.related)))
    if d.resources:
        fields.append(("Resources", "; ".join(f"{ref} {title}" for ref, title in d.resources)))
    fields.append(("Source", row.source))
    choices = tuple(Choice(f"Define {name}", f"define {name}") for name in d.related[:3])
    choices += tuple(Choice(f"Show {ref}", f"resource show {ref}") for ref, _ in d.resources[:2])
    return Reply(f"{heading}\n{row.definition}", fields=tuple(fields), choices=choices)


@define_group.command("define")
async def define(ctx: Context, term: TermName) -> Reply:
    """Say what a term means in this community, with related terms and catalog resources.

    Acronyms and synonyms work too.
    Example: define rba
    Example: define collective impact
    """

    def load(session: Session) -> Definition | list[str]:
        row = service.find(session, term)
        return service.definition(session, row) if row is not None else service.close_to(session, term)

    found = await ctx.store.run(load)
    if isinstance(found, Definition):
        return _reply(found)
    if not found:
        return Reply(f"{term!r} is not in the glossary. See every term with: glossary list", is_error=True)
    return Reply(
        f"{term!r} is not in the glossary. Did you mean: {', '.join(found)}?",
        is_error=True,
        choices=tuple(Choice(f"Define {name}", f"define {name}") for name in found),
    )


@glossary.command("list")
async def list_terms(
    ctx: Context,
    *,
    area: Annotated[Area | None, Opt(help="only this learning area")] = None,  # type: ignore[valid-type]
) -> Reply:
    """List the glossary's terms, by learning area.

    Example: glossary list --area results-based-accountability
    """
    rows = await ctx.store.run(lambda s: service.by_area(s, area.value if area is not None else None))
    if not rows:
        return Reply("The glossary has no terms here yet.")
    by: dict[str, list[str]] = {}
    for row in rows:
        by.setdefault(row.area, []).append(row.term)
    items = tuple(Item(AREAS.get(a, a), ", ".join(terms), ref=a) for a, terms in by.items())
    return Reply(f"{counted(len(rows), 'term')}:", items=items, footer="Say: define <term>")


def _values(
    term: str | None,
    also: list[str],
    definition: str | None,
    related: list[str],
    resources: list[str],
    source: str | None,
) -> dict[str, object]:
    given = dict(
        term=term, also=also, definition=definition, related=related, resources=resources, source=source
    )
    return {k: (tuple(v) if isinstance(v, list) else v) for k, v in given.items() if v not in (None, [])}


@glossary.command("add", role=Role.COORDINATOR, form=True)
async def add(
    ctx: Context,
    *,
    term: Annotated[str, Opt(help="the term", max_length=200)],
    area: Annotated[Area, Opt(help="its learning area (its glossary file)")],  # type: ignore[valid-type]
    definition: DefinitionText,
    source: Source,
    also: Names = [],
    related: Related = [],
    resources: Resources = [],
) -> Reply:
    """Add a term to the glossary (coordinators), under the glossary files' rules.

    Export it with glossary export and commit the file to keep it in content/glossary/terms.
    Example: glossary add --term "Theory of aligned contributions" --area results-based-accountability --definition "A theory of change for collaboratives. It holds that a population result moves when leaders align their actions. Alignment is practised and measured." --source "Jolie Bain Pillsbury, Theory of Aligned Contributions" --resources pillsbury-theory-of-aligned-contributions
    """
    values = _values(term, also, definition, related, resources, source)
    member, now = ctx.member, ctx.now()
    row = await ctx.store.run(lambda s: service.add(s, member, area.value, values, now))
    return Reply(
        f"Added {row.term!r} to the glossary. See it with: define {row.term}",
        footer=f"To keep it in the files: glossary export --area {row.area}",
    )


@glossary.command("edit", role=Role.COORDINATOR)
async def edit(
    ctx: Context,
    name: TermName,
    *,
    term: Annotated[str | None, Opt(help="a new name for the term", max_length=200)] = None,
    area: Annotated[Area | None, Opt(help="move it to another learning area")] = None,  # type: ignore[valid-type]
    definition: Annotated[
        str | None, Opt(help="the definition (2 to 4 sentences)", long=True, max_length=900)
    ] = None,
    source: Annotated[str | None, Opt(help="author and work it draws on", max_length=200)] = None,
    also: Annotated[list[str], Opt(help="other names (replaces the list)", item_max_length=120)] = [],
    related: Annotated[list[str], Opt(help="related terms (replaces the list)", item_max_length=200)] = [],
    resources: Annotated[
        list[str], Opt(help="catalog resources by slug (replaces the list)", item_max_length=100)
    ] = [],
) -> Reply:
    """Change a glossary term (coordinators). Only the options you give change; the files' rules apply.

    An edit to a term from the files lasts until its file entry changes; export and commit it to keep it.
    Example: glossary edit rba --also RBA,OBA,"Outcomes Based Accountability"
    """
    changes = _values(term, also, definition, related, resources, source)
    if not changes and area is None:
        raise ArgumentError(
            f'Say what to change, for example: glossary edit "{name}" --source "Author, Work". '
            "See: help glossary edit"
        )
    member, now = ctx.member, ctx.now()
    row = await ctx.store.run(
        lambda s: service.edit(s, member, name, area.value if area else None, changes, now)
    )
    what = ", ".join(sorted(changes) + (["area"] if area is not None else []))
    return Reply(f"Updated {row.term!r} ({what}). See it with: define {row.term}")


@glossary.command("export")
async def export(
    ctx: Context,
    *,
    area: Annotated[Area | None, Opt(help="only this area's glossary file")] = None,  # type: ignore[valid-type]
) -> Reply:
    """Download the glossary as YAML files in its own format, chat additions and edits included.

    Put them in content/glossary/terms/ and commit them to keep what was changed in chat.
    Example: glossary export --area results-based-accountability
    """
    wanted = area.value if area is not None else None
    files = await ctx.store.run(lambda s: service.export_files(s, wanted))
    total = sum(n for _, _, n in files)
    attachments = tuple(Attachment(name, body.encode(), "application/yaml") for name, body, _ in files)
    return Reply(
        f"Exported {counted(total, 'term')} in {counted(len(files), 'file')}. Put them in content/glossary/terms/ and commit.",
        attachments=attachments,
    )
