"""Shared practices: storing, finding, endorsing. Plain functions on a session; no chat concerns."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, lru_cache
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Integer, Text, bindparam, column, func, literal_column, or_, text
from sqlmodel import Session, col, select

from bot.context import ensure_member, find_member
from bot.errors import ArgumentError, NotAllowed, NotFound
from bot.messages import Member
from bot.store import fulltext
from bot.store.db import contains_pattern, typed_id
from bot.store.models import MemberRecord
from content.practices.models import (
    Attribution,
    Endorsement,
    LabelKind,
    Practice,
    PracticeLabel,
    PracticeSteward,
    Status,
)

PRACTICE_INDEX = fulltext.Index(
    table="practice",
    fts_table="practice_fts",
    vector_column="search_vector",
    headline_sql="d.title || ' — ' || coalesce(d.what,'') || ' ' || coalesce(d.better_off,'')",
    bm25_weights=(8.0, 3.0, 1.0),  # title, labels/context, body
    searchable_sql="d.status = 'active'",
)
MAX_TAGS = 10
MAX_LINKS = 5
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


def practice_ref(practice_id: int) -> str:
    return f"P{practice_id}"


def parse_practice_id(raw: str) -> int:
    """`P12`, `p12`, `#12` or `12` -> 12."""
    value = raw.strip().lstrip("#")
    if value[:1] in ("P", "p"):
        value = value[1:]
    if not value.isdigit() or int(value) <= 0:
        raise ValueError(f"{raw!r} is not a practice id; ids look like P12")
    return int(value)


def title_from_text(text: str) -> str:
    """A practice's title suggested from what someone wrote: its first sentence, at most 120 characters."""
    first = re.split(r"(?<=[.!?])\s", " ".join(text.split()), maxsplit=1)[0]
    return (first[:117] + "…") if len(first) > 120 else first.rstrip(".")


def normalise_tag(raw: str) -> str:
    tag = "-".join(re.findall(r"[^\W_]+", raw.lower()))
    if not tag:
        raise ArgumentError(
            f"--tags: {raw!r} has no letters or digits. Example: --tags budgeting,equity", "tags"
        )
    if len(tag) > 40:
        raise ArgumentError(f"--tags: {raw[:40]!r}… is longer than 40 characters.", "tags")
    return tag


def check_links(links: Iterable[str]) -> list[str]:
    out = []
    for link in links:
        if not _URL.match(link) or len(link) > 500:
            raise ArgumentError(
                f"--links: {link[:80]!r} is not a web address. Example: --links https://www.example.gov/report",
                "links",
            )
        out.append(link)
    if len(out) > MAX_LINKS:
        raise ArgumentError(f"--links: give at most {MAX_LINKS} links.", "links")
    return out


def attribution_text(p: Practice) -> str:
    """How the author is shown, everywhere: search, show, every export."""
    if p.attribution == Attribution.NAMED.value and p.author_name:
        return p.author_name
    if p.attribution == Attribution.ROLE.value:
        return p.author_role or "a member (role not given)"
    return "anonymous (Chatham House Rule)"


def public_source(p: Practice) -> str:
    """Where it was shared. A chat link would reveal who posted, so only named practices show it."""
    parts = [p.source_note] if p.source_note else []
    if p.source_link and p.attribution == Attribution.NAMED.value:
        parts.append(p.source_link)
    return " · ".join(parts)


@dataclass
class PracticeView:
    """A practice with what every display needs, gathered once."""

    practice: Practice
    labels: dict[str, list[str]] = field(default_factory=dict)
    endorsements: int = 0
    snippet: str = ""

    @property
    def frameworks(self) -> list[str]:
        return self.labels.get(LabelKind.FRAMEWORK.value, [])

    @property
    def sectors(self) -> list[str]:
        return self.labels.get(LabelKind.SECTOR.value, [])

    @property
    def tags(self) -> list[str]:
        return self.labels.get(LabelKind.TAG.value, [])

    @property
    def links(self) -> list[str]:
        return json.loads(self.practice.links) if self.practice.links else []

    def context_line(self) -> str:
        p = self.practice
        parts = [p.level, p.size, p.policy_area, p.region]
        if self.sectors:
            parts.append("+".join(self.sectors))
        return " · ".join(x for x in parts if x)


def _labels(session: Session, ids: Sequence[int]) -> dict[int, dict[str, list[str]]]:
    out: dict[int, dict[str, list[str]]] = {i: {} for i in ids}
    if not ids:
        return out
    rows = session.exec(
        select(PracticeLabel).where(col(PracticeLabel.practice_id).in_(ids)).order_by(col(PracticeLabel.id))
    )
    for label in rows:
        out[label.practice_id].setdefault(label.kind, []).append(label.value)
    return out


def _endorsement_counts(session: Session, ids: Sequence[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = session.exec(
        select(col(Endorsement.practice_id), func.count())
        .where(col(Endorsement.practice_id).in_(ids))
        .group_by(col(Endorsement.practice_id))
    )
    return {pid: n for pid, n in rows}


def views(
    session: Session, practices: Sequence[Practice], snippets: dict[int, str] | None = None
) -> list[PracticeView]:
    ids = [p.id for p in practices if p.id is not None]
    labels = _labels(session, ids)
    counts = _endorsement_counts(session, ids)
    return [
        PracticeView(
            p, labels.get(p.id or 0, {}), counts.get(p.id or 0, 0), (snippets or {}).get(p.id or 0, "")
        )
        for p in practices
    ]


_ENDORSEMENTS_SQL = "(SELECT count(*) FROM practice_endorsement e WHERE e.practice_id = practice.id)"


def _labels_sql(dialect: str) -> str:
    """A practice's labels as one JSON array of [kind, value], in the order they were given."""
    if dialect == "postgresql":
        return (
            "(SELECT coalesce(json_agg(json_build_array(l.kind, l.value) ORDER BY l.id), '[]')::text "
            "FROM practice_label l WHERE l.practice_id = practice.id)"
        )
    return (
        "(SELECT json_group_array(json_array(kind, value)) FROM (SELECT l.kind, l.value "
        "FROM practice_label l WHERE l.practice_id = practice.id ORDER BY l.id))"
    )


@cache
def _views_statement(dialect: str) -> Any:
    """views_of's statement for this database, built once (building it costs about what running it does)."""
    table = Practice.__table__  # type: ignore[attr-defined]
    return select(
        table,
        literal_column(_ENDORSEMENTS_SQL).label("_endorsements"),
        literal_column(_labels_sql(dialect)).label("_labels"),
    ).where(table.c.id.in_(bindparam("ids", expanding=True)))


@lru_cache(maxsize=128)
def _page_statement(dialect: str, search_sql: str) -> Any:
    """A page of search results as views, in one round trip: `search_sql` (fulltext.statement(): id, rank,
    snippet, best first) joined to the practices, their endorsement counts and labels. Kept per search
    shape (the filters given), since building the typed statement costs more than running it."""
    table = Practice.__table__  # type: ignore[attr-defined]
    columns = ", ".join(f"practice.{c.name}" for c in table.c)
    join = "CROSS JOIN" if dialect == "sqlite" else "JOIN"  # SQLite: the hits first, then each practice
    sql = (
        f"SELECT {columns}, {_ENDORSEMENTS_SQL} AS _endorsements, {_labels_sql(dialect)} AS _labels, "
        f"hits.snippet AS _snippet FROM ({search_sql}) AS hits {join} practice ON practice.id = hits.id "
        "ORDER BY hits.rank DESC, hits.id DESC"
    )
    return text(sql).columns(
        *table.c, column("_endorsements", Integer), column("_labels", Text), column("_snippet", Text)
    )


def _view(row: Mapping[Any, Any], snippet: str = "") -> PracticeView:
    """A read-only PracticeView from a row of practice columns with `_endorsements` and `_labels`."""
    data = dict(row)
    count = int(data.pop("_endorsements") or 0)
    labels: dict[str, list[str]] = {}
    for kind, value in json.loads(data.pop("_labels") or "[]"):
        labels.setdefault(kind, []).append(value)
    snippet = data.pop("_snippet", None) or snippet
    # A plain read-only copy: building an ORM-instrumented Practice costs more than the query did.
    return PracticeView(cast(Practice, SimpleNamespace(**data)), labels, count, snippet)


def views_of(
    session: Session, ids: Sequence[int], snippets: dict[int, str] | None = None
) -> list[PracticeView]:
    """The practices with these ids, in that order, each with its labels and endorsement count: one Core
    statement (no ORM loading, no identity map), for read paths such as a list of practices. The
    practices are plain read-only copies with Practice's fields, for display; change practices through
    `get`/`views` instead."""
    if not ids:
        return []
    stmt = _views_statement(session.get_bind().dialect.name)
    rows = session.connection().execute(stmt, {"ids": list(ids)}).mappings().all()
    by_id = {int(row["id"]): _view(row, (snippets or {}).get(int(row["id"]), "")) for row in rows}
    return [by_id[i] for i in ids if i in by_id]


def search_page(
    session: Session,
    parsed: fulltext.Query,
    where: Sequence[fulltext.IdSet],
    params: dict[str, Any],
    *,
    limit: int,
    offset: int = 0,
) -> list[PracticeView]:
    """The practices matching `parsed` that pass the filters, best first, with their excerpts: the search
    and the views in one statement (one round trip to the database, not two)."""
    if not parsed:
        return []
    dialect = session.get_bind().dialect.name
    sql, bind = fulltext.statement(
        dialect, PRACTICE_INDEX, parsed, id_sets=where, params=params, limit=limit, offset=offset
    )
    rows = session.connection().execute(_page_statement(dialect, sql), bind).mappings().all()
    return [_view(row) for row in rows]


def _search_extra(labels: dict[str, list[str]], p: Practice) -> str:
    words = [v.replace("-", " ") for values in labels.values() for v in values]
    words += [x.replace("-", " ") for x in (p.level, p.size, p.policy_area, p.region) if x]
    return " ".join(words)


def filter_key(name: str, value: str) -> str:
    """One filter as an index key ("tag=equity"): what filter_keys writes and Filters.sql() looks up."""
    return f"{name}={value}"


def filter_keys(labels: dict[str, list[str]], level: str | None, policy_area: str | None) -> str:
    """The filters a practice passes, as index keys (Practice.filter_keys): one per label, by kind and
    value, then its level and policy area."""
    keys = sorted(filter_key(kind, value) for kind, values in labels.items() for value in values)
    keys += [filter_key(name, value) for name, value in (("level", level), ("policy", policy_area)) if value]
    return " ".join(keys)


def _set_labels(session: Session, p: Practice, labels: dict[str, list[str]]) -> None:
    assert p.id is not None
    for kind, values in labels.items():
        for old in session.exec(
            select(PracticeLabel).where(
                col(PracticeLabel.practice_id) == p.id, col(PracticeLabel.kind) == kind
            )
        ):
            session.delete(old)
        session.flush()
        for value in values:
            session.add(PracticeLabel(practice_id=p.id, kind=kind, value=value))
    current = _labels(session, [p.id])[p.id]
    current.update(labels)
    p.search_extra = _search_extra(current, p)
    p.filter_keys = filter_keys(current, p.level, p.policy_area)
    session.add(p)


def create(
    session: Session, author: Member, fields: dict[str, Any], labels: dict[str, list[str]], now: datetime
) -> Practice:
    record = ensure_member(session, author)
    p = Practice(**fields, author_id=record.id, created_at=now, updated_at=now)
    session.add(p)
    session.flush()
    _set_labels(session, p, labels)
    session.flush()
    return p


def get(session: Session, practice_id: int) -> Practice:
    p = session.get(Practice, practice_id)
    if p is None:
        raise NotFound(
            f"There is no practice {practice_ref(practice_id)}. Find one with: practice search <words>"
        )
    return p


def may_edit(session: Session, p: Practice, member: Member, is_coordinator: bool) -> bool:
    if is_coordinator:
        return True
    record = find_member(session, member)
    if record is None:
        return False
    if p.author_id is not None and p.author_id == record.id:
        return True
    steward = session.get(PracticeSteward, p.id)
    return steward is not None and steward.member_id == record.id


def credit_change_refusal(p: Practice, attribution: Attribution, role_description: str) -> str | None:
    """Why someone other than the author may not give `p` this credit; None when they may.

    The author chose how to be credited: anyone else may only make it less revealing (named -> role only
    -> anonymous), never more, and may not reword how a role-only author is described."""
    ref, current = practice_ref(p.id or 0), Attribution(p.attribution)
    if attribution.openness > current.openness:
        lower = (
            f" You may make it less revealing, for example: practice edit {ref} --attribution anonymous"
            if current is not Attribution.ANONYMOUS
            else ""
        )
        return (
            f"Only the author of {ref} can make its credit more revealing (it is {current.label}; you "
            f"asked for {attribution.label}): they chose how to be credited. Nothing was changed.{lower}"
        )
    if attribution is current is Attribution.ROLE and role_description != p.author_role:
        return (
            f"Only the author of {ref} can change how they are described. Nothing was changed. You may "
            f"make it anonymous instead: practice edit {ref} --attribution anonymous"
        )
    return None


def is_author(session: Session, p: Practice, member: Member) -> bool:
    author = session.get(MemberRecord, p.author_id) if p.author_id is not None else None
    return author is not None and author.key == member.key


def hand_over(session: Session, author_id: int, steward_id: int, now: datetime) -> list[Practice]:
    """Give the practices `author_id` shared (and those they looked after) to `steward_id` to look after.
    Authorship and credit do not change. Returns the practices handed over."""
    authored = list(
        session.exec(select(Practice).where(col(Practice.author_id) == author_id).order_by(col(Practice.id)))
    )
    looked_after = list(
        session.exec(
            select(Practice)
            .join(PracticeSteward, col(PracticeSteward.practice_id) == col(Practice.id))
            .where(col(PracticeSteward.member_id) == author_id)
            .order_by(col(Practice.id))
        )
    )
    out = []
    for p in authored + [p for p in looked_after if p not in authored]:
        row = session.get(PracticeSteward, p.id)
        if row is None:
            row = PracticeSteward(practice_id=p.id or 0, member_id=steward_id, since=now)
        row.member_id, row.since = steward_id, now
        session.add(row)
        out.append(p)
    session.flush()
    return out


def looked_after_by(session: Session, member: Member) -> list[PracticeView]:
    record = session.exec(
        select(MemberRecord).where(
            col(MemberRecord.platform) == member.platform, col(MemberRecord.user_id) == member.user_id
        )
    ).first()
    if record is None:
        return []
    rows = session.exec(
        select(Practice)
        .join(PracticeSteward, col(PracticeSteward.practice_id) == col(Practice.id))
        .where(col(PracticeSteward.member_id) == record.id)
        .order_by(col(Practice.id))
    )
    return views(session, list(rows))


def update(
    session: Session, p: Practice, fields: dict[str, Any], labels: dict[str, list[str]], now: datetime
) -> None:
    for key, value in fields.items():
        setattr(p, key, value)
    p.updated_at = now
    session.add(p)
    session.flush()
    _set_labels(session, p, labels)


def mark_reviewed(session: Session, p: Practice, now: datetime) -> None:
    """Its owner (or a coordinator) confirmed it is still true: search shows "reviewed <month>"."""
    p.reviewed_at = now
    session.add(p)


def reviewed_text(p: Practice) -> str:
    """'March 2027', or '' when never reviewed."""
    return f"{p.reviewed_at:%B %Y}" if p.reviewed_at else ""


def set_status(session: Session, p: Practice, status: Status, now: datetime) -> bool:
    if p.status == status.value:
        return False
    p.status = status.value
    p.updated_at = now
    session.add(p)
    return True


def endorse(session: Session, p: Practice, member: Member, note: str) -> bool:
    """Record that `member` used this too. Returns False when they had already (the note is updated)."""
    if p.status != Status.ACTIVE.value:
        raise ArgumentError(f"{practice_ref(p.id or 0)} is retired; it cannot be endorsed.")
    record = ensure_member(session, member)
    if p.author_id is not None and p.author_id == record.id:
        raise NotAllowed("You shared this practice; endorsements are for other members who used it too.")
    existing = session.exec(
        select(Endorsement).where(
            col(Endorsement.practice_id) == p.id, col(Endorsement.member_id) == record.id
        )
    ).first()
    if existing is not None:
        if note:
            existing.note = note
            session.add(existing)
        return False
    session.add(Endorsement(practice_id=p.id or 0, member_id=record.id or 0, note=note))
    session.flush()
    return True


def endorsement_notes(session: Session, practice_id: int, limit: int = 5) -> list[str]:
    rows = session.exec(
        select(col(Endorsement.note))
        .where(col(Endorsement.practice_id) == practice_id, col(Endorsement.note) != "")
        .order_by(col(Endorsement.id).desc())
        .limit(limit)
    )
    return list(rows)


@dataclass
class Filters:
    tags: list[str] = field(default_factory=list)
    frameworks: list[str] = field(default_factory=list)
    sectors: list[str] = field(default_factory=list)
    level: str | None = None
    policy_area: str | None = None
    reviewed_since: datetime | None = None  # only practices confirmed (or shared) since then
    fresh_ids: list[int] | None = None  # filled by `prepare` from reviewed_since

    def sql(self) -> tuple[list[fulltext.IdSet], dict[str, Any]]:
        """The practices each filter allows, each answered from an index. Whether a practice is active is
        the search index's business; `fresh_ids` answers reviewed_since."""
        sets: list[fulltext.IdSet] = []
        params: dict[str, Any] = {}
        if self.fresh_ids is not None:
            ids = ",".join(map(str, self.fresh_ids)) or "NULL"
            sets.append(fulltext.IdSet("practice", "id", f"practice.id IN ({ids})"))
        if self.level:
            key = filter_key("level", self.level)
            sets.append(fulltext.IdSet("practice", "id", "practice.level = :f_level", key))
            params["f_level"] = self.level
        if self.policy_area:
            key = filter_key("policy", self.policy_area)
            sets.append(fulltext.IdSet("practice", "id", "practice.policy_area = :f_policy", key))
            params["f_policy"] = self.policy_area
        n = 0
        for kind, values in (
            (LabelKind.TAG, self.tags),
            (LabelKind.FRAMEWORK, self.frameworks),
            (LabelKind.SECTOR, self.sectors),
        ):
            for value in values:
                where = f"practice_label.kind = :fk{n} AND practice_label.value = :fv{n}"
                key = filter_key(kind.value, value)
                sets.append(fulltext.IdSet("practice_label", "practice_id", where, key))
                params[f"fk{n}"] = kind.value
                params[f"fv{n}"] = value
                n += 1
        return sets, params


def freshness() -> Any:
    """When a practice was last known to be true: its last review, else when it was shared."""
    return func.coalesce(col(Practice.reviewed_at), col(Practice.created_at))


def _prepare(session: Session, filters: Filters) -> Filters:
    if filters.reviewed_since is not None and filters.fresh_ids is None:
        ids = session.exec(select(Practice.id).where(freshness() >= filters.reviewed_since)).all()
        filters.fresh_ids = sorted(i for i in ids if i is not None)
    return filters


def _freshest_page(session: Session, ids: list[int], limit: int, offset: int) -> tuple[list[Practice], bool]:
    """One page of these practices, the most recently confirmed first."""
    if not ids:
        return [], False
    found = list(
        session.exec(
            select(Practice)
            .where(col(Practice.id).in_(ids))
            .order_by(freshness().desc(), col(Practice.id).desc())
            .offset(offset)
            .limit(limit + 1)
        )
    )
    return found[:limit], len(found) > limit


FRESH_LIMIT = 5000  # matches ranked by freshness at most


def search(
    session: Session,
    query: str,
    filters: Filters,
    *,
    limit: int,
    offset: int,
    expand: Callable[[Session, fulltext.Query], fulltext.Query] | None = None,
    freshest: bool = False,
) -> tuple[list[PracticeView], bool]:
    """One page of practices matching `query` and `filters`, best first (or, with `freshest`, the most
    recently reviewed first); and whether more follow.
    `expand` widens the words with names that mean the same (the glossary's acronyms and synonyms)."""
    where, params = _prepare(session, filters).sql()
    parsed = fulltext.parse_query(query)
    if query.strip() and not parsed:
        raise ArgumentError(
            f"{query[:60]!r} has no words to look for (a leading - excludes a word). "
            "Example: practice search budget -capital"
        )
    if parsed:
        if expand is not None:
            parsed = expand(session, parsed)
        if freshest:
            hits = fulltext.search(
                session, PRACTICE_INDEX, parsed, id_sets=where, params=params, limit=FRESH_LIMIT, offset=0
            )
            page, more = _freshest_page(session, [h.id for h in hits], limit, offset)
            return views(session, page, {h.id: h.snippet for h in hits}), more
        found = search_page(session, parsed, where, params, limit=limit + 1, offset=offset)
        return found[:limit], len(found) > limit
    clause = " AND ".join([PRACTICE_INDEX.searchable_sql, *(w.holds("d.id") for w in where)])
    if freshest:
        ids = [r[0] for r in session.execute(text(f"SELECT d.id FROM practice d WHERE {clause}"), params)]
        page, more = _freshest_page(session, ids, limit, offset)
        return views(session, page), more
    ids = [
        r[0]
        for r in session.execute(
            text(
                f"SELECT d.id FROM practice d WHERE {clause} ORDER BY d.created_at DESC, d.id DESC "
                "LIMIT :limit OFFSET :offset"
            ),
            {**params, "limit": limit + 1, "offset": offset},
        )
    ]
    more = len(ids) > limit
    return views_of(session, ids[:limit]), more


def authored_by(session: Session, member: Member) -> list[PracticeView]:
    record = find_member(session, member)
    if record is None:
        return []
    practices = session.exec(
        select(Practice).where(col(Practice.author_id) == record.id).order_by(col(Practice.id).desc())
    )
    return views(session, list(practices))


def all_for_export(session: Session, filters: Filters) -> list[PracticeView]:
    where, params = _prepare(session, filters).sql()
    clause = " AND ".join([PRACTICE_INDEX.searchable_sql, *(w.holds("d.id") for w in where)])
    ids = [
        r[0]
        for r in session.execute(text(f"SELECT d.id FROM practice d WHERE {clause} ORDER BY d.id"), params)
    ]
    practices = list(
        session.exec(select(Practice).where(col(Practice.id).in_(ids)).order_by(col(Practice.id)))
    )
    return views(session, practices)


def export_member(session: Session, record: MemberRecord) -> dict[str, Any]:
    """A member's practices (all of them, with the credit they chose) and endorsements."""
    practices = session.exec(
        select(Practice).where(col(Practice.author_id) == record.id).order_by(col(Practice.id))
    )
    endorsements = session.exec(select(Endorsement).where(col(Endorsement.member_id) == record.id))
    stewarded = session.exec(select(PracticeSteward).where(col(PracticeSteward.member_id) == record.id))
    return {
        "looking_after": [
            {"practice": practice_ref(s.practice_id), "since": s.since.isoformat()} for s in stewarded
        ],
        "practices": [
            {
                "id": practice_ref(p.id or 0),
                "title": p.title,
                "attribution": p.attribution,
                "credited_as": attribution_text(p),
                "status": p.status,
                "created": p.created_at.isoformat(),
            }
            for p in practices
        ],
        "endorsements": [
            {"practice": practice_ref(e.practice_id), "note": e.note, "at": e.created_at.isoformat()}
            for e in endorsements
        ],
    }


def forget_member(session: Session, record: MemberRecord, now: datetime) -> int:
    """Endorsements go; practices stay as community knowledge, made anonymous and unlinked."""
    changed = 0
    for e in session.exec(select(Endorsement).where(col(Endorsement.member_id) == record.id)):
        session.delete(e)
        changed += 1
    for s in session.exec(select(PracticeSteward).where(col(PracticeSteward.member_id) == record.id)):
        session.delete(s)
        changed += 1
    for p in session.exec(select(Practice).where(col(Practice.author_id) == record.id)):
        p.author_id, p.author_name, p.author_role = None, "", ""
        p.attribution, p.source_link = Attribution.ANONYMOUS.value, ""
        session.add(p)
        changed += 1
    session.flush()
    return changed


def suggest_tags(
    session: Session, prefix: str, member: Member, now: datetime, limit: int
) -> list[tuple[str, str]]:
    """Practice tags containing `prefix`, the most used first (autocomplete)."""
    uses = func.count(col(PracticeLabel.id))
    rows = session.execute(
        select(col(PracticeLabel.value), uses)
        .where(
            col(PracticeLabel.kind) == LabelKind.TAG.value,
            col(PracticeLabel.value).ilike(contains_pattern(prefix), escape="\\"),
        )
        .group_by(col(PracticeLabel.value))
        .order_by(uses.desc(), col(PracticeLabel.value))
        .limit(limit)
    ).all()
    return [(f"{value} ({n})", value) for value, n in rows]


def suggest_practices(
    session: Session, prefix: str, member: Member, now: datetime, limit: int
) -> list[tuple[str, str]]:
    """Active practices whose id is what is typed (P12, 12) or whose title contains it, newest first
    (autocomplete for practice ids). Retired ones are left out, as search leaves them out."""
    return _suggested(session, prefix, limit, col(Practice.status) == Status.ACTIVE.value)


def suggest_retired_practices(
    session: Session, prefix: str, member: Member, now: datetime, limit: int
) -> list[tuple[str, str]]:
    """The member's own retired practices (autocomplete for restore): retired ones are out of search, so
    others' are not listed here either (a coordinator types the id)."""
    record = find_member(session, member)
    return _suggested(
        session,
        prefix,
        limit,
        col(Practice.status) == Status.RETIRED.value,
        col(Practice.author_id) == (record.id if record else -1),
    )


def _suggested(session: Session, prefix: str, limit: int, *where: Any) -> list[tuple[str, str]]:
    wanted = typed_id(prefix, parse_practice_id)
    matches = col(Practice.title).ilike(contains_pattern(prefix), escape="\\")
    rows = session.execute(
        select(Practice)
        .where(*where, or_(col(Practice.id) == wanted, matches) if wanted is not None else matches)
        .order_by((col(Practice.id) == (wanted or 0)).desc(), col(Practice.id).desc())
        .limit(limit)
    ).scalars()
    return [(f"{practice_ref(p.id or 0)} {p.title}", practice_ref(p.id or 0)) for p in rows]
