"""Shared practices through the dispatcher, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json

import pytest

from bot.messages import Member
from bot.permissions import Role
from tests.harness import Harness

SHARE = (
    'practice share --title "{title}" --what "{what}" --attribution {attr} --level {level} '
    "--tags {tags} --frameworks {frameworks}"
)


async def share(
    bot: Harness,
    who: str = "ana",
    *,
    title: str,
    what: str = "We tried it.",
    attr: str = "named",
    level: str = "local",
    tags: str = "general",
    frameworks: str = "systems-thinking",
    extra: str = "",
) -> str:
    reply = await bot.ok(
        SHARE.format(title=title, what=what, attr=attr, level=level, tags=tags, frameworks=frameworks)
        + " "
        + extra,
        who,
    )
    assert reply.items, reply.text
    return reply.items[0].ref or ""


def titles(reply) -> list[str]:  # type: ignore[no-untyped-def]
    return [i.title for i in reply.items]


async def test_share_then_find_with_another_word_form(bot: Harness) -> None:
    ref = await share(
        bot, title="County partnership for shared analysts", what="We pooled budget analysts with the county."
    )
    assert ref == "P1"
    found = await bot.ok("practice search partnerships", "bob")
    assert titles(found) == ["County partnership for shared analysts"]
    assert "**partnership**" in found.items[0].body  # the matched word is highlighted


async def test_search_ranks_title_matches_first_and_supports_phrases_prefix_and_exclusion(
    bot: Harness,
) -> None:
    await share(bot, title="Budget town halls", what="Residents joined online hearings about the budget.")
    await share(bot, title="Snow plow routes", what="Open data on routes; the budget office helped a little.")
    await share(bot, title="Public private housing fund", what="A fund with banks for housing.")
    ranked = await bot.ok("practice search budget")
    assert titles(ranked) == ["Budget town halls", "Snow plow routes"]
    assert titles(await bot.ok('practice search "private housing"')) == ["Public private housing fund"]
    assert titles(await bot.ok('practice search "housing private"')).count("Public private housing fund") == 0
    assert titles(await bot.ok("practice search hous*")) == ["Public private housing fund"]
    assert titles(await bot.ok("practice search budget -snow")) == ["Budget town halls"]
    assert set(titles(await bot.ok("practice search snow OR housing"))) == {
        "Snow plow routes",
        "Public private housing fund",
    }


async def test_a_search_matching_more_than_the_candidates_ranks_title_matches_and_the_newest(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broad search ranks a bounded set (README: what "best matches first" means for a very broad
    search): on SQLite the title matches and the newest matches. Here the page needs 6 candidates, so the oldest
    match, the strongest in its body, is ranked only when every match is."""
    from bot.store import fulltext

    await share(bot, title="Snow plow routes", what="Budget, budget, budget.")
    await share(bot, title="Budget town halls", what="Residents joined online hearings.")
    for n in range(7):
        await share(
            bot, title=f"Open data {n}", what=f"The budget office helped in round {n} of many long rounds."
        )
    monkeypatch.setattr(fulltext, "CANDIDATES", 1)
    bounded = titles(await bot.ok("practice search budget"))
    assert bounded[0] == "Budget town halls" and len(bounded) == 5
    if bot.app.store.engine.dialect.name == "sqlite":  # PostgreSQL: the first matches its index yields
        assert "Snow plow routes" not in bounded
    monkeypatch.setattr(fulltext, "CANDIDATES", 1000)
    full = titles(await bot.ok("practice search budget"))
    assert full[:2] == ["Budget town halls", "Snow plow routes"]


async def test_filters_narrow_results_and_bad_filter_values_are_explained(bot: Harness) -> None:
    await share(
        bot,
        title="Transit equity plan",
        level="regional",
        tags="transit,equity",
        frameworks="results-based-accountability",
        extra="--sectors public,nonprofit --policy-area transportation",
    )
    await share(
        bot, title="Transit fare pilot", level="local", tags="transit", frameworks="adaptive-leadership"
    )
    assert titles(await bot.ok("practice search transit --level regional")) == ["Transit equity plan"]
    assert titles(await bot.ok("practice search transit --tag Equity")) == ["Transit equity plan"]
    assert titles(await bot.ok("practice search --framework adaptive-leadership")) == ["Transit fare pilot"]
    assert titles(await bot.ok("practice search transit --sector nonprofit")) == ["Transit equity plan"]
    assert titles(await bot.ok("practice search --policy-area transportation")) == ["Transit equity plan"]
    message = await bot.fails("practice search transit --level city")
    assert "--level: 'city' is not allowed" in message and "local, county, regional" in message


async def test_filters_follow_an_edit(bot: Harness) -> None:
    """The filters a practice passes are kept with it (on PostgreSQL in the search index itself): an edit
    that changes its level, tags or frameworks moves it between filters at once."""
    await share(bot, title="Transit equity plan", level="regional", tags="transit,equity")
    await bot.ok(
        "practice edit P1 --level county --tags transit,youth --frameworks adaptive-leadership "
        "--policy-area transportation"
    )
    for filters, found in (
        ("--level regional", []),
        ("--level county", ["Transit equity plan"]),
        ("--tag equity", []),
        ("--tag youth --tag transit", ["Transit equity plan"]),
        ("--framework systems-thinking", []),
        ("--framework adaptive-leadership --policy-area transportation", ["Transit equity plan"]),
    ):
        assert titles(await bot.ok(f"practice search transit {filters}")) == found, filters
    await bot.ok("practice edit P1 --policy-area housing")
    assert titles(await bot.ok("practice search transit --policy-area transportation")) == []
    assert titles(await bot.ok("practice search transit --level county --tag youth")) == [
        "Transit equity plan"
    ]


async def test_practices_shared_before_the_filter_keys_are_found_by_their_filters(bot: Harness) -> None:
    """Migration 0026 gives the practices already stored their filter keys (on PostgreSQL the search
    vector is rebuilt with them)."""
    from alembic import command

    from bot.store.db import alembic_config

    await share(bot, title="Transit equity plan", level="regional", tags="transit,equity")
    await share(bot, title="Transit fare pilot", level="local", tags="transit")
    config = alembic_config(bot.app.store.engine)
    command.downgrade(config, "0025")
    command.upgrade(config, "head")
    assert titles(await bot.ok("practice search transit --tag equity --level regional")) == [
        "Transit equity plan"
    ]
    assert titles(await bot.ok("practice search transit --level local")) == ["Transit fare pilot"]
    assert len((await bot.ok("practice search transit")).items) == 2


async def test_paging(bot: Harness) -> None:
    for n in range(7):
        await share(bot, title=f"Library outreach {n}", what="Library cards for every student.")
    first = await bot.ok("practice search library")
    assert len(first.items) == 5 and first.choices[0].command == "practice search library --page 2"
    second = await bot.ok(first.choices[0].command)
    assert len(second.items) == 2 and not second.choices
    assert not set(titles(first)) & set(titles(second))


async def test_the_share_command_without_options_opens_a_form_and_the_form_saves(bot: Harness) -> None:
    reply = await bot.ok("practice share", "ana")
    assert reply.form is not None and reply.form.command == "practice share"
    names = [f.name for f in reply.form.fields]
    assert names[:3] == ["title", "what", "attribution"]
    saved = await bot.submit(
        "practice share",
        {
            "title": "Onboarding buddies",
            "what": "Pair new hires.",
            "attribution": "role",
            "role_description": "a city manager",
            "frameworks": ["leadership-transitions"],
        },
        "ana",
    )
    assert not saved.is_error, saved.text
    assert "Credited as: a city manager" in saved.text


async def test_bad_input_writes_nothing(bot: Harness) -> None:
    huge = "x" * 10_000
    message = await bot.fails(f"practice share --title {huge} --what y --attribution named", "ana")
    assert "--title is too long: 10,000 characters, the limit is 200" in message
    message = await bot.fails(f"practice share --title {huge * 10} --what y --attribution named", "ana")
    assert "100,052 characters long; the limit is 20,000" in message
    assert "--attribution" in await bot.fails('practice share --title "t" --what "w"', "ana")
    assert "--role-description is needed" in await bot.fails(
        'practice share --title "t" --what "w" --attribution role', "ana"
    )
    assert "not a web address" in await bot.fails(
        'practice share --title "t" --what "w" --attribution named --links ftp:/x', "ana"
    )
    assert "--level" in await bot.fails(
        'practice share --title "t" --what "w" --attribution named --level planet', "ana"
    )
    assert await bot.count("practice") == 0
    assert await bot.count("practice_label") == 0


async def test_anonymous_practice_never_shows_its_author_anywhere(bot: Harness) -> None:
    anon = Member("console", "zed", "Zed Secretperson")
    reply = await bot.ok(
        'practice share --title "Quiet layoffs review" --what "We reviewed layoffs with the '
        'union first." --attribution anonymous --tags workforce',
        anon,
    )
    assert "Secretperson" not in reply.plain_text()
    outputs = [
        (await bot.ok("practice search layoffs")).plain_text(),
        (await bot.ok("practice show P1")).plain_text(),
        (await bot.ok("practice search --tag workforce")).plain_text(),
    ]
    for fmt in ("csv", "json", "markdown"):
        exported = await bot.ok(f"practice export --format {fmt}")
        outputs.append(exported.attachments[0].content.decode())
    for out in outputs:
        assert "Quiet layoffs review" in out
        assert "Secretperson" not in out and "zed" not in out
        assert "anonymous (Chatham House Rule)" in out


async def test_role_only_attribution_and_named_source_link(bot: Harness) -> None:
    await share(
        bot, "ana", title="Budget dashboard", attr="role", extra='--role-description "a budget director"'
    )
    shown = await bot.ok("practice show P1")
    assert ("Shared by", "a budget director") in shown.fields
    assert "Ana" not in shown.plain_text()


async def test_endorse_once_per_member_with_note(bot: Harness) -> None:
    await share(bot, "ana", title="Permit fast lane")
    first = await bot.ok("practice endorse P1 we copied this in 2025", "bob")
    assert "It now has 1 endorsement" in first.text
    again = await bot.ok("practice endorse p1 better note", "bob")
    assert "already endorsed" in again.text and "note was updated" in again.text
    await bot.ok("practice endorse #1", "cy")
    shown = await bot.ok("practice show P1")
    assert ("Endorsed by", "2 members") in shown.fields
    assert "better note" in shown.text
    assert "you shared this practice" in (await bot.fails("practice endorse P1", "ana")).lower()
    assert "There is no practice P99" in await bot.fails("practice endorse P99", "bob")
    assert "not a practice id" in await bot.fails("practice endorse banana", "bob")
    assert await bot.count("practice_endorsement") == 2


async def test_edit_by_author_others_refused_coordinator_audited(bot: Harness) -> None:
    await share(bot, "ana", title="Hiring sprint", tags="hiring")
    edited = await bot.ok('practice edit P1 --title "Hiring sprints" --tags hiring,retention', "ana")
    assert "Updated P1" in edited.text
    assert titles(await bot.ok("practice search retention")) == ["Hiring sprints"]
    assert "Only the author or a coordinator" in await bot.fails("practice edit P1 --title Mine", "bob")
    await bot.grant("cora", Role.COORDINATOR)
    await bot.ok('practice edit P1 --better-off "Vacancies fell by a third"', "cora")
    audit = await bot.ok("audit list")
    assert any("practice edit" in i.body and "P1" in i.body for i in audit.items)
    form = await bot.ok("practice edit P1", "ana")
    assert form.form is not None and form.form.prefilled["title"] == "Hiring sprints"


async def credit(bot: Harness, ref: str = "P1") -> tuple[str, str]:
    """How P1 is credited, as members see it, and whether the author's name shows anywhere in it."""
    shown = await bot.ok(f"practice show {ref}")
    return dict(shown.fields)["Shared by"], shown.plain_text()


async def test_only_the_author_makes_credit_more_revealing(bot: Harness) -> None:
    await share(bot, "ana", title="Quiet budget review", attr="anonymous")
    await bot.grant("cora", Role.COORDINATOR)
    named = await bot.fails("practice edit P1 --attribution named", "cora")
    assert (
        named.startswith(
            "Only the author of P1 can make its credit more revealing (it is anonymous; you asked for named)"
        )
        and "Nothing was changed" in named
    )
    role = await bot.fails(
        'practice edit P1 --attribution role --role-description "a budget director" --title "Renamed"', "cora"
    )
    assert "(it is anonymous; you asked for role only)" in role
    shown, text = await credit(bot)
    assert shown == "anonymous (Chatham House Rule)" and "Ana" not in text and "Renamed" not in text
    # the coordinator may still edit everything else, and submitting the form unchanged is no change of credit
    await bot.ok('practice edit P1 --better-off "Savings found" --attribution anonymous', "cora")
    # the author may open it up, one step or all the way
    await bot.ok('practice edit P1 --attribution role --role-description "a budget director"', "ana")
    assert (await credit(bot))[0] == "a budget director"
    reworded = await bot.fails(
        'practice edit P1 --role-description "the budget director of Springfield"', "cora"
    )
    assert "Only the author of P1 can change how they are described" in reworded
    assert "(it is role only; you asked for named)" in await bot.fails(
        "practice edit P1 --attribution named", "cora"
    )
    await bot.ok("practice edit P1 --attribution named", "ana")
    assert (await credit(bot))[0] == "Ana"


async def test_a_coordinator_may_make_credit_less_revealing(bot: Harness) -> None:
    await share(bot, "ana", title="Open data desk", attr="named")
    await bot.grant("cora", Role.COORDINATOR)
    assert "--role-description is needed" in await bot.fails("practice edit P1 --attribution role", "cora")
    await bot.ok('practice edit P1 --attribution role --role-description "a city clerk"', "cora")
    assert (await credit(bot))[0] == "a city clerk"
    await bot.ok("practice edit P1 --attribution anonymous", "cora")
    shown, text = await credit(bot)
    assert shown == "anonymous (Chatham House Rule)" and "Ana" not in text
    audit = (await bot.ok("audit list")).plain_text()
    assert "practice edit: P1: attribution" in audit
    assert "more revealing" in await bot.fails("practice edit P1 --attribution named", "cora")


async def test_retire_hides_from_search_and_restore_brings_it_back(bot: Harness) -> None:
    await share(bot, "ana", title="Mobile city hall")
    assert "Only the author or a coordinator" in await bot.fails("practice retire P1", "bob")
    await bot.ok("practice retire P1", "ana")
    assert not (await bot.ok("practice search mobile")).items
    mine = await bot.ok("practice mine", "ana")
    assert ("Status", "retired") in mine.items[0].fields
    await bot.ok("practice restore P1", "ana")
    assert titles(await bot.ok("practice search mobile")) == ["Mobile city hall"]


async def test_export_formats_carry_the_practice(bot: Harness) -> None:
    await share(
        bot,
        "ana",
        title="Street tree census",
        what="Volunteers mapped 9,000 trees.",
        extra='--how-much "9,000 trees" --better-off "Canopy plan funded"',
    )
    rows = list(
        csv.DictReader(io.StringIO((await bot.ok("practice export")).attachments[0].content.decode()))
    )
    assert rows[0]["title"] == "Street tree census" and rows[0]["shared_by"] == "Ana"
    assert rows[0]["how_much"] == "9,000 trees"
    data = json.loads((await bot.ok("practice export --format json")).attachments[0].content)
    assert data["practices"][0]["better_off"] == "Canopy plan funded"
    md = (await bot.ok("practice export --format markdown")).attachments[0]
    assert md.filename.endswith(".md") and b"## Street tree census (P1)" in md.content


@pytest.mark.parametrize(
    "query,expected",
    [
        ("partnerships", {"Regional partnership compact"}),
        ("partnering", {"Regional partnership compact"}),
        ('"customer service"', {"Customer service desk redesign"}),
        ("servic*", {"Customer service desk redesign"}),
        ("desk OR compact", {"Customer service desk redesign", "Regional partnership compact"}),
        ("redesign -customer", set()),
        ("budgets", {"Budget forecasting with the state"}),
    ],
)
async def test_same_cases_agree_on_both_engines(bot: Harness, query: str, expected: set[str]) -> None:
    await share(bot, title="Regional partnership compact", what="Three towns partnered on water.")
    await share(bot, title="Customer service desk redesign", what="One desk, one queue.")
    await share(bot, title="Budget forecasting with the state", what="Shared revenue models.")
    assert set(titles(await bot.ok(f"practice search {query}"))) == expected


async def test_fulltext_count_agrees_with_search(bot: Harness) -> None:
    from bot.store import fulltext
    from content.practices.service import PRACTICE_INDEX

    for n in range(3):
        await share(bot, title=f"Water board {n}", what="Rates and meters.")
    await bot.ok("practice retire P3")
    query = fulltext.parse_query("water")
    assert await bot.app.store.run(lambda s: fulltext.count(s, PRACTICE_INDEX, query)) == 2


async def test_search_results_carry_labels_endorsements_and_attribution(bot: Harness) -> None:
    """A page of results is read in one statement; every result still shows its own labels, endorsement
    count and the credit its author chose, in `practice search`, a filters-only list and `search`."""
    await share(bot, "ana", title="Budget lab", tags="budgeting,equity", frameworks="systems-thinking")
    await share(
        bot,
        "ana",
        title="Budget games",
        attr="anonymous",
        tags="engagement",
        frameworks="adaptive-leadership",
    )
    await bot.ok("practice endorse P1 we did this too", "bob")
    await bot.ok("practice endorse P1", "cy")
    for command in ("practice search budget", "practice search --tag equity", "search budget"):
        reply = await bot.ok(command, "bob")
        by_title = {it.title.removeprefix("Practice: "): dict(it.fields) for it in reply.items}
        lab = by_title["Budget lab"]
        assert lab["Tags"] == "budgeting, equity" and lab["Frameworks"] == "systems-thinking", command
        assert lab["Endorsed"] == "2", command
        assert "Ana" in reply.plain_text(), command
        if "Budget games" in by_title:
            assert by_title["Budget games"]["Endorsed"] == "0", command
            assert by_title["Budget games"]["Frameworks"] == "adaptive-leadership", command
    games = (await bot.ok("practice search games", "bob")).plain_text()
    assert "Budget games" in games and "Ana" not in games
