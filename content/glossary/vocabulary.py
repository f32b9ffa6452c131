"""The glossary files: a term model, a validating loader and a YAML writer. No database here.

The glossary lives in ``content/glossary/terms/<area>.yaml``, one file per learning area, each with the
top-level keys ``area`` and ``terms``. A term has a name, other names it goes by (acronyms, synonyms), a
definition of two to four sentences in our own words, related terms (by name, each defined somewhere in
the glossary), catalog resources (ids that exist in content/catalog) and a named source (author and
work; nothing is quoted). :func:`load_glossary` raises the first problem as a :class:`GlossaryError`
naming the file, the term and the field; :func:`dump_glossary_file` writes terms back in the same format.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from bot.errors import StartError
from bot.words import counted
from content.resources.catalog import AREAS, display_path, first_problem

GLOSSARY_DIR: Path = Path(__file__).resolve().parent / "terms"
MIN_SENTENCES, MAX_SENTENCES = 2, 4
MAX_DEFINITION_CHARS = 900
_FILE_KEYS = ("area", "terms")
_SENTENCE_END = re.compile(r"[.!?](?:[\"')\]]*)(?=\s|$)")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


class GlossaryError(StartError):
    """A problem in a glossary file, located by file, term and field (either may be None)."""

    def __init__(self, file: str, entry: str | None, field: str | None, problem: str) -> None:
        self.file, self.entry, self.field, self.problem = file, entry, field, problem
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [f"entry '{self.entry}'"] if self.entry is not None else []
        if self.field is not None:
            where.append(f"field '{self.field}'")
        return f"{self.file}: {', '.join(where)}: {self.problem}" if where else f"{self.file}: {self.problem}"


def key(name: str) -> str:
    """How a name is matched: its letters and digits, lower-cased, single-spaced ("Results-Based" ==
    "results based"). The glossary, `define` and search expansion all compare names this way."""
    return " ".join(w.lower() for w in _WORD.findall(name))


def slug(name: str) -> str:
    return key(name).replace(" ", "-")


def count_sentences(text: str) -> int:
    return len(_SENTENCE_END.findall(text.strip()))


def _clean_names(values: Iterable[str], what: str) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        if not isinstance(value, str) or not key(value):
            raise ValueError(f"each {what} must be a name with letters or digits")
        name = " ".join(value.split())
        if key(name) in {key(o) for o in out}:
            raise ValueError(f"{name!r} is listed twice")
        out.append(name)
    return tuple(out)


class Term(BaseModel):
    """One glossary term (immutable)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    term: str
    also: tuple[str, ...] = ()
    definition: str
    related: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    source: str

    @field_validator("term", "source")
    @classmethod
    def _nonblank(cls, value: str) -> str:
        value = " ".join(value.split())
        if not key(value):
            raise ValueError("must not be empty")
        if len(value) > 200:
            raise ValueError(f"{len(value)} characters; keep it to 200 or fewer")
        return value

    @field_validator("also")
    @classmethod
    def _also(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        names = _clean_names(value, "other name")
        if any(len(n) > 120 for n in names):
            raise ValueError("keep each other name to 120 characters or fewer")
        return names

    @field_validator("related")
    @classmethod
    def _related(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _clean_names(value, "related term")

    @field_validator("resources")
    @classmethod
    def _resources(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("a resource is listed twice")
        return value

    @field_validator("definition")
    @classmethod
    def _definition(cls, value: str) -> str:
        value = " ".join(value.split())
        n = count_sentences(value)
        if not MIN_SENTENCES <= n <= MAX_SENTENCES:
            raise ValueError(
                f"has {counted(n, 'sentence')}; write {MIN_SENTENCES} to {MAX_SENTENCES}, each ending with a full stop"
            )
        if len(value) > MAX_DEFINITION_CHARS:
            raise ValueError(f"{len(value)} characters; keep it to {MAX_DEFINITION_CHARS} or fewer")
        return value

    @property
    def names(self) -> tuple[str, ...]:
        """The term first, then the other names it goes by."""
        return (self.term, *self.also)


def _label(raw: Any, position: int) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("term"), str) and raw["term"].strip():
        return " ".join(raw["term"].split())
    return f"#{position}"


def validate_term(raw: dict[str, Any]) -> Term:
    """A Term, or ValueError('field: problem') for chat input (the loader reports through GlossaryError)."""
    try:
        return Term.model_validate(raw)
    except ValidationError as exc:
        field, problem = first_problem(exc)
        raise _Invalid(field, problem) from None


class _Invalid(ValueError):
    def __init__(self, field: str | None, problem: str) -> None:
        super().__init__(f"{field}: {problem}" if field else problem)
        self.field, self.problem = field, problem


def _read(path: Path) -> Any:
    shown = display_path(path)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise GlossaryError(
            shown, None, None, f"YAML syntax error{at}: {getattr(exc, 'problem', None) or exc}"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise GlossaryError(shown, None, None, f"cannot read file: {exc}") from exc


def _load_file(path: Path) -> list[tuple[str, Term]]:
    shown = display_path(path)
    data = _read(path)
    if not isinstance(data, dict):
        raise GlossaryError(shown, None, None, "expected a mapping with keys " + ", ".join(_FILE_KEYS))
    for name in data:
        if name not in _FILE_KEYS:
            raise GlossaryError(shown, None, str(name), "unknown top-level key (check the spelling)")
    for name in _FILE_KEYS:
        if name not in data:
            raise GlossaryError(shown, None, name, "required field is missing")
    area = data["area"]
    if area != path.stem:
        raise GlossaryError(shown, None, "area", f"area {area!r} does not match the file name {path.name!r}")
    if area not in AREAS:
        raise GlossaryError(shown, None, "area", f"unknown area {area!r} (allowed: {', '.join(AREAS)})")
    raw_terms = data["terms"] or []
    if not isinstance(raw_terms, list):
        raise GlossaryError(shown, None, "terms", "must be a list of terms")
    out = []
    for position, raw in enumerate(raw_terms, start=1):
        label = _label(raw, position)
        if not isinstance(raw, dict):
            raise GlossaryError(shown, label, None, "each term must be a mapping of field: value")
        try:
            out.append((area, Term.model_validate(raw)))
        except ValidationError as exc:
            field, problem = first_problem(exc)
            raise GlossaryError(shown, label, field, problem) from exc
    return out


def check_terms(terms: list[tuple[str, Term]], catalog_ids: set[str], where: dict[str, str]) -> None:
    """The rules across terms: no name used twice, related terms defined, catalog resources present.
    `where` maps a term's name to the file it is in (for the message)."""
    owner: dict[str, str] = {}
    for _, t in terms:
        for name in t.names:
            k = key(name)
            if k in owner:
                field = "term" if name == t.term else "also"
                raise GlossaryError(
                    where[t.term],
                    t.term,
                    field,
                    f"{name!r} is already a name of {owner[k]!r}; each name means one term",
                )
            owner[k] = t.term
    for _, t in terms:
        for name in t.related:
            if key(name) not in owner:
                raise GlossaryError(
                    where[t.term],
                    t.term,
                    "related",
                    f"{name!r} is not a term in the glossary (add it, or use a defined term's name)",
                )
            if owner[key(name)] == t.term:
                raise GlossaryError(where[t.term], t.term, "related", "a term cannot be related to itself")
        for rid in t.resources:
            if rid not in catalog_ids:
                raise GlossaryError(
                    where[t.term],
                    t.term,
                    "resources",
                    f"{rid!r} is not a resource id in content/catalog (see: resource search)",
                )


def load_glossary(
    directory: Path | None = None, catalog_ids: set[str] | None = None
) -> list[tuple[str, Term]]:
    """Every term in ``directory`` (default: content/glossary/terms) as (area, term), files in name order.
    Raises the first GlossaryError found. With `catalog_ids`, resource ids must be among them."""
    folder = GLOSSARY_DIR if directory is None else Path(directory)
    if not folder.is_dir():
        raise GlossaryError(display_path(folder), None, None, "glossary directory not found")
    terms: list[tuple[str, Term]] = []
    where: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")):
        for area, t in _load_file(path):
            where.setdefault(t.term, display_path(path))
            terms.append((area, t))
    if catalog_ids is not None:
        check_terms(terms, catalog_ids, where)
    return terms


def term_to_dict(t: Term) -> dict[str, Any]:
    data: dict[str, Any] = {"term": t.term}
    if t.also:
        data["also"] = list(t.also)
    data["definition"] = t.definition
    if t.related:
        data["related"] = list(t.related)
    if t.resources:
        data["resources"] = list(t.resources)
    data["source"] = t.source
    return data


def dump_glossary_file(area: str, terms: list[Term]) -> str:
    """One glossary file (``<area>.yaml``) as YAML that :func:`load_glossary` reads back."""
    if area not in AREAS:
        raise ValueError(f"unknown area {area!r} (allowed: {', '.join(AREAS)})")
    body = yaml.safe_dump(
        {"area": area, "terms": [term_to_dict(t) for t in terms]},
        sort_keys=False,
        allow_unicode=True,
        width=100,
        default_flow_style=False,
    )
    body = body.replace("\n- term: ", "\n\n- term: ")
    return (
        f"# Glossary: {AREAS[area]}.\n# One entry per term, in our own words; field rules are in "
        "content/glossary/vocabulary.py.\n" + body
    )
