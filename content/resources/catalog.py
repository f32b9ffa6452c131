"""The curated learning-resource catalog: models, a validating loader and a YAML exporter.

The catalog lives in ``content/catalog/<area>.yaml``, one human-editable file per learning
area.  Each file has the top-level keys ``area``, ``title``, ``description`` and
``resources`` (a list of entries).  :func:`load_catalog` reads and validates every file and
raises the first problem it finds as a :class:`CatalogError` naming the file, the entry and
the field.  :func:`dump_catalog_file` writes entries back out in the same format, so that
resources added in chat can be exported and committed to ``content/``.

No database and no global state: loading is a pure function of the files on disk.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from bot import vocabulary
from bot.errors import StartError

__all__ = [
    "AREAS",
    "COSTS",
    "KINDS",
    "LEVELS",
    "CatalogEntry",
    "CatalogError",
    "dump_catalog_file",
    "load_catalog",
]

#: Learning-area slug -> human title (the one vocabulary, bot/vocabulary.py). A catalog file is named
#: ``<slug>.yaml``.
AREAS: dict[str, str] = vocabulary.AREAS

KINDS: tuple[str, ...] = (
    "course",
    "article",
    "book",
    "guide",
    "toolkit",
    "case-study",
    "video",
    "podcast",
    "framework",
)
LEVELS: tuple[str, ...] = ("introductory", "practitioner", "advanced")
COSTS: tuple[str, ...] = ("free", "paid")

#: Longest summary accepted, in characters.
MAX_SUMMARY_CHARS = 600

CATALOG_DIR: Path = Path(__file__).resolve().parent.parent / "catalog"
_PROJECT_ROOT: Path = Path(__file__).resolve().parent.parent.parent

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_FILE_KEYS: tuple[str, ...] = ("area", "title", "description", "resources")
_URL_EXAMPLE = "https://www.example.org/page"


class CatalogError(StartError):
    """A problem in a catalog file, located by file, entry and field.

    ``entry`` is the resource's id, or ``#N`` (1-based position in ``resources``) when the
    entry has no usable id; it is ``None`` for file-level problems.  ``field`` is ``None``
    when the problem is not tied to one field (for instance a YAML syntax error).
    """

    def __init__(self, file: str, entry: str | None, field: str | None, problem: str) -> None:
        self.file = file
        self.entry = entry
        self.field = field
        self.problem = problem
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [f"entry '{self.entry}'"] if self.entry is not None else []
        if self.field is not None:
            where.append(f"field '{self.field}'")
        if not where:
            return f"{self.file}: {self.problem}"
        return f"{self.file}: {', '.join(where)}: {self.problem}"


class _FieldProblem(ValueError):
    """A cross-field validation failure that still belongs to one named field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field
        self.problem = problem


def _check_choice(value: str, allowed: tuple[str, ...], what: str) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise a readable ValueError."""
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r} (allowed: {', '.join(allowed)})")
    return value


def _nonblank(value: str) -> str:
    """Strip ``value`` and reject it if nothing is left."""
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


class CatalogEntry(BaseModel):
    """One curated learning resource (immutable)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    title: str
    author: str | None = None
    publisher: str | None = None
    url: str | None = None
    url_note: str | None = None
    kind: str
    areas: tuple[str, ...]
    summary: str
    level: str
    time: str
    cost: str
    checked: datetime.date

    @field_validator("id")
    @classmethod
    def _id_is_slug(cls, value: str) -> str:
        if not _SLUG.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a slug (lowercase letters, digits and single hyphens, "
                "e.g. meadows-thinking-in-systems)"
            )
        return value

    @field_validator("title", "time")
    @classmethod
    def _text_nonblank(cls, value: str) -> str:
        return _nonblank(value)

    @field_validator("author", "publisher", "url_note")
    @classmethod
    def _optional_text_nonblank(cls, value: str | None) -> str | None:
        return None if value is None else _nonblank(value)

    @field_validator("url")
    @classmethod
    def _url_well_formed(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        parts = urlsplit(value)
        host = parts.hostname or ""
        if (
            parts.scheme not in ("http", "https")
            or "." not in host
            or host.startswith(".")
            or host.endswith(".")
            or any(ch.isspace() for ch in value)
        ):
            raise ValueError(f"not a well-formed http(s) URL (example: {_URL_EXAMPLE})")
        return value

    @field_validator("kind")
    @classmethod
    def _kind_known(cls, value: str) -> str:
        return _check_choice(value, KINDS, "kind")

    @field_validator("level")
    @classmethod
    def _level_known(cls, value: str) -> str:
        return _check_choice(value, LEVELS, "level")

    @field_validator("cost")
    @classmethod
    def _cost_known(cls, value: str) -> str:
        return _check_choice(value, COSTS, "cost")

    @field_validator("areas")
    @classmethod
    def _areas_known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("list at least one area")
        for area in value:
            _check_choice(area, tuple(AREAS), "area")
        if len(set(value)) != len(value):
            raise ValueError("an area is listed twice")
        return value

    @field_validator("summary")
    @classmethod
    def _summary_length(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("summary is empty")
        if len(value) > MAX_SUMMARY_CHARS:
            raise ValueError(f"summary is {len(value)} characters; keep it to {MAX_SUMMARY_CHARS} or fewer")
        return value

    @model_validator(mode="after")
    def _cross_field_rules(self) -> CatalogEntry:
        if self.author is None and self.publisher is None:
            raise _FieldProblem("author", "give an author or a publisher (at least one)")
        if self.url is None and self.url_note is None:
            raise _FieldProblem(
                "url_note",
                "required when 'url' is absent: say why there is no link and how to find it",
            )
        return self


def display_path(path: Path) -> str:
    """Show ``path`` relative to the project root when it lies inside it."""
    try:
        return path.resolve().relative_to(_PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


def first_problem(exc: ValidationError) -> tuple[str | None, str]:
    """Turn the first pydantic error into (field, readable problem)."""
    err = exc.errors()[0]
    loc = err.get("loc", ())
    field = str(loc[0]) if loc else None
    original = err.get("ctx", {}).get("error")
    if isinstance(original, _FieldProblem):
        return original.field, original.problem
    kind = err.get("type")
    if kind == "missing":
        return field, "required field is missing"
    if kind == "extra_forbidden":
        return field, "unknown field (check the spelling)"
    if isinstance(original, ValueError):
        return field, str(original)
    return field, str(err.get("msg", "invalid value"))


def _entry_label(raw: Any, position: int) -> str:
    """The id of a raw entry if it has a usable one, else ``#position`` (1-based)."""
    if isinstance(raw, dict):
        ident = raw.get("id")
        if isinstance(ident, str) and ident.strip():
            return ident.strip()
    return f"#{position}"


def _load_file(path: Path, seen_ids: dict[str, str], seen_titles: dict[str, str]) -> list[CatalogEntry]:
    """Validate one catalog file; record ids and titles in the ``seen_*`` maps."""
    shown = display_path(path)

    def fail(entry: str | None, field: str | None, problem: str) -> CatalogError:
        return CatalogError(shown, entry, field, problem)

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise fail(None, None, f"YAML syntax error{at}: {reason}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(None, None, f"cannot read file: {exc}") from exc

    if not isinstance(data, dict):
        raise fail(None, None, "expected a mapping with keys " + ", ".join(_FILE_KEYS))
    for key in data:
        if key not in _FILE_KEYS:
            raise fail(None, str(key), "unknown top-level key (check the spelling)")
    for key in _FILE_KEYS:
        if key not in data:
            raise fail(None, key, "required field is missing")

    area = data["area"]
    if area != path.stem:
        raise fail(None, "area", f"area {area!r} does not match the file name {path.name!r}")
    if area not in AREAS:
        raise fail(None, "area", f"unknown area {area!r} (allowed: {', '.join(AREAS)})")
    for key in ("title", "description"):
        if not isinstance(data[key], str) or not data[key].strip():
            raise fail(None, key, "must be a non-empty string")
    resources = data["resources"]
    if resources is None:
        resources = []
    if not isinstance(resources, list):
        raise fail(None, "resources", "must be a list of entries")

    entries: list[CatalogEntry] = []
    for position, raw in enumerate(resources, start=1):
        label = _entry_label(raw, position)
        if not isinstance(raw, dict):
            raise fail(label, None, "each resource must be a mapping of field: value")
        try:
            entry = CatalogEntry.model_validate(raw)
        except ValidationError as exc:
            field, problem = first_problem(exc)
            raise fail(label, field, problem) from exc
        if area not in entry.areas:
            raise fail(label, "areas", f"must include this file's area {area!r}")
        if entry.id in seen_ids:
            raise fail(label, "id", f"duplicate id; already used in {seen_ids[entry.id]}")
        title_key = entry.title.casefold()
        if title_key in seen_titles:
            where = seen_titles[title_key]
            raise fail(label, "title", f"duplicate title (case-insensitive); already in {where}")
        seen_ids[entry.id] = shown
        seen_titles[title_key] = shown
        entries.append(entry)
    return entries


def load_catalog(directory: Path | None = None) -> list[CatalogEntry]:
    """Load and validate every ``*.yaml`` file in ``directory`` (default: content/catalog).

    Files are read in name order and entries keep their order within a file.  Raises the
    first :class:`CatalogError` found.
    """
    folder = CATALOG_DIR if directory is None else Path(directory)
    if not folder.is_dir():
        raise CatalogError(display_path(folder), None, None, "catalog directory not found")
    seen_ids: dict[str, str] = {}
    seen_titles: dict[str, str] = {}
    entries: list[CatalogEntry] = []
    for path in sorted(folder.glob("*.yaml")):
        entries.extend(_load_file(path, seen_ids, seen_titles))
    return entries


def _entry_to_dict(entry: CatalogEntry) -> dict[str, Any]:
    """Plain YAML-ready mapping for one entry, omitting absent optional fields."""
    data = entry.model_dump(exclude_none=True)
    data["areas"] = list(entry.areas)
    return data


def dump_catalog_file(area: str, title: str, description: str, entries: list[CatalogEntry]) -> str:
    """Render one catalog file (``<area>.yaml``) as YAML text that :func:`load_catalog` accepts.

    Raises ValueError if ``area`` is unknown or an entry does not list ``area``.
    """
    if area not in AREAS:
        raise ValueError(f"unknown area {area!r} (allowed: {', '.join(AREAS)})")
    for entry in entries:
        if area not in entry.areas:
            raise ValueError(f"entry {entry.id!r} does not list the area {area!r}")
    document = {
        "area": area,
        "title": title,
        "description": description,
        "resources": [_entry_to_dict(entry) for entry in entries],
    }
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=88, default_flow_style=False)
    # A blank line between entries makes hand-editing easier; YAML ignores it.
    body = body.replace("\n- id: ", "\n\n- id: ")
    header = (
        f"# Learning resources: {title}.\n"
        "# One entry per resource; field rules are in content/resources/catalog.py (load_catalog).\n"
    )
    return header + body
