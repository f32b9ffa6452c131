"""The catalog files and the database kept in step, both ways.

In: `sync_catalog` applies content/catalog/*.yaml to the `resource` table at start (idempotent; one
transaction). Out: `export_files` renders resources as catalog files with `dump_catalog_file`, so what
coordinators add in chat can be committed to content/. Entries added or edited in chat go through the
same `CatalogEntry` rules as the files.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import insert, text
from sqlmodel import Session, col, select

from bot.errors import ArgumentError
from content.resources.catalog import (
    AREAS,
    CATALOG_DIR,
    CatalogEntry,
    CatalogError,
    display_path,
    dump_catalog_file,
    first_problem,
    load_catalog,
)
from content.resources.models import Origin, Resource, ResourceArea, RetiredBy, Status
from content.resources.service import areas_of, search_extra

# Column sizes (content/resources/models.py): a longer value is reported, never cut or half-written.
LIMITS = {"id": 100, "title": 300, "author": 300, "publisher": 300, "url": 500, "url_note": 500, "time": 100}
_SYNC_LOCK = 7_151_002  # pg_advisory_xact_lock key (bot/store/db.py's migration lock is 7_151_001)
_LOOKS_LIKE_ID = re.compile(r"^l?\d+$")
ENTRY_FIELDS = (
    "title",
    "author",
    "publisher",
    "url",
    "url_note",
    "kind",
    "level",
    "time",
    "cost",
    "summary",
    "checked",
)


def _fingerprint(directory: Path) -> tuple[tuple[str, str], ...]:
    return tuple(
        (p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in sorted(directory.glob("*.yaml"))
    )


@lru_cache(maxsize=8)
def _load(directory: str, fingerprint: tuple[tuple[str, str], ...]) -> tuple[CatalogEntry, ...]:
    return tuple(load_catalog(Path(directory)))


def read_catalog(directory: Path | None = None) -> list[CatalogEntry]:
    """`load_catalog`, remembered by the files' content: one parse per process while they are unchanged."""
    folder = Path(directory or CATALOG_DIR)
    if not folder.is_dir():
        return load_catalog(folder)  # raises its CatalogError
    return list(_load(str(folder.resolve()), _fingerprint(folder)))


def entry_hash(entry: CatalogEntry) -> str:
    return hashlib.sha256(json.dumps(entry.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def check_fits(entries: Sequence[CatalogEntry], directory: Path | None = None) -> None:
    """Beyond the catalog's own rules: values must fit the columns, and a slug must not read as an id."""
    folder = Path(directory or CATALOG_DIR)
    for e in entries:
        where = display_path(folder / f"{e.areas[0]}.yaml")
        for name, limit in LIMITS.items():
            value = getattr(e, name)
            if value is not None and len(value) > limit:
                raise CatalogError(where, e.id, name, f"{len(value)} characters; the limit is {limit}")
        if _LOOKS_LIKE_ID.match(e.id):
            raise CatalogError(where, e.id, "id", "reads like a resource id (L12); add a word to the slug")


@dataclass
class SyncReport:
    added: int = 0
    updated: int = 0
    retired: int = 0
    unchanged: int = 0


def columns(entry: CatalogEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in ENTRY_FIELDS}


def set_areas(session: Session, r: Resource, areas: Sequence[str]) -> None:
    """Replace the resource's areas (first = home) and what search matches them by."""
    for old in session.exec(select(ResourceArea).where(col(ResourceArea.resource_id) == r.id)):
        session.delete(old)
    session.flush()
    session.add_all(
        [
            ResourceArea(resource_id=r.id or 0, area=area, position=position)
            for position, area in enumerate(areas)
        ]
    )
    extra = search_extra(r, areas)
    if r.search_extra != extra:
        r.search_extra = extra
        session.add(r)


def _take_turns(session: Session) -> None:
    """Two processes starting at once sync one after the other (the second then finds nothing to do)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SYNC_LOCK})
    else:  # SQLite: take the write lock before reading, so the reads cannot go stale
        session.execute(text("UPDATE resource SET id = id WHERE 1 = 0"))


def _insert(session: Session, entries: Sequence[CatalogEntry], now: datetime) -> None:
    """New catalog entries in two batched statements (a fresh install adds the whole catalog)."""
    if not entries:
        return
    rows = []
    for e in entries:
        values = columns(e)
        rows.append(
            dict(
                values,
                slug=e.id,
                origin=Origin.CATALOG.value,
                status=Status.ACTIVE.value,
                retired_by="",
                source_hash=entry_hash(e),
                added_by=None,
                created_at=now,
                updated_at=now,
                search_extra=search_extra(e, e.areas),
            )
        )
    table = Resource.__table__  # type: ignore[attr-defined]
    session.execute(insert(table), rows)
    ids: dict[str, int] = {
        slug: rid
        for slug, rid in session.execute(
            select(col(Resource.slug), col(Resource.id)).where(
                col(Resource.slug).in_([e.id for e in entries])
            )
        )
    }
    session.execute(
        insert(ResourceArea.__table__),  # type: ignore[attr-defined]
        [
            {"resource_id": ids[e.id], "area": area, "position": position}
            for e in entries
            for position, area in enumerate(e.areas)
        ],
    )


def sync_catalog(
    session: Session, entries: Sequence[CatalogEntry], directory: Path | None, now: datetime
) -> SyncReport:
    """Make the database say what the catalog files say. Idempotent.

    An entry is matched by slug. One whose file entry changed since it was last loaded is updated (an
    edit made in chat to an unchanged entry is kept); a new one is added; a catalog entry no longer in
    the files is retired (kept, out of search) and comes back if it returns. Entries added in chat stay.
    """
    check_fits(entries, directory)
    _take_turns(session)
    report = SyncReport()
    existing = {r.slug: r for r in session.exec(select(Resource))}
    changed: list[tuple[Resource, CatalogEntry]] = []
    added: list[CatalogEntry] = []
    for e in entries:
        digest = entry_hash(e)
        r = existing.get(e.id)
        if r is None:
            added.append(e)
            continue
        touched = False
        if r.source_hash != digest:
            for name, value in columns(e).items():
                setattr(r, name, value)
            r.origin, r.source_hash, touched = Origin.CATALOG.value, digest, True
            changed.append((r, e))
        if r.status == Status.RETIRED.value and r.retired_by == RetiredBy.CATALOG.value:
            r.status, r.retired_by, touched = Status.ACTIVE.value, "", True
        if touched:
            r.updated_at = now
            session.add(r)
            report.updated += 1
        else:
            report.unchanged += 1
    in_files = {e.id for e in entries}
    for slug, r in existing.items():
        if r.origin == Origin.CATALOG.value and slug not in in_files and r.status == Status.ACTIVE.value:
            r.status, r.retired_by, r.updated_at = Status.RETIRED.value, RetiredBy.CATALOG.value, now
            session.add(r)
            report.retired += 1
    session.flush()
    _insert(session, added, now)
    report.added = len(added)
    for r, e in changed:
        set_areas(session, r, e.areas)
    session.flush()
    return report


# ---- chat additions and edits, under the catalog's rules ------------------------------------------


def validate(values: dict[str, Any]) -> CatalogEntry:
    """A CatalogEntry from command values, or an ArgumentError naming the option to fix."""
    try:
        entry = CatalogEntry.model_validate(values)
    except ValidationError as exc:
        name, problem = first_problem(exc)
        option = "--" + (name or "").replace("_", "-")
        raise ArgumentError(f"{option}: {problem}.", name) from None
    return entry


def slug_for(session: Session, title: str) -> str:
    """A new, unused slug from a title."""
    base = "-".join(re.findall(r"[a-z0-9]+", title.lower()))[:80].strip("-") or "resource"
    if _LOOKS_LIKE_ID.match(base):
        base = f"resource-{base}"
    slug, n = base, 1
    while session.exec(select(col(Resource.id)).where(col(Resource.slug) == slug)).first() is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug


def to_entry(r: Resource, areas: Sequence[str]) -> CatalogEntry:
    return CatalogEntry(id=r.slug, areas=tuple(areas), **{name: getattr(r, name) for name in ENTRY_FIELDS})


# ---- export -----------------------------------------------------------------------------------------


def _descriptions(directory: Path = CATALOG_DIR) -> dict[str, str]:
    out: dict[str, str] = {}
    for path in directory.glob("*.yaml"):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            out[str(data["area"])] = str(data["description"]).strip()
        except (OSError, yaml.YAMLError, KeyError, TypeError):
            continue
    return out


def export_files(session: Session, area: str | None = None) -> list[tuple[str, str, int]]:
    """Active resources as catalog files: (file name, YAML text, entries), one file per home area."""
    resources = list(
        session.exec(
            select(Resource).where(col(Resource.status) == Status.ACTIVE.value).order_by(col(Resource.id))
        )
    )
    areas = areas_of(session, [r.id or 0 for r in resources])
    by_home: dict[str, list[CatalogEntry]] = {}
    for r in resources:
        mine = areas.get(r.id or 0) or []
        if mine:
            by_home.setdefault(mine[0], []).append(to_entry(r, mine))
    descriptions = _descriptions()
    files = []
    for name in AREAS:
        if (area and name != area) or (not area and name not in by_home):
            continue
        entries = by_home.get(name, [])
        text = dump_catalog_file(name, AREAS[name], descriptions.get(name) or AREAS[name], entries)
        files.append((f"{name}.yaml", text, len(entries)))
    return files
