"""The `resource` commands members use (search, show, areas, share, rate, suggest) and `me interests`.

A resource is named by its id, like L12 ("L" for library), or by its catalog slug.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from sqlmodel import Session

from bot.commands import CommandGroup, Opt, with_page
from bot.context import Context
from bot.messages import Choice, Item, Reply, Visibility, mention
from bot.store import fulltext
from bot.words import counted
from content.resources import service
from content.resources.catalog import AREAS, COSTS, KINDS, LEVELS
from content.resources.models import Origin, Status
from content.resources.service import ResourceView, parse_resource_ref
from content.resources.suggest import suggest as make_suggestions

resources = CommandGroup("resource", "curated learning resources")
interests_group = CommandGroup("me", "")  # adds `me interests ...` to the core's `me` group
PAGE_SIZE = 5
SUGGESTIONS = 3


def _choices(name: str, values: tuple[str, ...] | list[str]) -> type[Enum]:
    return Enum(name, {v.upper().replace("-", "_"): v for v in values}, type=str)  # type: ignore[return-value]


Area = _choices("Area", list(AREAS))
Kind = _choices("Kind", KINDS)
Level = _choices("Level", LEVELS)
Cost = _choices("Cost", COSTS)


class Sort(str, Enum):
    RELEVANCE = "relevance"
    USEFUL = "useful"


ResourceRef = Annotated[
    str,
    Opt(
        help="the resource's id, like L12, or its slug",
        converter=parse_resource_ref,
        metavar="ID",
        example="L12",
        suggest="resource",
    ),
]


def clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rsplit(" ", 1)[0] + "…"


def item(v: ResourceView, *, body: str | None = None) -> Item:
    r = v.resource
    facts = [("By", v.by()), ("Kind", f"{r.kind} · {r.level} · {r.cost} · {r.time}")]
    facts.append(("Areas", ", ".join(AREAS.get(a, a) for a in v.areas)))
    facts.append(("Link", v.link()))
    if v.ratings:
        facts.append(("Found useful by", f"{counted(v.ratings, 'member')}"))
    if r.status != Status.ACTIVE.value:
        facts.append(("Status", r.status))
    summary = body if body is not None else (v.snippet or clip(r.summary, 220))
    return Item(
        title=r.title,
        body=summary,
        fields=tuple(facts),
        ref=v.ref,
        choices=(
            Choice("Show", f"resource show {v.ref}"),
            Choice("Useful", f"resource rate {v.ref}", style="primary"),
        ),
    )


def _value(option: Enum | None) -> str | None:
    return option.value if option is not None else None


@resources.command("search")
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
    area: Annotated[Area | None, Opt(help="only this learning area")] = None,  # type: ignore[valid-type]
    kind: Annotated[Kind | None, Opt(help="only this kind (book, course, ...)")] = None,  # type: ignore[valid-type]
    level: Annotated[Level | None, Opt(help="only this level")] = None,  # type: ignore[valid-type]
    cost: Annotated[Cost | None, Opt(help="free or paid")] = None,  # type: ignore[valid-type]
    sort: Annotated[Sort, Opt(help="best match first, or most found useful first")] = Sort.RELEVANCE,
    page: Annotated[int, Opt(help="which page of results", min=1, max=1000)] = 1,
) -> Reply:
    """Find curated resources by words and filters, best matches first.

    Titles weigh most, then authors, areas and kind, then summaries. With no words, lists by title.
    Example: resource search adaptive --kind book
    Example: resource search --area systems-thinking --cost free --sort useful
    """
    filters = service.Filters(_value(area), _value(kind), _value(level), _value(cost))
    offset = (page - 1) * PAGE_SIZE
    found, more = await ctx.store.run(
        lambda s: service.search(
            s,
            query,
            filters,
            by_useful=sort is Sort.USEFUL,
            limit=PAGE_SIZE,
            offset=offset,
            expand=ctx.services.expand_query,
        )
    )
    listed = "(by title)" if sort is Sort.RELEVANCE else "(most useful first)"
    what = (f"for {query!r}" + fulltext.ignored_note(query)) if query.strip() else listed
    if not found:
        hint = " Try fewer words or filters." if page == 1 else " There are no more pages."
        return Reply(f"No resources found {what}.{hint}")
    text = f"Resources {what}: {offset + 1}–{offset + len(found)}"
    if not more:
        return Reply(text, items=tuple(item(v) for v in found))
    next_cmd = with_page(ctx.incoming.text or "resource search", page + 1)
    return Reply(
        text,
        items=tuple(item(v) for v in found),
        choices=(Choice("Next page", next_cmd),),
        footer=f"More: {next_cmd}",
    )


@resources.command("show")
async def show(ctx: Context, resource: ResourceRef) -> Reply:
    """Show one resource in full. Use its id or its slug.

    Example: resource show L12
    Example: resource show heifetz-practice-of-adaptive-leadership
    """
    v = await ctx.store.run(lambda s: service.views(s, [service.resolve(s, resource)])[0])
    r = v.resource
    facts: list[tuple[str, str]] = [
        ("By", v.by()),
        ("Kind", r.kind),
        ("Level", r.level),
        ("Time", r.time),
        ("Cost", r.cost),
        ("Areas", ", ".join(AREAS.get(a, a) for a in v.areas)),
        ("Link", r.url or ""),
        ("About the link", r.url_note or ""),
        ("Link checked", r.checked.isoformat()),
        ("Found useful by", f"{counted(v.ratings, 'member')}"),
        ("Slug", r.slug),
    ]
    if r.origin == Origin.CHAT.value:
        facts.append(("Added", "in chat by a coordinator (not yet in the catalog files)"))
    if r.status != Status.ACTIVE.value:
        facts.append(("Status", r.status))
    return Reply(
        f"{v.ref}: {r.title}\n{r.summary}",
        fields=tuple((k, x) for k, x in facts if x),
        choices=(
            Choice("Useful", f"resource rate {v.ref}", style="primary"),
            Choice("Share here", f"resource share {v.ref}"),
        ),
    )


@resources.command("areas")
async def areas(ctx: Context) -> Reply:
    """List the learning areas, each with how many resources it has."""
    counts = await ctx.store.run(service.area_counts)
    items = tuple(
        Item(
            title=AREAS[a],
            fields=(("Resources", str(n)),),
            ref=a,
            choices=(Choice("Browse", f"resource search --area {a}"),),
        )
        for a, n in counts.items()
    )
    return Reply(
        f"{len(items)} learning areas, {sum(counts.values())} listings in all:",
        items=items,
        footer="Browse one: resource search --area <area> · follow one: me interests add <area>",
    )


@resources.command("share")
async def share(
    ctx: Context,
    resource: ResourceRef,
    note: Annotated[str, Opt(help="why you recommend it, for the channel", max_length=500)] = "",
) -> Reply:
    """Post a resource into this channel, with your note.

    Example: resource share L12 this helped our team through the budget cycle
    """

    def load(session: Session) -> ResourceView:
        r = service.resolve(session, resource)
        service.require_active(r)
        return service.views(session, [r])[0]

    v = await ctx.store.run(load)
    said = f": “{note}”" if note else "."
    return Reply(
        f"{mention(ctx.member)} recommends {v.ref}, {v.resource.title}{said}",
        items=(item(v, body=clip(v.resource.summary, 300)),),
        visibility=Visibility.PUBLIC,
    )


@resources.command("rate")
async def rate(ctx: Context, resource: ResourceRef) -> Reply:
    """Say a resource was useful to you (once per member); it helps others find good ones.

    Example: resource rate L12
    """
    member = ctx.member

    def apply(session: Session) -> tuple[bool, int, str, str]:
        r = service.resolve(session, resource)
        created, count = service.rate(session, r, member)
        return created, count, service.resource_ref(r.id or 0), r.title

    created, count, ref, title = await ctx.store.run(apply)
    if not created:
        return Reply(
            f"You have already rated {ref} ({title}) as useful; each member rates a resource once. "
            f"{counted(count, 'member')} found it useful."
        )
    return Reply(
        f"Thanks: you found {ref} ({title}) useful. Found useful by {counted(count, 'member')} so far."
    )


@resources.command("suggest")
async def suggest(
    ctx: Context,
    *,
    count: Annotated[int, Opt(help="how many", min=1, max=10)] = SUGGESTIONS,
) -> Reply:
    """Suggest resources for you, from your interests, what you found useful and the next forum's topic.

    You never get one you rated or were suggested before.
    Example: resource suggest --count 5
    """
    member, now = ctx.member, ctx.now()
    found = await ctx.store.run(lambda s: make_suggestions(s, member, now, count))
    if not found.views:
        return Reply("You have seen every resource I could suggest. Browse them all with: resource search")
    items = []
    for v in found.views:
        why = found.reasons.get(v.resource.id or 0) or [
            "often found useful" if v.ratings else "from the catalog"
        ]
        base = item(v, body=clip(v.resource.summary, 200))
        items.append(
            Item(base.title, base.body, base.fields + (("Why", "; ".join(why)),), base.ref, base.choices)
        )
    hint = "" if found.interests else " Tell me what you care about: me interests add systems-thinking"
    return Reply(f"Suggested for you:{hint}", items=tuple(items))


AreaList = Annotated[list[Area], Opt(help="learning areas, e.g. systems-thinking", metavar="AREA")]  # type: ignore[valid-type]


def _interest_reply(current: list[str]) -> Reply:
    if not current:
        return Reply(
            "You follow no learning areas. See them with: resource areas; follow one with: "
            "me interests add <area>"
        )
    return Reply("You follow: " + ", ".join(AREAS[a] for a in current) + ". resource suggest uses them.")


async def _change(ctx: Context, add: list[Enum], remove: list[Enum]) -> Reply:
    member = ctx.member
    current = await ctx.store.run(
        lambda s: service.change_interests(s, member, [a.value for a in add], [a.value for a in remove])
    )
    return _interest_reply(current)


@interests_group.command("interests add")
async def interests_add(ctx: Context, areas: AreaList) -> Reply:
    """Follow learning areas; resource suggest picks from them.

    Example: me interests add systems-thinking,adaptive-leadership
    """
    return await _change(ctx, areas, [])


@interests_group.command("interests remove")
async def interests_remove(ctx: Context, areas: AreaList) -> Reply:
    """Stop following learning areas.

    Example: me interests remove systems-thinking
    """
    return await _change(ctx, [], areas)


@interests_group.command("interests list")
async def interests_list(ctx: Context) -> Reply:
    """List the learning areas you follow."""
    member = ctx.member

    def load(session: Session) -> list[str]:
        record = service.member_record(session, member)
        return service.interests(session, record.id or 0) if record else []

    return _interest_reply(await ctx.store.run(load))
