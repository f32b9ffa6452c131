"""Journey files: content/journeys/<journey>.yaml, read and checked before the database is opened.

A journey has an id (the file's name), a title, a summary, the kinds of role it suits (the first is the
default when there is only one) and its steps. A step has an id, a day offset from the start, a title, a
message in our own words, catalog resources (ids that exist in content/catalog), and optionally a
question, a peer introduction (`introduce: true`) and a handover prompt (`handover: true`).
:func:`load_journeys` raises the first problem as a :class:`JourneyError` naming the file, the step and
the field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from bot.errors import StartError
from content.resources.catalog import display_path, first_problem

JOURNEYS_DIR: Path = Path(__file__).resolve().parent.parent.parent / "content" / "journeys"
ROLES: tuple[str, ...] = (
    "chief-of-staff",
    "city-manager",
    "county-administrator",
    "agency-head",
    "department-director",
    "deputy",
    "elected-official",
    "policy-advisor",
    "other",
)
LEVELS: tuple[str, ...] = ("city", "county", "state", "federal")
MAX_DAY = 730
MAX_MESSAGE = 1200
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_FILE_KEYS = ("journey", "title", "summary", "roles", "steps")


class JourneyError(StartError):
    """A problem in a journey file, located by file, step and field (either may be None)."""

    def __init__(self, file: str, step: str | None, field: str | None, problem: str) -> None:
        self.file, self.step, self.field, self.problem = file, step, field, problem
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [f"step '{self.step}'"] if self.step is not None else []
        if self.field is not None:
            where.append(f"field '{self.field}'")
        return f"{self.file}: {', '.join(where)}: {self.problem}" if where else f"{self.file}: {self.problem}"


def _text(value: str, limit: int) -> str:
    value = " ".join(value.split())
    if not value:
        raise ValueError("must not be empty")
    if len(value) > limit:
        raise ValueError(f"{len(value)} characters; keep it to {limit} or fewer")
    return value


class Step(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    day: int
    title: str
    message: str
    resources: tuple[str, ...] = ()
    question: str | None = None
    introduce: bool = False
    handover: bool = False

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.fullmatch(value) or len(value) > 40:
            raise ValueError(
                f"{value!r} is not a short slug (lowercase letters, digits, single hyphens, "
                "e.g. listening-tour)"
            )
        return value

    @field_validator("day")
    @classmethod
    def _day(cls, value: int) -> int:
        if not 0 <= value <= MAX_DAY:
            raise ValueError(f"must be a day offset from 0 to {MAX_DAY}, got {value}")
        return value

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        return _text(value, 120)

    @field_validator("message")
    @classmethod
    def _message(cls, value: str) -> str:
        return _text(value, MAX_MESSAGE)

    @field_validator("question")
    @classmethod
    def _question(cls, value: str | None) -> str | None:
        return None if value is None else _text(value, 300)


class Journey(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    journey: str
    title: str
    summary: str
    roles: tuple[str, ...]
    steps: tuple[Step, ...]

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)

    @property
    def default_role(self) -> str | None:
        return self.roles[0] if len(self.roles) == 1 else None


def _fail(shown: str, step: str | None, field: str | None, problem: str) -> JourneyError:
    return JourneyError(shown, step, field, problem)


def _load_file(path: Path, catalog_ids: set[str] | None) -> Journey:
    shown = display_path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise _fail(
            shown, None, None, f"YAML syntax error{at}: {getattr(exc, 'problem', None) or exc}"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(shown, None, None, f"cannot read file: {exc}") from exc
    if not isinstance(data, dict):
        raise _fail(shown, None, None, "expected a mapping with keys " + ", ".join(_FILE_KEYS))
    for name in data:
        if name not in _FILE_KEYS:
            raise _fail(shown, None, str(name), "unknown top-level key (check the spelling)")
    for name in _FILE_KEYS:
        if name not in data:
            raise _fail(shown, None, name, "required field is missing")
    if data["journey"] != path.stem:
        raise _fail(shown, None, "journey", f"{data['journey']!r} does not match the file name {path.name!r}")
    for name in ("title", "summary"):
        if not isinstance(data[name], str) or not data[name].strip():
            raise _fail(shown, None, name, "must be a non-empty string")
    roles = data["roles"]
    if not isinstance(roles, list) or not roles:
        raise _fail(shown, None, "roles", f"list at least one kind of role (allowed: {', '.join(ROLES)})")
    for role in roles:
        if role not in ROLES:
            raise _fail(shown, None, "roles", f"unknown role {role!r} (allowed: {', '.join(ROLES)})")
    raw_steps = data["steps"]
    if not isinstance(raw_steps, list) or not raw_steps:
        raise _fail(shown, None, "steps", "list at least one step")
    steps: list[Step] = []
    for position, raw in enumerate(raw_steps, start=1):
        label = raw["id"] if isinstance(raw, dict) and isinstance(raw.get("id"), str) else f"#{position}"
        if not isinstance(raw, dict):
            raise _fail(shown, label, None, "each step must be a mapping of field: value")
        try:
            step = Step.model_validate(raw)
        except ValidationError as exc:
            field, problem = first_problem(exc)
            raise _fail(shown, label, field, problem) from exc
        if any(s.id == step.id for s in steps):
            raise _fail(shown, label, "id", "another step already has this id")
        if steps and step.day < steps[-1].day:
            raise _fail(
                shown,
                label,
                "day",
                f"day {step.day} comes before the previous step's day {steps[-1].day}; list steps in order",
            )
        for rid in step.resources:
            if catalog_ids is not None and rid not in catalog_ids:
                raise _fail(shown, label, "resources", f"{rid!r} is not a resource id in content/catalog")
        steps.append(step)
    try:
        return Journey(
            journey=data["journey"],
            title=" ".join(data["title"].split()),
            summary=" ".join(data["summary"].split()),
            roles=tuple(roles),
            steps=tuple(steps),
        )
    except ValidationError as exc:
        field, problem = first_problem(exc)
        raise _fail(shown, None, field, problem) from exc


def load_journeys(directory: Path | None = None, catalog_ids: set[str] | None = None) -> list[Journey]:
    """Every journey in ``directory`` (default: content/journeys), in file-name order."""
    folder = JOURNEYS_DIR if directory is None else Path(directory)
    if not folder.is_dir():
        raise JourneyError(display_path(folder), None, None, "journeys directory not found")
    return [_load_file(path, catalog_ids) for path in sorted(folder.glob("*.yaml"))]


def to_json(journey: Journey) -> dict[str, Any]:
    return journey.model_dump(mode="json")


def from_json(data: dict[str, Any]) -> Journey:
    return Journey.model_validate(data)
