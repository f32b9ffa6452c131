"""The glossary: kept in step with its files, looked up by any name, widened into search, edited in chat.
Plain functions on a session; no chat concerns.

In: `sync_glossary` applies content/glossary/terms/*.yaml at start (idempotent, one transaction). A term
is matched by its slug; a file entry that changed since it was last loaded is applied (a chat edit to an
unchanged entry is kept), a file term gone from the files is removed, and chat additions stay. Every name
is then indexed by its key; a chat term cannot take a name a file term uses. Out: `export_files` writes
the glossary in the files' own format.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, delete, text
from sqlmodel import Session, col, select

from bot.context import ensure_member
from bot.errors import ArgumentError, CommandError, NotFound
from bot.messages import Member
from bot.store.models import MemberRecord
from content.glossary.models import GlossaryName, GlossaryTerm, Origin
from content.glossary.vocabulary import (
    GLOSSARY_DIR,
    Term,
    dump_glossary_file,
    key,
    load_glossary,
    slug,
    validate_term,
)
from content.resources.catalog import AREAS
from content.resources.catalog_sync import read_catalog
from content.resources.models import Resource

_SYNC_LOCK = 7_151_003  # pg_advisory_xact_lock key (the catalog's is 7_151_002)
FIELDS = ("term", "also", "definition", "related", "resources", "source")


# ---- the files --------------------------------------------------------------------------------------


def _fingerprint(directory: Path) -> tuple[tuple[str, str], ...]:
    return tuple(
        (p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in sorted(directory.glob("*.yaml"))
    )


@lru_cache(maxsize=8)
def _load(
    directory: str, fingerprint: tuple[tuple[str, str], ...], ids: frozenset[str]
) -> tuple[tuple[str, Term], ...]:
    return tuple(load_glossary(Path(directory), set(ids)))


def read_glossary(directory: Path | None = None, catalog_dir: Path | None = None) -> list[tuple[str, Term]]:
    """Load and check the glossary files against the catalog files (remembered while both are unchanged)."""
    folder = Path(directory or GLOSSARY_DIR)
    ids = frozenset(e.id for e in read_catalog(catalog_dir))
    if not folder.is_dir():
        return load_glossary(folder, set(ids))  # raises its GlossaryError
    return list(_load(str(folder.resolve()), _fingerprint(folder), ids))


def term_hash(area: str, t: Term) -> str:
    return hashlib.sha256(json.dumps([area, t.model_dump(mode="json")], sort_keys=True).encode()).hexdigest()


def _apply(row: GlossaryTerm, area: str, t: Term) -> None:
    row.term, row.area, row.definition, row.source = t.term, area, t.definition, t.source
    row.also, row.related, row.resources = (json.dumps(list(v)) for v in (t.also, t.related, t.resources))


def to_term(row: GlossaryTerm) -> Term:
    return Term(
        term=row.term,
        also=tuple(row.names_list("also")),
        definition=row.definition,
        related=tuple(row.names_list("related")),
        resources=tuple(row.names_list("resources")),
        source=row.source,
    )


def _take_turns(session: Session) -> None:
    """Two processes starting at once sync one after the other."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SYNC_LOCK})
    else:
        session.execute(text("UPDATE glossary_term SET id = id WHERE 1 = 0"))


def reindex(session: Session) -> None:
    """Every term's names by key: file terms first, so a chat term never takes a name a file term uses."""
    session.execute(delete(GlossaryName))
    taken: set[str] = set()
    rows = session.exec(
        select(GlossaryTerm).order_by(col(GlossaryTerm.origin) != Origin.FILE.value, col(GlossaryTerm.id))
    ).all()
    names = []
    for row in rows:
        for name in [row.term, *row.names_list("also")]:
            k = key(name)
            if k and k not in taken and len(k) <= 200:
                taken.add(k)
                names.append(GlossaryName(term_id=row.id or 0, key=k, name=name[:200]))
    session.add_all(names)
    session.flush()


@dataclass
class SyncReport:
    added: int = 0
    updated: int = 0
    removed: int = 0


def sync_glossary(session: Session, terms: Sequence[tuple[str, Term]], now: datetime) -> SyncReport:
    """Make the database say what the glossary files say (see the module docstring). Idempotent."""
    _take_turns(session)
    report = SyncReport()
    existing = {row.slug: row for row in session.exec(select(GlossaryTerm))}
    in_files = set()
    for area, t in terms:
        s, digest = slug(t.term), term_hash(area, t)
        in_files.add(s)
        row = existing.get(s)
        if row is None:
            row = GlossaryTerm(slug=s, term=t.term, area=area, definition="", source="", created_at=now)
            report.added += 1
        elif row.source_hash == digest:
            continue
        else:
            report.updated += 1
        _apply(row, area, t)
        row.origin, row.source_hash, row.updated_at = Origin.FILE.value, digest, now
        session.add(row)
    for s, row in existing.items():
        if row.origin == Origin.FILE.value and s not in in_files:
            session.delete(row)
            report.removed += 1
    session.flush()
    if (
        report.added
        or report.updated
        or report.removed
        or not session.exec(select(col(GlossaryName.id))).first()
    ):
        reindex(session)
    return report


# ---- looking up ---------------------------------------------------------------------------------------


def find(session: Session, name: str) -> GlossaryTerm | None:
    """The term any of whose names is `name` (case, hyphens and punctuation do not matter)."""
    row = session.exec(select(GlossaryName).where(col(GlossaryName.key) == key(name))).first()
    return session.get(GlossaryTerm, row.term_id) if row is not None else None


def close_to(session: Session, name: str, n: int = 3) -> list[str]:
    """Up to `n` term names close to `name`: by spelling, then terms whose names contain its words."""
    names = {row.key: row.name for row in session.exec(select(GlossaryName))}
    wanted = key(name)
    found = [names[k] for k in difflib.get_close_matches(wanted, list(names), n=n, cutoff=0.6)]
    if len(found) < n and wanted:
        words = set(wanted.split())
        found += [v for k, v in sorted(names.items()) if words & set(k.split()) and v not in found]
    terms = []
    for value in found:
        row = find(session, value)
        if row is not None and row.term not in terms:
            terms.append(row.term)
    return terms[:n]


# Every search asks this, and most phrases name no term: one plain statement, no ORM objects.
_OTHER_NAMES = text(
    "SELECT asked.key, other.name, other.key FROM glossary_name asked "
    "JOIN glossary_name other ON other.term_id = asked.term_id WHERE asked.key IN :phrases ORDER BY other.id"
).bindparams(bindparam("phrases", expanding=True))


def synonyms(session: Session, phrases: Collection[str]) -> Mapping[str, Sequence[str]]:
    """For each phrase (words joined by one space) that names a term: the term's other names."""
    if not phrases:
        return {}
    found: dict[str, list[str]] = {}
    for asked, name, name_key in session.execute(_OTHER_NAMES, {"phrases": list(phrases)}):
        names = found.setdefault(asked, [])
        if name_key != asked:
            names.append(name)
    return found


@dataclass
class Definition:
    row: GlossaryTerm
    related: list[str]
    resources: list[tuple[str, str]]  # (ref like L12, title)


def definition(session: Session, row: GlossaryTerm) -> Definition:
    related = []
    for name in row.names_list("related"):
        other = find(session, name)
        related.append(other.term if other is not None else name)
    slugs = row.names_list("resources")
    found = (
        {
            r.slug: r
            for r in session.exec(
                select(Resource).where(col(Resource.slug).in_(slugs), col(Resource.status) == "active")
            )
        }
        if slugs
        else {}
    )
    resources = [(f"L{found[s].id}", found[s].title) for s in slugs if s in found]
    return Definition(row, related, resources)


def by_area(session: Session, area: str | None) -> list[GlossaryTerm]:
    query = select(GlossaryTerm).order_by(col(GlossaryTerm.area), col(GlossaryTerm.term))
    if area:
        query = query.where(col(GlossaryTerm.area) == area)
    return list(session.exec(query))


# ---- chat additions and edits, under the files' rules ---------------------------------------------------


def _check(session: Session, t: Term, row_id: int | None) -> None:
    """The rules across terms, against the database: names free, related terms defined, resources real."""
    for name in t.names:
        owner = session.exec(select(GlossaryName).where(col(GlossaryName.key) == key(name))).first()
        if owner is not None and owner.term_id != row_id:
            other = session.get(GlossaryTerm, owner.term_id)
            option = "--term" if name == t.term else "--also"
            raise ArgumentError(
                f"{option}: {name!r} already names {other.term if other else 'another term'!r}; "
                f'change that term instead: glossary edit "{other.term if other else name}"',
                option[2:],
            )
    for name in t.related:
        other = find(session, name)
        if other is None and key(name) not in {key(n) for n in t.names}:
            raise ArgumentError(
                f"--related: {name!r} is not in the glossary. Define it first, or see the "
                "terms with: glossary list",
                "related",
            )
        if other is not None and other.id == row_id or key(name) in {key(n) for n in t.names}:
            raise ArgumentError("--related: a term cannot be related to itself.", "related")
    if t.resources:
        known = set(session.exec(select(col(Resource.slug)).where(col(Resource.slug).in_(list(t.resources)))))
        missing = [r for r in t.resources if r not in known]
        if missing:
            raise ArgumentError(
                f"--resources: {missing[0]!r} is not a resource id in the catalog. Find one with: "
                "resource search <words> (use its slug, e.g. meadows-thinking-in-systems)",
                "resources",
            )


def validate(values: dict[str, Any]) -> Term:
    try:
        return validate_term(values)
    except ValueError as exc:
        field = getattr(exc, "field", None)
        problem = getattr(exc, "problem", str(exc))
        option = "--" + (field or "term")
        raise ArgumentError(
            f'{option}: {problem}. Example: glossary add --term "Turning the curve" --area '
            'results-based-accountability --definition "..." --source "Mark Friedman, Trying '
            'Hard Is Not Good Enough"',
            field,
        ) from None


def add(session: Session, member: Member, area: str, values: dict[str, Any], now: datetime) -> GlossaryTerm:
    t = validate(values)
    _check(session, t, None)
    s = slug(t.term)
    if session.exec(select(col(GlossaryTerm.id)).where(col(GlossaryTerm.slug) == s)).first() is not None:
        raise CommandError(f'{t.term!r} is already in the glossary; change it with: glossary edit "{t.term}"')
    record = ensure_member(session, member)
    row = GlossaryTerm(
        slug=s,
        term=t.term,
        area=area,
        definition="",
        source="",
        origin=Origin.CHAT.value,
        added_by=record.id,
        created_at=now,
        updated_at=now,
    )
    _apply(row, area, t)
    session.add(row)
    session.flush()
    reindex(session)
    return row


def edit(
    session: Session, member: Member, name: str, area: str | None, changes: dict[str, Any], now: datetime
) -> GlossaryTerm:
    row = find(session, name)
    if row is None:
        raise NotFound(f"{name!r} is not in the glossary. See the terms with: glossary list")
    values = to_term(row).model_dump()
    values.update(changes)
    t = validate(values)
    _check(session, t, row.id)
    new_slug = slug(t.term)
    if (
        new_slug != row.slug
        and session.exec(select(col(GlossaryTerm.id)).where(col(GlossaryTerm.slug) == new_slug)).first()
    ):
        raise CommandError(f"{t.term!r} is already in the glossary.")
    record = ensure_member(session, member)
    _apply(row, area or row.area, t)
    row.slug, row.edited_by, row.updated_at = new_slug, record.id, now
    session.add(row)
    session.flush()
    reindex(session)
    return row


def export_files(session: Session, area: str | None = None) -> list[tuple[str, str, int]]:
    """The glossary as files in its own format: (file name, YAML text, terms), one per area."""
    files = []
    for name in AREAS:
        if area and name != area:
            continue
        rows = by_area(session, name)
        if rows or area:
            files.append((f"{name}.yaml", dump_glossary_file(name, [to_term(r) for r in rows]), len(rows)))
    return files


# ---- privacy ------------------------------------------------------------------------------------------


def export_member(session: Session, record: MemberRecord) -> dict[str, Any]:
    added = session.exec(select(col(GlossaryTerm.term)).where(col(GlossaryTerm.added_by) == record.id)).all()
    edited = session.exec(
        select(col(GlossaryTerm.term)).where(col(GlossaryTerm.edited_by) == record.id)
    ).all()
    return {"terms_added": sorted(added), "terms_last_edited": sorted(edited)}


def forget_member(session: Session, record: MemberRecord, now: datetime) -> int:
    """Terms they added or edited stay (shared vocabulary), no longer linked to them."""
    changed = 0
    for row in session.exec(
        select(GlossaryTerm).where(
            (col(GlossaryTerm.added_by) == record.id) | (col(GlossaryTerm.edited_by) == record.id)
        )
    ):
        if row.added_by == record.id:
            row.added_by = None
        if row.edited_by == record.id:
            row.edited_by = None
        session.add(row)
        changed += 1
    session.flush()
    return changed


def suggest_terms(
    session: Session, prefix: str, member: Member, now: datetime, limit: int
) -> list[tuple[str, str]]:
    """Glossary names starting with `prefix` (autocomplete for define)."""
    k = key(prefix)
    rows = session.exec(
        select(GlossaryName)
        .where(col(GlossaryName.key).startswith(k, autoescape=True))
        .order_by(col(GlossaryName.key))
        .limit(limit)
    ).all()
    return [(r.name, r.name) for r in rows]
