"""Curated resources: the catalog loaded at start, search, curation in chat, ratings, suggestions, privacy."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import text

from bot.app import build_app
from bot.config import Settings
from bot.permissions import Role
from bot.store.db import Store, make_engine
from content.resources.catalog import AREAS, CATALOG_DIR, CatalogError, load_catalog
from tests.harness import Harness

ADD = (
    'resource add --title "Thinking in Public Budgets" --kind guide --areas systems-thinking '
    '--summary "A short guide to seeing a budget as a system of feedback loops." --level introductory '
    '--time "1 hour" --cost free --publisher "Example Institute" --url https://www.example.org/budgets'
)


def _catalog_copy(tmp_path: Path) -> Path:
    target = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, target)
    return target


def _edit(directory: Path, area: str, change: Any) -> None:
    """Load one catalog file, let `change` alter its data, write it back."""
    path = directory / f"{area}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


async def _rows(bot: Harness, sql: str) -> list[Any]:
    return await bot.app.store.run(lambda s: [tuple(r) for r in s.execute(text(sql))])


# ---- the catalog at start --------------------------------------------------------------------------


async def test_a_fresh_install_has_the_whole_catalog(bot: Harness) -> None:
    entries = load_catalog()
    assert await bot.count("resource") == len(entries) == 79
    reply = await bot.ok("resource areas")
    shown = {i.ref: dict(i.fields)["Resources"] for i in reply.items}
    assert set(shown) == set(AREAS)
    expected = {a: sum(a in e.areas for e in entries) for a in AREAS}
    assert {a: int(n) for a, n in shown.items()} == expected and min(expected.values()) > 0


async def test_search_ranks_title_matches_first_and_ids_and_slugs_both_work(bot: Harness) -> None:
    reply = await bot.ok("resource search adaptive")
    titled = [e for e in load_catalog() if "adaptive" in e.title.lower()]
    assert len(titled) >= 2 and len(reply.items) == 5
    head = [i.title for i in reply.items[: len(titled)]]
    assert all("adaptive" in t.lower() for t in head), head
    assert "**Adaptive**" in reply.plain_text() or "**adaptive**" in reply.plain_text()
    by_slug = await bot.ok("resource show heifetz-practice-of-adaptive-leadership")
    ref = by_slug.text.split(":")[0]
    assert ref.startswith("L") and (await bot.ok(f"resource show {ref.lower()}")).text == by_slug.text
    assert ("Slug", "heifetz-practice-of-adaptive-leadership") in by_slug.fields
    more = await bot.ok("resource search leadership --kind book --level practitioner")
    assert more.items and all("book · practitioner" in dict(i.fields)["Kind"] for i in more.items)
    assert more.footer.endswith("--page 2")
    page2 = await bot.ok(more.footer.removeprefix("More: "))
    assert not {i.ref for i in page2.items} & {i.ref for i in more.items}


@pytest.mark.parametrize(
    "area,breakage,field",
    [
        ("systems-thinking", lambda d: d["resources"][0].pop("title"), "title"),
        (
            "adaptive-leadership",
            lambda d: d["resources"][1].update(areas=["adaptive-leadership", "astrology"]),
            "areas",
        ),
        ("cross-sector-collaboration", lambda d: d["resources"][2].update(url="htps//not a url"), "url"),
    ],
)
async def test_a_bad_catalog_stops_the_start_and_leaves_the_store_as_it_was(
    settings: Settings, tmp_path: Path, area: str, breakage: Any, field: str
) -> None:
    catalog = _catalog_copy(tmp_path)
    app = build_app(settings, catalog_dir=catalog)
    before = await app.store.run(
        lambda s: s.execute(text("SELECT slug, title, status FROM resource ORDER BY slug")).all()
    )
    app.close()
    slug = yaml.safe_load((catalog / f"{area}.yaml").read_text())["resources"][
        {"title": 0, "areas": 1, "url": 2}[field]
    ]["id"]
    _edit(catalog, "systems-thinking", lambda d: d["resources"][3].update(title="A changed title"))
    _edit(catalog, area, breakage)
    with pytest.raises(CatalogError) as info:
        build_app(settings, catalog_dir=catalog)
    message = str(info.value)
    assert f"{area}.yaml" in message and f"entry '{slug}'" in message and f"field '{field}'" in message
    store = Store(make_engine(settings.resolved_database_url))  # look without loading any catalog
    try:
        assert before == await store.run(
            lambda s: s.execute(text("SELECT slug, title, status FROM resource ORDER BY slug")).all()
        )
    finally:
        store.close()


def test_the_command_line_reports_a_bad_catalog_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot import cli
    from content.resources import catalog_sync

    catalog = _catalog_copy(tmp_path)
    _edit(catalog, "systems-thinking", lambda d: d["resources"][0].pop("title"))
    monkeypatch.setattr(catalog_sync, "CATALOG_DIR", catalog)
    monkeypatch.setenv("COPBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        assert cli.main(["console"]) == 2
    finally:
        root.handlers[:], root.level = handlers, level
    err = capsys.readouterr().err.strip()
    assert err.startswith("copbot: ") and "systems-thinking.yaml" in err and "field 'title'" in err
    assert len(err.splitlines()) == 1


async def test_a_restart_applies_catalog_edits_keeps_chat_additions_and_retires_removed_entries(
    settings: Settings, tmp_path: Path
) -> None:
    catalog = _catalog_copy(tmp_path)
    app = build_app(settings, catalog_dir=catalog)
    bot = Harness(app)
    added = await bot.ok(ADD)
    new_ref = added.items[0].ref
    await bot.ok('resource edit heifetz-leadership-without-easy-answers --time "a long weekend"')
    app.close()
    files = {p.stem: yaml.safe_load(p.read_text()) for p in catalog.glob("*.yaml")}
    edited = files["systems-thinking"]["resources"][0]["id"]
    removed = files["sustainable-leadership"]["resources"][0]["id"]
    _edit(catalog, "systems-thinking", lambda d: d["resources"][0].update(title="A Renamed Systems Primer"))
    _edit(catalog, "sustainable-leadership", lambda d: d["resources"].pop(0))
    app = build_app(settings, catalog_dir=catalog)
    bot = Harness(app)
    try:
        assert await bot.count("resource") == 80  # 79 from the files, 1 from chat: nothing duplicated
        shown = await bot.ok(f"resource show {edited}")
        assert "A Renamed Systems Primer" in shown.text
        assert ("Time", "a long weekend") in (
            await bot.ok("resource show heifetz-leadership-without-easy-answers")
        ).fields  # an unchanged entry keeps its chat edit
        gone = await bot.ok(f"resource show {removed}")
        assert removed == "boyatzis-mckee-resonant-leadership" and ("Status", "retired") in gone.fields
        assert (await bot.one("resource search resonant")).items == ()
        assert (await bot.ok(f"resource show {new_ref}")).text.endswith("feedback loops.")
        export = await bot.ok("resource export --area systems-thinking")
        body = export.attachments[0].content.decode()
        assert export.attachments[0].filename == "systems-thinking.yaml"
        assert "thinking-in-public-budgets" in body and "A Renamed Systems Primer" in body
        out = tmp_path / "exported"
        out.mkdir()
        for a in (await bot.ok("resource export")).attachments:
            (out / a.filename).write_bytes(a.content)
        reloaded = {e.id for e in load_catalog(out)}  # the export is a valid catalog, chat additions included
        assert "thinking-in-public-budgets" in reloaded and removed not in reloaded and len(reloaded) == 79
    finally:
        app.close()
    _edit(
        catalog,
        "sustainable-leadership",
        lambda d: d["resources"].insert(0, files["sustainable-leadership"]["resources"][0]),
    )
    app = build_app(settings, catalog_dir=catalog)
    try:
        assert ("Status", "retired") not in (await Harness(app).ok(f"resource show {removed}")).fields
    finally:
        app.close()


# ---- one search ------------------------------------------------------------------------------------


async def test_search_returns_practices_and_resources_marked_and_ranked(bot: Harness) -> None:
    await bot.ok(
        'practice share --title "Budget town halls on Zoom" --what "We moved budget hearings online." '
        "--attribution named"
    )
    await bot.ok(
        'practice share --title "Night markets" --what "Vendors, music and a small budget line." '
        "--attribution named"
    )
    reply = await bot.ok("search budget")
    kinds = [dict(i.fields)["Type"] for i in reply.items]
    assert {"Practice", "Resource"} <= set(kinds)
    assert all(i.title.startswith(f"{k}: ") for i, k in zip(reply.items, kinds))
    practices = [i.title for i in reply.items if i.title.startswith("Practice")]
    assert practices == ["Practice: Budget town halls on Zoom", "Practice: Night markets"]
    assert reply.items[0].title == "Practice: Budget town halls on Zoom"  # each kind's best leads
    assert {i.ref[0] for i in reply.items} == {"P", "L"}
    narrowed = await bot.ok("search budget --area systems-thinking")
    assert narrowed.items and all(
        "Systems Thinking" in dict(i.fields).get("Areas", "") for i in narrowed.items
    )
    assert "no words to look for" in await bot.fails("search ?!")


# ---- curation in chat ------------------------------------------------------------------------------


async def test_coordinators_add_edit_retire_and_restore(bot: Harness) -> None:
    form = await bot.ok("resource add")
    assert form.form is not None and {"title", "areas", "summary", "url"} <= {
        f.name for f in form.form.fields
    }
    added = await bot.ok(ADD)
    ref = added.items[0].ref
    assert added.visibility.value == "public" and await bot.count("resource") == 80
    found = await bot.ok("resource search public budgets")
    assert found.items[0].ref == ref
    await bot.ok(
        f'resource edit {ref} --title "Public Budgets as Systems" --areas systems-thinking,'
        "results-based-accountability"
    )
    shown = await bot.ok(f"resource show {ref}")
    assert "Public Budgets as Systems" in shown.text
    assert ("Areas", "Systems Thinking, Results-Based Accountability") in shown.fields
    assert "--url-note: required when 'url' is absent" in await bot.fails(f'resource edit {ref} --url ""')
    await bot.ok(f"resource retire {ref}")
    assert (await bot.one("resource search public budgets")).items == ()
    assert "is retired" in await bot.fails(f"resource rate {ref}", "ana")
    await bot.ok(f"resource restore {ref}")
    assert (await bot.ok("resource search public budgets")).items[0].ref == ref
    actions = [r[0] for r in await _rows(bot, "SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["resource add", "resource edit", "resource retire", "resource restore"]


async def test_bad_input_gets_a_clear_message_and_writes_nothing(bot: Harness) -> None:
    await bot.grant("cy", Role.COORDINATOR)
    before = (await bot.count("resource"), await bot.count("resource_area"), await bot.count("audit_log"))
    assert "Only coordinators can use resource add" in await bot.fails(ADD, "ana")
    long_title = ADD.replace('"Thinking in Public Budgets"', '"' + "x" * 10_000 + '"')
    assert "--title is too long: 10,000 characters, the limit is 300" in await bot.fails(long_title, "cy")
    bad_url = ADD.replace("https://www.example.org/budgets", "www.example.org/budgets")
    assert "--url: not a well-formed http(s) URL" in await bot.fails(bad_url, "cy")
    nobody = ADD.replace('--publisher "Example Institute"', "")
    assert "--author: give an author or a publisher" in await bot.fails(nobody, "cy")
    assert "Missing --areas" in await bot.fails(ADD.replace("--areas systems-thinking", ""), "cy")
    assert "'astrology' is not allowed" in await bot.fails(
        ADD.replace("--areas systems-thinking", "--areas astrology"), "cy"
    )
    assert "'astrology' is not allowed" in await bot.fails("resource search --area astrology")
    assert "Allowed: systems-thinking" in await bot.fails("me interests add astrology", "ana")
    assert "There is no resource L999" in await bot.fails("resource show L999")
    assert "not a resource id" in await bot.fails("resource show L-1!")
    assert "There is no resource no-such-slug" in await bot.fails("resource rate no-such-slug", "ana")
    assert "Only coordinators can use resource retire" in await bot.fails("resource retire L1", "ana")
    assert "Say what to change" in await bot.fails("resource edit L1", "cy")
    assert before == (
        await bot.count("resource"),
        await bot.count("resource_area"),
        await bot.count("audit_log"),
    )
    assert await bot.count("resource_rating") == 0 and await bot.count("member_interest") == 0


# ---- members: share, rate, interests, suggest --------------------------------------------------------


async def test_share_posts_publicly_with_the_members_note(bot: Harness) -> None:
    reply = await bot.ok("resource share heifetz-practice-of-adaptive-leadership read chapter 2 first", "ana")
    assert reply.visibility.value == "public"
    assert reply.text.startswith("Ana recommends L") and "“read chapter 2 first”" in reply.text
    assert reply.items[0].title.startswith("The Practice of Adaptive Leadership")


async def test_each_member_rates_a_resource_once_and_useful_sorts_by_it(bot: Harness) -> None:
    assert "Found useful by 1 member so far" in (await bot.ok("resource rate L40", "ana")).text
    again = await bot.ok("resource rate L40", "ana")
    assert "already rated L40" in again.text and "each member rates a resource once" in again.text
    await bot.ok("resource rate L40", "bob")
    await bot.ok("resource rate L2", "bob")
    assert await bot.count("resource_rating") == 3
    top = await bot.ok("resource search --sort useful")
    assert [i.ref for i in top.items[:2]] == ["L40", "L2"]
    assert ("Found useful by", "2 members") in top.items[0].fields
    ranked = await bot.ok("resource search leadership --sort useful")
    assert (
        ranked.items[0].ref == "L40" or "leadership" not in (await bot.ok("resource show L40")).text.lower()
    )


async def test_suggestions_follow_interests_and_never_repeat_rated_or_sent(bot: Harness) -> None:
    await bot.ok("me interests add systems-thinking", "ana")
    await bot.ok("me interests add adaptive-leadership,systems-thinking", "ana")
    await bot.ok("me interests remove adaptive-leadership", "ana")
    assert (await bot.ok("me interests list", "ana")).text.startswith("You follow: Systems Thinking.")
    systems = {
        r[0]
        for r in await _rows(bot, "SELECT resource_id FROM resource_area WHERE area = 'systems-thinking'")
    }
    await bot.ok(f"resource rate L{min(systems)}", "ana")
    seen: list[str] = []
    for _ in range(3):
        reply = await bot.ok("resource suggest --count 4", "ana")
        seen += [i.ref or "" for i in reply.items]
    assert len(seen) == len(set(seen)) and f"L{min(systems)}" not in seen
    assert {int(ref[1:]) for ref in seen[: len(systems) - 1]} <= systems  # interests first
    assert await bot.count("resource_sent") == len(seen)
    everything = await bot.count("resource")
    rest = await bot.ok("resource suggest --count 10", "bob")
    assert len(rest.items) == 10 and "me interests add" in rest.text  # no interests yet: a hint
    for _ in range(everything):
        reply = await bot.ok("resource suggest --count 10", "ana")
        if not reply.items:
            break
    assert "seen every resource" in reply.text


async def test_suggestions_use_the_next_forums_topic(bot: Harness) -> None:
    await bot.ok('forum set --rule "first Tuesday of every month, 12:00 to 13:00, America/New_York"')
    await bot.ok("forum propose Mapping feedback loops in homelessness services", "bob")
    await bot.ok("forum pick T1")
    reply = await bot.ok("resource suggest --count 1", "cy")
    why = dict(reply.items[0].fields)["Why"]
    assert "next forum's topic (Mapping feedback loops in homelessness services)" in why


# ---- privacy ---------------------------------------------------------------------------------------


async def test_me_data_and_me_forget_cover_resources(bot: Harness) -> None:
    await bot.grant("ana", Role.COORDINATOR)
    await bot.ok(ADD, "ana")
    await bot.ok("resource rate L3", "ana")
    await bot.ok("me interests add systems-thinking", "ana")
    await bot.ok("resource suggest --count 2", "ana")
    data = json.loads((await bot.ok("me data", "ana")).attachments[0].content)["resources"]
    assert [r["title"] for r in data["rated_useful"]] == ["Leadership Without Easy Answers"]
    assert data["interests"] == ["systems-thinking"] and len(data["suggestions_sent"]) == 2
    assert data["resources_added"] == [{"resource": "L80", "title": "Thinking in Public Budgets"}]
    await bot.ok("me forget --confirm", "ana")
    for table in ("resource_rating", "member_interest", "resource_sent"):
        assert await bot.count(table) == 0, table
    assert await _rows(bot, "SELECT slug, added_by FROM resource WHERE id = 80") == [
        ("thinking-in-public-budgets", None)
    ]
