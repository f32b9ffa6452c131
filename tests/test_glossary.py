"""The glossary: its files (checked at start like the catalog), `define` by any name, search widened by
acronyms and synonyms on both databases, and coordinators adding, editing and exporting terms."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import text

from bot.app import build_app
from bot.config import Settings
from bot.permissions import Role
from bot.store import fulltext
from bot.store.db import Store, make_engine
from content.glossary.vocabulary import GLOSSARY_DIR, GlossaryError, count_sentences, load_glossary
from content.resources.catalog import AREAS, load_catalog
from tests.harness import Harness


def test_the_shipped_glossary_covers_the_learning_areas_with_at_least_forty_terms() -> None:
    terms = load_glossary(catalog_ids={e.id for e in load_catalog()})
    assert len(terms) >= 40
    assert {area for area, _ in terms} == set(AREAS)
    names = {t.term for _, t in terms}
    for wanted in (
        "Systems thinking",
        "Adaptive challenge",
        "Technical problem",
        "Results Based Accountability",
        "Population accountability",
        "Performance accountability",
        "How much did we do?",
        "How well did we do it?",
        "Is anyone better off?",
        "Collective impact",
        "Facilitative leadership",
        "Leadership transition",
        "Cross-sector collaboration",
        "Community of practice",
        "Customer-focused service",
        "Sustainable leadership",
    ):
        assert wanted in names
    for _, t in terms:
        assert 2 <= count_sentences(t.definition) <= 4 and t.source and t.resources, t.term


def test_a_query_is_widened_by_synonyms_without_changing_what_else_it_asks() -> None:
    q = fulltext.parse_query("RBA budget -oba")
    wide = fulltext.expand(
        q, {"rba": ["Results Based Accountability"], "oba": ["Outcomes Based Accountability"]}
    )
    assert [[t.words for t in c] for c in wide.clauses] == [
        [("rba",), ("results", "based", "accountability")],
        [("budget",)],
    ]
    assert [t.words for t in wide.excluded] == [("oba",), ("outcomes", "based", "accountability")]
    run = fulltext.expand(
        fulltext.parse_query("results based accountability"), {"results based accountability": ["RBA"]}
    )
    assert [[t.words for t in c] for c in run.clauses] == [[("results", "based", "accountability"), ("rba",)]]


async def test_define_answers_by_term_acronym_or_synonym_and_suggests_close_ones(bot: Harness) -> None:
    rba = await bot.ok("define rba")
    assert rba.text.startswith("Results Based Accountability (RBA")
    fields = dict(rba.fields)
    assert (
        "Population accountability" in fields["Related"]
        and "Trying Hard Is Not Good Enough" in fields["Resources"]
    )
    assert fields["Source"].startswith("Mark Friedman")
    assert (await bot.ok("define Results-Based Accountability")).text == rba.text
    assert (await bot.ok("define quick wins")).text.startswith("Early wins")
    close = await bot.one("define colective impact")
    assert close.is_error and "Did you mean: Collective impact" in close.text
    assert [c.command for c in close.choices][0] == "define Collective impact"
    assert "glossary list" in await bot.fails("define zzzz")


async def test_rba_finds_practices_that_say_results_based_accountability(bot: Harness) -> None:
    await bot.ok(
        'practice share --title "Outcomes everyone shares" --what "Our agencies used Results Based '
        'Accountability to agree three outcomes." --attribution named',
        "ana",
    )
    await bot.ok(
        'practice share --title "Budget hearings online" --what "We moved hearings to video." '
        "--attribution anonymous",
        "bob",
    )
    found = await bot.ok("practice search RBA")
    assert [i.title for i in found.items] == ["Outcomes everyone shares"]
    assert ("Shared by", "Ana") in found.items[0].fields
    assert "**Results**" in found.items[0].body or "**Results Based Accountability**" in found.items[0].body
    # ... and the other way round, and in the combined search.
    await bot.ok(
        'practice share --title "Turning our curve" --what "An RBA session with the county." '
        "--attribution named",
        "cy",
    )
    both = await bot.ok('practice search "results based accountability"')
    assert {i.title for i in both.items} == {"Outcomes everyone shares", "Turning our curve"}
    mixed = await bot.ok("search rba")
    assert {i.title for i in mixed.items} & {
        "Practice: Outcomes everyone shares",
        "Practice: Turning our curve",
    }
    assert not (await bot.ok("practice search RBA -budget --level federal")).items


async def test_coordinators_add_and_edit_terms_and_export_them_as_files(bot: Harness) -> None:
    add = (
        'glossary add --term "Theory of aligned contributions" --area results-based-accountability '
        '--also TOAC --definition "A theory of change for collaboratives. It holds that a population result '
        'moves when leaders align their actions." --source "Jolie Bain Pillsbury, Theory of Aligned '
        'Contributions" --resources pillsbury-theory-of-aligned-contributions --related rba'
    )
    assert "Only coordinators" in await bot.fails(add, "ana")
    await bot.grant("cora", Role.COORDINATOR)
    assert "--definition: has 1 sentence" in await bot.fails(
        add.replace("collaboratives. It", "collaboratives, it"), "cora"
    )
    assert "--resources: 'no-such-book'" in await bot.fails(add + " --resources no-such-book", "cora")
    assert "already names 'Results Based Accountability'" in await bot.fails(
        add.replace("--also TOAC", "--also RBA"), "cora"
    )
    await bot.ok(add, "cora")
    assert (await bot.ok("define toac")).text.startswith("Theory of aligned contributions (TOAC)")
    await bot.ok('glossary edit toac --source "Jolie Bain Pillsbury (2011)"', "cora")
    assert dict((await bot.ok("define toac")).fields)["Source"] == "Jolie Bain Pillsbury (2011)"
    audit = await bot.app.store.run(
        lambda s: s.execute(text("SELECT action FROM audit_log ORDER BY id")).scalars().all()
    )
    assert "glossary add" in audit and "glossary edit" in audit
    [exported] = (await bot.ok("glossary export --area results-based-accountability")).attachments
    data = yaml.safe_load(exported.content)
    entry = next(t for t in data["terms"] if t["term"] == "Theory of aligned contributions")
    assert entry["source"] == "Jolie Bain Pillsbury (2011)" and entry["also"] == ["TOAC"]
    data_export = json.loads((await bot.ok("me data", "cora")).attachments[0].content)
    assert data_export["glossary"]["terms_added"] == ["Theory of aligned contributions"]


async def test_an_exported_file_loads_back(bot: Harness, tmp_path: Path) -> None:
    files = (await bot.ok("glossary export")).attachments
    for f in files:
        (tmp_path / f.filename).write_bytes(f.content)
    again = load_glossary(tmp_path, {e.id for e in load_catalog()})
    assert len(again) == len(load_glossary())


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "terms"
    shutil.copytree(GLOSSARY_DIR, target)
    return target


def _edit(folder: Path, area: str, change: Callable[[dict[str, Any]], Any]) -> None:
    path = folder / f"{area}.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.mark.parametrize(
    "area,breakage,entry,field",
    [
        ("systems-thinking", lambda d: d["terms"][0].pop("source"), "Systems thinking", "source"),
        (
            "adaptive-leadership",
            lambda d: d["terms"][1].update(definition="Too short."),
            "Adaptive challenge",
            "definition",
        ),
        (
            "results-based-accountability",
            lambda d: d["terms"][0].update(resources=["no-such-book"]),
            "Results Based Accountability",
            "resources",
        ),
        (
            "leadership-transitions",
            lambda d: d["terms"][0].update(related=["Astrology"]),
            "Leadership transition",
            "related",
        ),
    ],
)
async def test_a_broken_glossary_file_stops_the_start_and_changes_nothing(
    settings: Settings, tmp_path: Path, area: str, breakage: Any, entry: str, field: str
) -> None:
    folder = _copy(tmp_path)
    app = build_app(settings, glossary_dir=folder)
    before = await app.store.run(
        lambda s: s.execute(text("SELECT slug, definition FROM glossary_term ORDER BY slug")).all()
    )
    app.close()
    _edit(folder, "systems-thinking", lambda d: d["terms"][1].update(source="A changed source"))
    _edit(folder, area, breakage)
    with pytest.raises(GlossaryError) as info:
        build_app(settings, glossary_dir=folder)
    message = str(info.value)
    assert f"{area}.yaml" in message and f"entry '{entry}'" in message and f"field '{field}'" in message
    store = Store(make_engine(settings.resolved_database_url))
    try:
        assert before == await store.run(
            lambda s: s.execute(text("SELECT slug, definition FROM glossary_term ORDER BY slug")).all()
        )
    finally:
        store.close()


async def test_a_restart_applies_file_edits_and_keeps_chat_additions(
    settings: Settings, tmp_path: Path
) -> None:
    folder = _copy(tmp_path)
    app = build_app(settings, glossary_dir=folder)
    bot = Harness(app)
    await bot.grant("cora", Role.COORDINATOR)
    await bot.ok(
        'glossary add --term "Stat meeting cadence" --area results-based-accountability --definition '
        '"How often a stat meeting meets. Weekly is common." --source "Robert D. Behn"',
        "cora",
    )
    app.close()
    _edit(folder, "systems-thinking", lambda d: d["terms"][0].update(also=["systems approach", "ST"]))
    app = build_app(settings, glossary_dir=folder)
    try:
        bot = Harness(app)
        assert (await bot.ok("define st")).text.startswith("Systems thinking")
        assert (await bot.ok("define stat meeting cadence")).text.startswith("Stat meeting cadence")
    finally:
        app.close()
