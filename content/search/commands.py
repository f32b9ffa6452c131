"""`search`: shared practices and curated resources in one list, each marked with its kind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from sqlmodel import Session

from bot.commands import CommandGroup, Opt, with_page
from bot.context import Context
from bot.errors import ArgumentError
from bot.messages import Choice, Item, Reply
from bot.store import fulltext
from bot.words import counted
from content.practices import service as practices
from content.practices.commands import practice_item
from content.practices.models import Framework
from content.resources import service as resources
from content.resources.commands import Area
from content.resources.commands import item as resource_item

everything = CommandGroup("", "")
PAGE_SIZE = 6
FRAMEWORKS = {f.value for f in Framework}


@dataclass
class Found:
    kind: str  # "Practice" | "Resource"
    score: float
    item: Item


def merge(practice_ranks: list[float], resource_ranks: list[float]) -> list[tuple[str, int, float]]:
    """One ranking from two engines' lists, each already best first.

    The two indexes score different documents with different weights, so their raw ranks are not
    comparable. Each list is scaled by its own best hit (best = 1.0) and the lists are merged by that
    score; on a tie the practice comes first. Simple, and the best of each kind always leads.
    Returns (kind, position in its own list, score).
    """
    scored = []
    for kind, ranks in (("Practice", practice_ranks), ("Resource", resource_ranks)):
        best = max(ranks, default=0.0)
        for i, rank in enumerate(ranks):
            scored.append((kind, i, rank / best if best > 0 else 0.0))
    scored.sort(key=lambda t: (-t[2], t[0] != "Practice", t[1]))
    return scored


def _marked(kind: str, it: Item) -> Item:
    return Item(f"{kind}: {it.title}", it.body, (("Type", kind),) + it.fields, it.ref, it.choices)


@everything.command("search")
async def search_all(
    ctx: Context,
    query: Annotated[
        str,
        Opt(
            help='words to look for; "quotes" for a phrase, -word to exclude, word* for a prefix',
            max_length=300,
            metavar="WORDS",
            verbatim=True,
        ),
    ],
    *,
    area: Annotated[  # type: ignore[valid-type]
        Area | None,  # type: ignore[valid-type]
        Opt(help="resources in this learning area, and practices drawing on the framework of the same name"),
    ] = None,
    page: Annotated[int, Opt(help="which page of results", min=1, max=100)] = 1,
) -> Reply:
    """Search shared practices and curated resources together, best matches first.

    Each result says whether it is a Practice (what members tried) or a Resource (from the catalog).
    Example: search budget
    Example: search "systems thinking" --area systems-thinking
    """
    parsed = fulltext.parse_query(query)
    if not parsed:
        raise ArgumentError(f"{query[:60]!r} has no words to look for. Example: search budget", "query")
    wanted = page * PAGE_SIZE + 1
    area_value = area.value if area is not None else None
    framework = area_value  # practices' frameworks are the learning areas (bot/vocabulary.py)

    def run(session: Session) -> tuple[list[Found], bool]:
        wide = ctx.services.expand_query(session, parsed)
        p_hits: list[fulltext.Hit] = []
        if framework is None or framework in FRAMEWORKS:
            where, params = practices.Filters(frameworks=[framework] if framework else []).sql()
            p_hits = fulltext.search(
                session, practices.PRACTICE_INDEX, wide, id_sets=where, params=params, limit=wanted
            )
        r_hits = resources.ranked_hits(session, wide, resources.Filters(area=area_value), limit=wanted)
        order = merge([h.rank for h in p_hits], [h.rank for h in r_hits])
        start, stop = (page - 1) * PAGE_SIZE, page * PAGE_SIZE
        shown = order[start:stop]
        p_ids = [p_hits[i].id for kind, i, _ in shown if kind == "Practice"]
        r_ids = [r_hits[i].id for kind, i, _ in shown if kind == "Resource"]
        p_found = {
            v.practice.id: v for v in practices.views_of(session, p_ids, {h.id: h.snippet for h in p_hits})
        }
        r_found = {
            v.resource.id: v
            for v in resources.views(
                session, resources.by_ids(session, r_ids), {h.id: h.snippet for h in r_hits}
            )
        }
        out = []
        for kind, i, score in shown:
            if kind == "Practice" and p_hits[i].id in p_found:
                out.append(Found(kind, score, _marked(kind, practice_item(p_found[p_hits[i].id]))))
            elif kind == "Resource" and r_hits[i].id in r_found:
                out.append(Found(kind, score, _marked(kind, resource_item(r_found[r_hits[i].id]))))
        return out, len(order) > stop

    found, more = await ctx.store.run(run)
    if not found:
        hint = " Try fewer words." if page == 1 else " There are no more pages."
        return Reply(f"Nothing found for {query!r}{fulltext.ignored_note(query)}.{hint}")
    kinds = {f.kind for f in found}
    counts = ", ".join(
        counted(sum(f.kind == k for f in found), k.lower()) for k in ("Practice", "Resource") if k in kinds
    )
    first = (page - 1) * PAGE_SIZE + 1
    text = f"Results for {query!r}{fulltext.ignored_note(query)}: {first}–{first + len(found) - 1} ({counts})"
    if not more:
        return Reply(text, items=tuple(f.item for f in found))
    next_cmd = with_page(ctx.incoming.text or f"search {query}", page + 1)
    return Reply(
        text,
        items=tuple(f.item for f in found),
        choices=(Choice("Next page", next_cmd),),
        footer=f"More: {next_cmd}",
    )
