"""Tests for the curated learning-resource catalog (content/resources/catalog.py and content/catalog/)."""

from __future__ import annotations

import collections
import copy
import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from content.resources.catalog import (
    AREAS,
    CATALOG_DIR,
    COSTS,
    KINDS,
    LEVELS,
    CatalogEntry,
    CatalogError,
    display_path,
    dump_catalog_file,
    load_catalog,
)

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "content" / "catalog"

GOOD_ENTRY: dict[str, Any] = {
    "id": "meadows-thinking-in-systems",
    "title": "Thinking in Systems: A Primer",
    "author": "Donella H. Meadows",
    "publisher": "Chelsea Green Publishing",
    "url_note": "no stable page confirmed; search the title",
    "kind": "book",
    "areas": ["systems-thinking"],
    "summary": "An introduction to stocks, flows and feedback. Useful for leadership teams.",
    "level": "introductory",
    "time": "book (about 240 pages)",
    "cost": "paid",
    "checked": datetime.date(2026, 11, 22),
}


def _entry(**changes: Any) -> dict[str, Any]:
    """A valid raw entry with some fields changed (value None removes the field)."""
    data = copy.deepcopy(GOOD_ENTRY)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def _write(directory: Path, area: str, resources: list[dict[str, Any]], **top: Any) -> Path:
    """Write one catalog file; ``top`` overrides top-level keys."""
    document: dict[str, Any] = {
        "area": area,
        "title": AREAS.get(area, "Unknown"),
        "description": "A test area.",
        "resources": resources,
    }
    document.update(top)
    path = directory / f"{area}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def _error(directory: Path) -> CatalogError:
    with pytest.raises(CatalogError) as info:
        load_catalog(directory)
    return info.value


# --- the shipped catalog -------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> list[CatalogEntry]:
    return load_catalog()


def test_shipped_catalog_loads_from_default_directory(shipped: list[CatalogEntry]) -> None:
    assert shipped == load_catalog(SHIPPED_DIR)
    assert {p.stem for p in SHIPPED_DIR.glob("*.yaml")} == set(AREAS)


def test_every_shipped_entry_is_valid(shipped: list[CatalogEntry]) -> None:
    for entry in shipped:
        assert CatalogEntry.model_validate(entry.model_dump()) == entry
        assert entry.kind in KINDS
        assert entry.level in LEVELS
        assert entry.cost in COSTS
        assert set(entry.areas) <= set(AREAS)
        assert entry.author or entry.publisher
        assert 0 < len(entry.summary) <= 600
        assert entry.checked == datetime.date(2026, 11, 22)


def test_every_area_has_at_least_four_entries() -> None:
    for area in AREAS:
        data = yaml.safe_load((SHIPPED_DIR / f"{area}.yaml").read_text(encoding="utf-8"))
        assert len(data["resources"]) >= 4, area


def test_at_least_45_entries_in_total(shipped: list[CatalogEntry]) -> None:
    assert len(shipped) >= 45


def test_ids_and_titles_are_unique(shipped: list[CatalogEntry]) -> None:
    ids = collections.Counter(entry.id for entry in shipped)
    titles = collections.Counter(entry.title.casefold() for entry in shipped)
    assert [i for i, n in ids.items() if n > 1] == []
    assert [t for t, n in titles.items() if n > 1] == []


def test_every_entry_without_url_has_url_note(shipped: list[CatalogEntry]) -> None:
    for entry in shipped:
        if entry.url is None:
            assert entry.url_note, entry.id
        else:
            assert entry.url.startswith(("https://", "http://")), entry.id


# --- broken files: the error names file, entry and field -----------------------------------


def test_yaml_syntax_error_names_file(tmp_path: Path) -> None:
    (tmp_path / "systems-thinking.yaml").write_text(
        "area: systems-thinking\nresources: [\n  - id: x\n", encoding="utf-8"
    )
    err = _error(tmp_path)
    assert err.file.endswith("systems-thinking.yaml")
    assert err.field is None
    assert "YAML syntax error" in str(err)
    assert str(err).startswith(str(tmp_path / "systems-thinking.yaml") + ": ")


def test_missing_required_field(tmp_path: Path) -> None:
    _write(tmp_path, "systems-thinking", [_entry(kind=None)])
    err = _error(tmp_path)
    assert (err.entry, err.field) == ("meadows-thinking-in-systems", "kind")
    assert str(err).endswith(
        "systems-thinking.yaml: entry 'meadows-thinking-in-systems', field 'kind': required field is missing"
    )


def test_missing_id_is_reported_by_position(tmp_path: Path) -> None:
    _write(tmp_path, "systems-thinking", [_entry(), _entry(id=None, title="Other")])
    err = _error(tmp_path)
    assert (err.entry, err.field) == ("#2", "id")
    assert "entry '#2', field 'id': required field is missing" in str(err)


def test_missing_author_and_publisher(tmp_path: Path) -> None:
    _write(tmp_path, "systems-thinking", [_entry(author=None, publisher=None)])
    err = _error(tmp_path)
    assert err.field == "author"
    assert "an author or a publisher" in str(err)


def test_unknown_area(tmp_path: Path) -> None:
    _write(tmp_path, "systems-thinking", [_entry(areas=["systems-thinking", "astrology"])])
    err = _error(tmp_path)
    assert (err.entry, err.field) == ("meadows-thinking-in-systems", "areas")
    assert "field 'areas': unknown area 'astrology'" in str(err)


def test_entry_must_list_its_file_area(tmp_path: Path) -> None:
    _write(tmp_path, "systems-thinking", [_entry(areas=["adaptive-leadership"])])
    err = _error(tmp_path)
    assert err.field == "areas"
    assert "must include this file's area 'systems-thinking'" in str(err)


def test_unknown_kind(tmp_path: Path) -> None:
    _write(tmp_path, "systems-thinking", [_entry(kind="pamphlet")])
    err = _error(tmp_path)
    assert "entry 'meadows-thinking-in-systems', field 'kind': unknown kind 'pamphlet'" in str(err)


def test_unknown_level(tmp_path: Path) -> None:
    _write(tmp_path, "systems-thinking", [_entry(level="expert")])
    err = _error(tmp_path)
    assert "entry 'meadows-thinking-in-systems', field 'level': unknown level 'expert'" in str(err)


def test_unknown_cost(tmp_path: Path) -> None:
    _write(tmp_path, "systems-thinking", [_entry(cost="cheap")])
    err = _error(tmp_path)
    assert "entry 'meadows-thinking-in-systems', field 'cost': unknown cost 'cheap'" in str(err)


@pytest.mark.parametrize(
    "bad_url", ["www.example.org/page", "ftp://example.org/x", "https://", "https://exa mple.org"]
)
def test_malformed_url(tmp_path: Path, bad_url: str) -> None:
    _write(tmp_path, "systems-thinking", [_entry(url=bad_url)])
    err = _error(tmp_path)
    assert str(err).endswith(
        "systems-thinking.yaml: entry 'meadows-thinking-in-systems', field 'url': "
        "not a well-formed http(s) URL (example: https://www.example.org/page)"
    )


def test_missing_url_note_when_url_absent(tmp_path: Path) -> None:
    _write(tmp_path, "systems-thinking", [_entry(url_note=None)])
    err = _error(tmp_path)
    assert (err.entry, err.field) == ("meadows-thinking-in-systems", "url_note")
    assert "field 'url_note': required when 'url' is absent" in str(err)


def test_url_note_optional_when_url_present(tmp_path: Path) -> None:
    _write(tmp_path, "systems-thinking", [_entry(url_note=None, url="https://example.org/a")])
    assert load_catalog(tmp_path)[0].url == "https://example.org/a"


def test_empty_summary(tmp_path: Path) -> None:
    _write(tmp_path, "systems-thinking", [_entry(summary="   ")])
    err = _error(tmp_path)
    assert "entry 'meadows-thinking-in-systems', field 'summary': summary is empty" in str(err)


def test_summary_too_long(tmp_path: Path) -> None:
    _write(tmp_path, "systems-thinking", [_entry(summary="word " * 150)])
    err = _error(tmp_path)
    assert err.field == "summary"
    assert "summary is 749 characters; keep it to 600 or fewer" in str(err)


def test_duplicate_id_across_files(tmp_path: Path) -> None:
    _write(tmp_path, "adaptive-leadership", [_entry(areas=["adaptive-leadership"])])
    _write(tmp_path, "systems-thinking", [_entry(title="A different title")])
    err = _error(tmp_path)
    assert err.file.endswith("systems-thinking.yaml")
    assert (err.entry, err.field) == ("meadows-thinking-in-systems", "id")
    assert "duplicate id; already used in" in str(err)
    assert "adaptive-leadership.yaml" in err.problem


def test_duplicate_title_case_insensitive(tmp_path: Path) -> None:
    _write(tmp_path, "adaptive-leadership", [_entry(areas=["adaptive-leadership"])])
    _write(
        tmp_path,
        "systems-thinking",
        [_entry(id="another-id", title="THINKING IN SYSTEMS: a primer")],
    )
    err = _error(tmp_path)
    assert err.file.endswith("systems-thinking.yaml")
    assert (err.entry, err.field) == ("another-id", "title")
    assert "duplicate title (case-insensitive)" in str(err)


def test_area_must_match_file_name(tmp_path: Path) -> None:
    path = _write(tmp_path, "systems-thinking", [_entry()])
    path.rename(tmp_path / "adaptive-leadership.yaml")
    err = _error(tmp_path)
    assert err.file.endswith("adaptive-leadership.yaml")
    assert (err.entry, err.field) == (None, "area")
    assert str(err).endswith(
        "adaptive-leadership.yaml: field 'area': area 'systems-thinking' does not match "
        "the file name 'adaptive-leadership.yaml'"
    )


def test_unknown_area_file(tmp_path: Path) -> None:
    _write(tmp_path, "astrology", [_entry(areas=["systems-thinking"])])
    err = _error(tmp_path)
    assert err.field == "area"
    assert "unknown area 'astrology'" in str(err)


def test_first_error_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, "systems-thinking", [_entry(), _entry(id="second", kind="x", level="y")])
    err = _error(tmp_path)
    assert (err.entry, err.field) == ("second", "kind")


def test_error_message_format() -> None:
    err = CatalogError(
        "content/catalog/systems-thinking.yaml",
        "meadows-thinking-in-systems",
        "url",
        "not a well-formed http(s) URL (example: https://www.example.org/page)",
    )
    assert str(err) == (
        "content/catalog/systems-thinking.yaml: entry 'meadows-thinking-in-systems', "
        "field 'url': not a well-formed http(s) URL (example: https://www.example.org/page)"
    )


def test_shipped_file_errors_use_project_relative_paths() -> None:
    shown = display_path(CATALOG_DIR / "systems-thinking.yaml")
    assert shown == "content/catalog/systems-thinking.yaml"


def test_error_message_without_entry_or_field() -> None:
    err = CatalogError("content/catalog/x.yaml", None, None, "boom")
    assert str(err) == "content/catalog/x.yaml: boom"


# --- export --------------------------------------------------------------------------------


def test_dump_load_round_trip(tmp_path: Path) -> None:
    entries = [
        CatalogEntry.model_validate(_entry()),
        CatalogEntry.model_validate(
            _entry(
                id="gds-service-manual",
                title="Service Manual",
                author=None,
                publisher="Government Digital Service: UK",
                url="https://www.gov.uk/service-manual",
                url_note=None,
                kind="guide",
                areas=["systems-thinking", "customer-focused-service"],
                summary="It's a 'quoted' summary: with colons, #hashes and\nline breaks.",
                cost="free",
            )
        ),
    ]
    text = dump_catalog_file("systems-thinking", "Systems Thinking", "Test: area.", entries)
    (tmp_path / "systems-thinking.yaml").write_text(text, encoding="utf-8")
    assert load_catalog(tmp_path) == entries
    data = yaml.safe_load(text)
    assert data["area"] == "systems-thinking"
    assert data["description"] == "Test: area."
    assert "url" not in data["resources"][0]


def test_shipped_files_round_trip(tmp_path: Path, shipped: list[CatalogEntry]) -> None:
    for area in AREAS:
        data = yaml.safe_load((SHIPPED_DIR / f"{area}.yaml").read_text(encoding="utf-8"))
        ids = [raw["id"] for raw in data["resources"]]
        entries = [e for i in ids for e in shipped if e.id == i]
        text = dump_catalog_file(area, data["title"], data["description"], entries)
        (tmp_path / f"{area}.yaml").write_text(text, encoding="utf-8")
    assert load_catalog(tmp_path) == shipped


def test_dump_rejects_entry_outside_area() -> None:
    entry = CatalogEntry.model_validate(_entry())
    with pytest.raises(ValueError, match="does not list the area"):
        dump_catalog_file("adaptive-leadership", "Adaptive Leadership", "x", [entry])


def test_entries_are_frozen() -> None:
    entry = CatalogEntry.model_validate(_entry())
    with pytest.raises(ValidationError):
        entry.title = "changed"  # type: ignore[misc]
