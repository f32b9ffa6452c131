"""Curated resources: finding, showing, rating; member interests; privacy. Plain functions on a session.

A resource is named by its id, shown as ``L12`` ("L" for library: P is a practice, R a forum reply, T a
topic), or by its catalog slug (``meadows-thinking-in-systems``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, text
from sqlmodel import Session, col, select

from bot.commands import INT_MAX
from bot.context import ensure_member, find_member
from bot.errors import ArgumentError, NotFound
from bot.messages import Member
from bot.store import fulltext
from bot.store.db import contains_pattern
from bot.store.models import MemberRecord
from content.resources.catalog import AREAS, CatalogEntry
from content.resources.models import (
    MemberInterest,
    Resource,
    ResourceArea,
    ResourceRating,
    ResourceSent,
    Status,
)

RESOURCE_INDEX = fulltext.Index(
    table="resource",
    fts_table="resource_fts",
    vector_column="search_vector",
    headline_sql="d.title || ' — ' || d.summary",
    bm25_weights=(8.0, 3.0, 1.0),  # title, authors/areas/kind, summary
    searchable_sql="d.status = 'active'",
)
_ID = re.compile(r"^#?[Ll]?(\d+)$")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_RESULTS = 200  # a ranked search looks at most at this many hits (the catalog is a few hundred entries)


def resource_ref(resource_id: int) -> str:
    return f"L{resource_id}"


def parse_resource_ref(raw: str) -> str:
    """`L12`, `l12`, `#12` or `12` -> "L12"; a catalog slug stays as it is (lower-cased)."""
    value = raw.strip()
    m = _ID.match(value)
    if m:
        if not 0 < int(m.group(1)) <= INT_MAX:
            raise ValueError(f"{raw[:40]!r} is not a resource id; ids look like L12")
        return resource_ref(int(m.group(1)))
    if _SLUG.match(value.lower()) and len(value) <= 100:
        return value.lower()
    raise ValueError(
        f"{raw[:40]!r} is not a resource id; ids look like L12, "
        "or use the slug, e.g. heifetz-practice-of-adaptive-leadership"
    )


def resolve(session: Session, ref: str) -> Resource:
    """The resource named by `ref` (as parse_resource_ref returns it), retired ones included."""
    m = _ID.match(ref)
    found = (
        session.get(Resource, int(m.group(1)))
        if m
        else session.exec(select(Resource).where(col(Resource.slug) == ref)).first()
    )
    if found is None:
        raise NotFound(f"There is no resource {ref}. Find one with: resource search <words>")
    return found


def require_active(r: Resource) -> None:
    if r.status != Status.ACTIVE.value:
        raise ArgumentError(
            f"{resource_ref(r.id or 0)} ({r.title}) is retired; a coordinator can bring it "
            f"back with: resource restore {resource_ref(r.id or 0)}"
        )


@dataclass
class ResourceView:
    """A resource with what every display needs, gathered once."""

    resource: Resource
    areas: list[str] = field(default_factory=list)
    ratings: int = 0
    snippet: str = ""

    @property
    def ref(self) -> str:
        return resource_ref(self.resource.id or 0)

    @property
    def home_area(self) -> str:
        return self.areas[0] if self.areas else ""

    def by(self) -> str:
        r = self.resource
        return " · ".join(x for x in (r.author, r.publisher) if x)

    def link(self) -> str:
        r = self.resource
        return r.url or f"(no link: {r.url_note})"


def areas_of(session: Session, ids: Sequence[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        rows = session.exec(
            select(ResourceArea)
            .where(col(ResourceArea.resource_id).in_(ids))
            .order_by(col(ResourceArea.resource_id), col(ResourceArea.position))
        )
        for row in rows:
            out[row.resource_id].append(row.area)
    return out


def rating_counts(session: Session, ids: Sequence[int] | None = None) -> dict[int, int]:
    stmt = select(col(ResourceRating.resource_id), func.count()).group_by(col(ResourceRating.resource_id))
    if ids is not None:
        if not ids:
            return {}
        stmt = stmt.where(col(ResourceRating.resource_id).in_(ids))
    return {rid: int(n) for rid, n in session.exec(stmt)}


def views(
    session: Session, resources: Sequence[Resource], snippets: dict[int, str] | None = None
) -> list[ResourceView]:
    ids = [r.id for r in resources if r.id is not None]
    areas, counts = areas_of(session, ids), rating_counts(session, ids)
    return [
        ResourceView(
            r, areas.get(r.id or 0, []), counts.get(r.id or 0, 0), (snippets or {}).get(r.id or 0, "")
        )
        for r in resources
    ]


def by_ids(session: Session, ids: Sequence[int]) -> list[Resource]:
    if not ids:
        return []  # no statement for a page that shows no resources
    found = {r.id: r for r in session.exec(select(Resource).where(col(Resource.id).in_(list(ids))))}
    return [found[i] for i in ids if i in found]


_MENTION = re.compile(
    r"(?P<url>https?://\S+)"  # an address, which may be a resource's own
    r"|\bL(?P<id>\d{1,9})\b"  # an id as shown, L12 (a lower-case l is too easily part of a word)
    r"|\b(?P<slug>[a-z0-9]+(?:-[a-z0-9]+)+)\b"
)  # a catalog slug: it has a hyphen, unlike a word


def mentioned_in(session: Session, texts: Iterable[str]) -> list[Resource]:
    """The resources `texts` name by id (L12), catalog slug or address, in the order first named."""
    named: list[tuple[str, str]] = []
    for text_ in texts:
        for m in _MENTION.finditer(text_):
            kind = m.lastgroup or ""
            named.append((kind, m.group(kind).rstrip(".,;)") if kind == "url" else m.group(kind)))
    if not named:
        return []
    wanted = {kind: [v for k, v in named if k == kind] for kind in ("url", "id", "slug")}
    rows = session.exec(
        select(Resource).where(
            or_(
                col(Resource.id).in_([int(i) for i in wanted["id"]]),
                col(Resource.slug).in_(wanted["slug"]),
                col(Resource.url).in_(wanted["url"]),
            )
        )
    ).all()
    index = (
        {("id", str(r.id)): r for r in rows}
        | {("slug", r.slug): r for r in rows}
        | {("url", r.url or ""): r for r in rows if r.url}
    )
    out: list[Resource] = []
    for key in named:
        r = index.get(key)
        if r is not None and r not in out:
            out.append(r)
    return out


def search_extra(r: Resource | CatalogEntry, areas: Iterable[str]) -> str:
    """What search matches besides title and summary: people, publisher, areas, kind, level."""
    words = [
        r.author or "",
        r.publisher or "",
        *(AREAS.get(a, a) for a in areas),
        r.kind.replace("-", " "),
        r.level,
    ]
    return " ".join(w for w in words if w)


# ---- search ---------------------------------------------------------------------------------------


@dataclass
class Filters:
    area: str | None = None
    kind: str | None = None
    level: str | None = None
    cost: str | None = None

    def sql(self) -> tuple[list[fulltext.IdSet], dict[str, Any]]:
        """The resources each filter allows, each answered from an index."""
        sets: list[fulltext.IdSet] = []
        params: dict[str, Any] = {}
        if self.area:
            sets.append(fulltext.IdSet("resource_area", "resource_id", "resource_area.area = :f_area"))
            params["f_area"] = self.area
        for name in ("kind", "level", "cost"):
            value = getattr(self, name)
            if value:
                sets.append(fulltext.IdSet("resource", "id", f"resource.{name} = :f_{name}"))
                params[f"f_{name}"] = value
        return sets, params


def parse(query: str, example: str = "resource search adaptive -book") -> fulltext.Query:
    parsed = fulltext.parse_query(query)
    if query.strip() and not parsed:
        raise ArgumentError(
            f"{query[:60]!r} has no words to look for (a leading - excludes a word). Example: {example}"
        )
    return parsed


def ranked_hits(
    session: Session, parsed: fulltext.Query, filters: Filters, *, limit: int, offset: int = 0
) -> list[fulltext.Hit]:
    where, params = filters.sql()
    return fulltext.search(
        session, RESOURCE_INDEX, parsed, id_sets=where, params=params, limit=limit, offset=offset
    )


def search(
    session: Session,
    query: str,
    filters: Filters,
    *,
    by_useful: bool,
    limit: int,
    offset: int,
    expand: Callable[[Session, fulltext.Query], fulltext.Query] | None = None,
) -> tuple[list[ResourceView], bool]:
    """One page of active resources matching `query` and `filters`, and whether more follow.

    Best matches first (title matches weigh most), or, with `by_useful`, most rated first with the match
    rank breaking ties. Without words: by title, or most rated first.
    """
    parsed = parse(query)
    if parsed:
        if expand is not None:
            parsed = expand(session, parsed)
        if by_useful:
            hits = ranked_hits(session, parsed, filters, limit=MAX_RESULTS)
            counts = rating_counts(session, [h.id for h in hits])
            hits.sort(key=lambda h: -counts.get(h.id, 0))  # stable: rank order among equals
            hits = hits[offset : offset + limit + 1]
        else:
            hits = ranked_hits(session, parsed, filters, limit=limit + 1, offset=offset)
        more = len(hits) > limit
        hits = hits[:limit]
        return views(session, by_ids(session, [h.id for h in hits]), {h.id: h.snippet for h in hits}), more
    where, params = filters.sql()
    clause = " AND ".join([RESOURCE_INDEX.searchable_sql, *(w.holds("d.id") for w in where)])
    order = "d.title, d.id"
    if by_useful:
        order = "(SELECT count(*) FROM resource_rating rr WHERE rr.resource_id = d.id) DESC, " + order
    ids = [
        r[0]
        for r in session.execute(
            text(f"SELECT d.id FROM resource d WHERE {clause} ORDER BY {order} LIMIT :limit OFFSET :offset"),
            {**params, "limit": limit + 1, "offset": offset},
        )
    ]
    more = len(ids) > limit
    return views(session, by_ids(session, ids[:limit])), more


def area_counts(session: Session) -> dict[str, int]:
    """Active resources in each area (a resource in two areas counts in both)."""
    rows = session.exec(
        select(col(ResourceArea.area), func.count())
        .join(Resource, col(Resource.id) == col(ResourceArea.resource_id))
        .where(col(Resource.status) == Status.ACTIVE.value)
        .group_by(col(ResourceArea.area))
    )
    found = {area: int(n) for area, n in rows}
    return {area: found.get(area, 0) for area in AREAS}


# ---- ratings and interests ------------------------------------------------------------------------


def rate(session: Session, r: Resource, member: Member) -> tuple[bool, int]:
    """Record that `member` found `r` useful. Returns (whether this was new, the resource's count)."""
    require_active(r)
    record = ensure_member(session, member)
    existing = session.exec(
        select(ResourceRating).where(
            col(ResourceRating.resource_id) == r.id, col(ResourceRating.member_id) == record.id
        )
    ).first()
    if existing is None:
        session.add(ResourceRating(resource_id=r.id or 0, member_id=record.id or 0))
        session.flush()
    return existing is None, rating_counts(session, [r.id or 0]).get(r.id or 0, 0)


def interests(session: Session, member_id: int) -> list[str]:
    rows = session.exec(select(col(MemberInterest.area)).where(col(MemberInterest.member_id) == member_id))
    return sorted(rows, key=list(AREAS).index)


def change_interests(
    session: Session, member: Member, add: Sequence[str], remove: Sequence[str]
) -> list[str]:
    record = ensure_member(session, member)
    current = set(interests(session, record.id or 0))
    for area in add:
        if area not in current:
            session.add(MemberInterest(member_id=record.id or 0, area=area))
            current.add(area)
    for area in remove:
        for row in session.exec(
            select(MemberInterest).where(
                col(MemberInterest.member_id) == record.id, col(MemberInterest.area) == area
            )
        ):
            session.delete(row)
        current.discard(area)
    session.flush()
    return sorted(current, key=list(AREAS).index)


def member_record(session: Session, member: Member) -> MemberRecord | None:
    return find_member(session, member)


# ---- privacy --------------------------------------------------------------------------------------


def export_member(session: Session, record: MemberRecord) -> dict[str, Any]:
    """A member's ratings, interests, suggestions sent to them, and the resources they added."""

    def titled(rows: Iterable[Any], attr: str) -> list[dict[str, str]]:
        out = []
        for row in rows:
            r = session.get(Resource, getattr(row, attr))
            out.append({"resource": resource_ref(r.id or 0) if r else "?", "title": r.title if r else ""})
        return out

    ratings = session.exec(select(ResourceRating).where(col(ResourceRating.member_id) == record.id))
    sent = session.exec(select(ResourceSent).where(col(ResourceSent.member_id) == record.id))
    added = session.exec(
        select(Resource).where(col(Resource.added_by) == record.id).order_by(col(Resource.id))
    )
    return {
        "rated_useful": titled(ratings, "resource_id"),
        "interests": interests(session, record.id or 0),
        "suggestions_sent": titled(sent, "resource_id"),
        "resources_added": [{"resource": resource_ref(r.id or 0), "title": r.title} for r in added],
    }


def forget_member(session: Session, record: MemberRecord, now: datetime) -> int:
    """Ratings, interests and sent suggestions go; resources they added stay, no longer linked to them."""
    changed = 0
    for model in (ResourceRating, ResourceSent, MemberInterest):
        for row in session.exec(select(model).where(model.member_id == record.id)):  # type: ignore[attr-defined]
            session.delete(row)
            changed += 1
    for r in session.exec(select(Resource).where(col(Resource.added_by) == record.id)):
        r.added_by = None
        session.add(r)
        changed += 1
    session.flush()
    return changed


def suggest_resources(
    session: Session, prefix: str, member: Member, now: datetime, limit: int
) -> list[tuple[str, str]]:
    """Active resources whose title or slug contains `prefix` (autocomplete)."""
    like = contains_pattern(prefix)
    rows = session.execute(
        select(Resource)
        .where(
            col(Resource.status) == Status.ACTIVE.value,
            or_(col(Resource.title).ilike(like, escape="\\"), col(Resource.slug).ilike(like, escape="\\")),
        )
        .order_by(col(Resource.title))
        .limit(limit)
    ).scalars()
    return [(f"L{r.id} {r.title}", f"L{r.id}") for r in rows]
