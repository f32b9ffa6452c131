"""The Discord adapter against a fake Discord (tests/fake_discord.py): a real discord.Client connects to it
over REST and the gateway; interactions arrive as real payloads; what the bot sends is recorded there."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from adapters.discord.adapter import DiscordAdapter, DiscordStartError
from adapters.discord.render import form_pages
from bot.app import App, build_app
from bot.commands import OUT_OF_DATE
from bot.config import Settings, load_settings
from bot.messages import Reply
from bot.messenger import DeliveryError
from tests.fake_discord import FakeDiscord, FakeUser, option, subcommand
from tests.fakes import FakeClock
from tests.harness import ClockedHarness

EPHEMERAL = 64
START = "March 14 2027 10:00 Central"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


@pytest.fixture
def sqlite_settings(sqlite_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        _env_file=None,
        database_url=sqlite_url,
        data_dir=tmp_path / "data",
        admins="console:root",
        timezone="America/New_York",
    )


def for_discord(settings: Settings, fake: FakeDiscord, **extra: Any) -> Settings:
    values = dict(
        discord_token=fake.token,
        discord_guild_ids=str(fake.guild_id),
        discord_coordinator_role="Coordinator",
        discord_notice_channel_id=str(fake.reminder_channel.id),
        discord_api_base_url=fake.api_base,
        discord_gateway_url=fake.gateway_url,
    )
    values.update(extra)
    return settings.model_copy(update=values)


class World(ClockedHarness):
    """The app on a hand-moved clock with the Discord adapter connected to the fake."""

    adapter: DiscordAdapter


@asynccontextmanager
async def world(
    settings: Settings, fake: FakeDiscord, clock: FakeClock | None = None, **adapter_options: Any
) -> AsyncIterator[World]:
    clock = clock or FakeClock(utc(2027, 3, 1, 12, 0))
    app = build_app(for_discord(settings, fake), clock=clock)
    adapter = DiscordAdapter(app, guild_ready_timeout=0.05, **adapter_options)
    app.add_messenger(adapter.messenger)
    w = World(app, clock, adapter.messenger)
    w.adapter = adapter
    try:
        await adapter.start()
        yield w
    finally:
        await adapter.stop()
        app.close()


async def ask(fake: FakeDiscord, payload: dict[str, Any], count: int = 1) -> list[Any]:
    iid = await fake.send_interaction(payload)
    return await fake.wait_for_replies(iid, count)


async def network_with_convening(w: World) -> int:
    await w.ok('network create "Digital Leaders"')
    reply = await w.ok(
        f'convening schedule digital-leaders --title "Budget season" --start "{START}" '
        '--duration 90m --place "Room 4B" --agenda "Cuts and keeps"'
    )
    return int(reply.text.split("convening ")[1].split(" ")[0])


# ---- running -------------------------------------------------------------------------------------------


async def test_start_connects_syncs_one_command_per_group_and_stop_closes(
    sqlite_settings: Settings, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    async with world(sqlite_settings, fake) as w:
        assert w.adapter.client is not None and w.adapter.client.is_ready()
        [put] = fake.calls_to("PUT", f"/applications/{fake.application_id}/guilds/{fake.guild_id}/commands")
        names = {c["name"] for c in put.json}
        assert {
            "practice",
            "convening",
            "forum",
            "help",
            "search",
            "cop",
            "copbot-sync",
            "Save as practice",
        } <= names
        cop = next(c for c in put.json if c["name"] == "cop")
        assert [o["name"] for o in cop["options"]] == ["command"] and cop["options"][0]["autocomplete"]
        client = w.adapter.client
    assert client.is_closed() and w.adapter.client is None
    assert fake.token not in caplog.text


def discord_size(node: dict[str, Any]) -> int:
    """A command's size as Discord counts it against its 8,000 cap: the name, description and value of the
    command, of its options (subcommands and groups included) and of their choices, all the way down; of
    a localized field only its longest text (developers/interactions/application-commands, "Limits")."""
    total = 0
    for key in ("name", "description", "value"):
        texts = [str(node[key])] if key in node else []
        texts += list((node.get(f"{key}_localizations") or {}).values())
        total += max((len(t) for t in texts), default=0)
    return total + sum(discord_size(child) for child in [*node.get("options", []), *node.get("choices", [])])


HEADROOM_CAP = 6000  # copbot's own budget per top-level command, a quarter below Discord's 8,000


async def test_every_registered_command_keeps_headroom_under_discords_size_cap(
    sqlite_settings: Settings, fake: FakeDiscord
) -> None:
    async with world(sqlite_settings, fake):
        [put] = fake.calls_to("PUT", f"/applications/{fake.application_id}/guilds/{fake.guild_id}/commands")
    sizes = {c["name"]: discord_size(c) for c in put.json}
    assert {"practice", "resource", "me", "forum", "convening"} <= set(sizes)
    too_big = {name: size for name, size in sizes.items() if size > HEADROOM_CAP}
    assert not too_big, f"over copbot's {HEADROOM_CAP:,}-character budget: {too_big}"
    assert sizes["practice"] > 1000  # the count sees the options, not only the top-level names


@pytest.mark.usefixtures("quick_discord_ready")
async def test_copbot_run_starts_discord_through_the_runtime(
    sqlite_settings: Settings, fake: FakeDiscord
) -> None:
    from adapters.runtime import start_platforms

    app = build_app(for_discord(sqlite_settings, fake))
    running = await start_platforms(app, http=False)
    try:
        adapter = running.adapters["discord"]
        assert app.scheduler.messengers["discord"] is adapter.messenger
        [reply] = await ask(fake, fake.slash_command("forum", [subcommand("next")]))
        assert reply.ephemeral and "forum" in reply.content.lower()
    finally:
        await running.stop()
        app.close()


async def test_a_bad_token_is_a_clear_error_without_the_token(
    sqlite_settings: Settings, fake: FakeDiscord
) -> None:
    app = build_app(for_discord(sqlite_settings, fake, discord_token="not-the-token"))
    adapter = DiscordAdapter(app, guild_ready_timeout=0.05)
    try:
        with pytest.raises(DiscordStartError, match="DISCORD_TOKEN") as raised:
            await adapter.start()
        assert "not-the-token" not in str(raised.value)
    finally:
        await adapter.stop()
        app.close()


# ---- slash commands ------------------------------------------------------------------------------------


async def test_slash_command_with_options_reaches_the_core_and_answers_privately(
    sqlite_settings: Settings, fake: FakeDiscord
) -> None:
    async with world(sqlite_settings, fake) as w:
        conv = await network_with_convening(w)
        [reply] = await ask(
            fake,
            fake.slash_command(
                "convening", [subcommand("rsvp", option("convening", conv), option("answer", "going"))]
            ),
        )
        assert reply.type == 4 and reply.flags & EPHEMERAL
        assert reply.content.startswith("You are going to Budget season")
        shown = await w.ok(f"convening attendees {conv}")
        assert "Ben Member" in shown.items[0].body  # the RSVP is the Discord member's, by their name
        [found] = await ask(
            fake, fake.slash_command("practice", [subcommand("search", option("query", "budget"))])
        )
        assert found.ephemeral and "No practices found for 'budget'" in found.content


async def test_cop_runs_any_command_as_typed_and_group_less_commands_stand_alone(
    sqlite_settings: Settings, fake: FakeDiscord
) -> None:
    async with world(sqlite_settings, fake) as w:
        conv = await network_with_convening(w)
        [reply] = await ask(
            fake, fake.slash_command("cop", [option("command", f"convening rsvp {conv} maybe --remind")])
        )
        assert reply.content.startswith("You might go to Budget season")
        [help_reply] = await ask(fake, fake.slash_command("help", [option("topic", "convening")]))
        assert "convening rsvp" in help_reply.content + str(help_reply.embeds)


async def test_admins_and_coordinators_come_from_discord_roles(
    sqlite_settings: Settings, fake: FakeDiscord
) -> None:
    async with world(sqlite_settings, fake):
        [refused] = await ask(
            fake, fake.slash_command("schedule", [subcommand("unreachable")], user=fake.member)
        )
        assert refused.ephemeral and "Only coordinators" in refused.content
        [listed] = await ask(
            fake, fake.slash_command("schedule", [subcommand("unreachable")], user=fake.coordinator)
        )
        assert "could be reached" in listed.content
        [audit] = await ask(fake, fake.slash_command("audit", [subcommand("list")], user=fake.admin))
        assert "Only admins" not in (audit.content or "")
        [no_sync] = await ask(fake, fake.slash_command("copbot-sync", user=fake.coordinator))
        assert no_sync.ephemeral and "Only admins" in no_sync.content
        before = len(
            fake.calls_to("PUT", f"/applications/{fake.application_id}/guilds/{fake.guild_id}/commands")
        )
        replies = await ask(fake, fake.slash_command("copbot-sync", user=fake.admin), count=2)
        assert replies[0].type == 5 and "Registered" in replies[1].content
        after = fake.calls_to("PUT", f"/applications/{fake.application_id}/guilds/{fake.guild_id}/commands")
        assert len(after) == before + 1


async def test_a_slow_core_is_deferred_privately_and_a_public_reply_replaces_the_placeholder(
    sqlite_settings: Settings, fake: FakeDiscord
) -> None:
    async with world(sqlite_settings, fake) as w:
        w.adapter.interactions.defer_after = 0.0
        [deferred, answer] = await ask(fake, fake.slash_command("convening", [subcommand("list")]), count=2)
        assert deferred.type == 5 and deferred.ephemeral
        assert answer.kind == "followup" and answer.ephemeral and "No convenings" in answer.content
        await w.ok('forum set --rule "first Tuesday of every month, 12:00 to 13:00, America/New_York"')
        replies = await ask(
            fake,
            fake.slash_command(
                "forum",
                [
                    subcommand(
                        "set",
                        option("rule", "first Tuesday of every month, 12:00 to 13:00, America/New_York"),
                    )
                ],
                user=fake.coordinator,
            ),
            3,
        )
        assert [r.kind for r in replies] == ["callback", "delete", "followup"]
        assert not replies[2].ephemeral and "The open forum meets" in replies[2].content


async def test_several_replies_are_a_response_then_follow_ups(
    sqlite_settings: Settings, fake: FakeDiscord
) -> None:
    async with world(sqlite_settings, fake) as w:
        replies = await w.say("home")
        assert len(replies) > 1
        answers = await ask(fake, fake.slash_command("home"), count=len(replies))
        assert [a.kind for a in answers] == ["callback"] + ["followup"] * (len(replies) - 1)
        assert [a.content for a in answers][0] == replies[0].text


async def test_autocomplete_suggests_from_the_store(settings: Settings, fake: FakeDiscord) -> None:
    async with world(settings, fake) as w:  # on SQLite and on PostgreSQL
        conv = await network_with_convening(w)
        await w.ok(
            'practice share --title "Budget halls" --what "Open budget sessions" --attribution named '
            "--tags budgeting,outreach"
        )
        [tags] = await ask(
            fake,
            fake.autocomplete(
                "practice", [subcommand("search", option("tag", "outreach, bud", focused=True))]
            ),
        )
        assert tags.type == 8 and [c["value"] for c in tags.choices] == ["outreach, budgeting"]
        [nets] = await ask(
            fake,
            fake.autocomplete("convening", [subcommand("list", option("network", "digi", focused=True))]),
        )
        assert [c["value"] for c in nets.choices] == ["digital-leaders"]
        [convs] = await ask(
            fake,
            fake.autocomplete(
                "convening", [subcommand("rsvp", option("convening", "budget", 4, focused=True))]
            ),
        )
        assert [c["value"] for c in convs.choices] == [conv] and "Budget season" in convs.choices[0]["name"]
        [paths] = await ask(fake, fake.autocomplete("cop", [option("command", "practice se", focused=True)]))
        assert [c["value"] for c in paths.choices] == ["practice search"]


async def test_ids_are_typed_as_members_see_them_and_suggested_as_they_type(
    settings: Settings, fake: FakeDiscord
) -> None:
    async with world(settings, fake) as w:  # on SQLite and on PostgreSQL
        for title in ("Budget town halls", "Office hours for heads"):
            await w.ok(f'practice share --title "{title}" --what "What we did." --attribution named')
        mine = [
            option("title", "Budget games"),
            option("what", "What we did."),
            option("attribution", "named"),
        ]
        await ask(fake, fake.slash_command("practice", [subcommand("share", *mine)]))  # P3, by the member
        await w.ok("practice edit P1 --sectors public,nonprofit")
        await ask(
            fake,
            fake.slash_command(
                "forum",
                [subcommand("set", option("rule", RULE), option("channel", str(fake.text_channel.id)))],
                user=fake.coordinator,
            ),
        )
        await w.run_until(utc(2027, 3, 2, 17, 1))  # the forum thread is open
        await w.ok("forum propose Keeping staff when we can't hire", "ana")  # topics for the next forum
        await w.ok("forum propose Budget season", "bob")
        await w.ok("forum reply We started weekly office hours for department heads.", "ana")

        # "P2", "p2" and "2" all name practice P2: the option is text, as members see ids everywhere else.
        for typed in ("P2", "p2", "2"):
            [shown] = await ask(
                fake, fake.slash_command("practice", [subcommand("show", option("practice_id", typed))])
            )
            assert shown.content.startswith("P2: Office hours for heads"), (typed, shown.content)
        [voted] = await ask(fake, fake.slash_command("forum", [subcommand("vote", option("topic", "T1"))]))
        assert voted.content.startswith("Voted for T1")
        [bad] = await ask(
            fake, fake.slash_command("practice", [subcommand("show", option("practice_id", "budget"))])
        )
        assert bad.ephemeral and "'budget' is not a practice id; ids look like P12" in bad.content

        async def suggested(command: str, sub: str, name: str, typed: str) -> list[dict[str, Any]]:
            [answer] = await ask(
                fake, fake.autocomplete(command, [subcommand(sub, option(name, typed, focused=True))])
            )
            assert answer.type == 8 and len(answer.choices) <= 25
            return answer.choices

        by_title = await suggested("practice", "show", "practice_id", "budg")
        assert [(c["name"], c["value"]) for c in by_title] == [
            ("P3 Budget games", "P3"),
            ("P1 Budget town halls", "P1"),
        ]
        assert [c["value"] for c in await suggested("practice", "endorse", "practice_id", "P2")][:1] == ["P2"]
        assert [c["value"] for c in await suggested("practice", "edit", "practice_id", "")] == [
            "P3",
            "P2",
            "P1",
        ]
        assert await suggested("practice", "restore", "practice_id", "") == []  # nothing retired yet
        await w.ok("practice retire P1")  # someone else's
        await ask(fake, fake.slash_command("practice", [subcommand("retire", option("practice_id", "P3"))]))
        assert [c["value"] for c in await suggested("practice", "show", "practice_id", "")] == ["P2"]
        assert [c["value"] for c in await suggested("practice", "restore", "practice_id", "")] == [
            "P3"
        ]  # own
        await w.ok("practice restore P1")
        topics = await suggested("forum", "vote", "topic", "staff")
        assert [(c["name"], c["value"]) for c in topics] == [("T1 Keeping staff when we can't hire", "T1")]
        assert [c["value"] for c in await suggested("forum", "unvote", "topic", "t2")] == ["T2"]
        [reply] = await suggested("forum", "capture", "reply", "office")
        assert reply == {"name": "R1 We started weekly office hours for department heads.", "value": "R1"}
        assert "ana" not in reply["name"].lower()  # the words only, never who wrote them

        # A long list of choices, or one to pick several of, is suggested as typed (not a fixed menu).
        assert [c["value"] for c in await suggested("practice", "search", "policy_area", "hous")] == [
            "housing"
        ]
        several = await suggested("practice", "search", "sector", "public, non")
        assert [c["value"] for c in several] == ["public, nonprofit"]
        assert "public" not in [
            c["value"] for c in await suggested("practice", "search", "sector", "public, ")
        ]
        assert len(await suggested("practice", "search", "policy_area", "")) == 15
        [found] = await ask(
            fake,
            fake.slash_command(
                "practice",
                [subcommand("search", option("query", "budget"), option("sector", "public, nonprofit"))],
            ),
        )
        assert [e["title"] for e in found.embeds] == ["Budget town halls"]  # both sectors are read


async def test_consent_ids_are_suggested_only_to_the_member_asked(
    sqlite_settings: Settings, fake: FakeDiscord
) -> None:
    async with world(sqlite_settings, fake) as w:
        await ask(
            fake,
            fake.slash_command(
                "forum",
                [subcommand("set", option("rule", RULE), option("channel", str(fake.text_channel.id)))],
                user=fake.coordinator,
            ),
        )
        await w.run_until(utc(2027, 3, 2, 17, 1))  # the forum thread is open
        await ask(
            fake,
            fake.slash_command("forum", [subcommand("reply", option("text", "We ran budget office hours."))]),
        )
        await ask(
            fake, fake.slash_command("forum", [subcommand("capture", option("reply", "R1"))], user=fake.admin)
        )
        proposal = [
            option("author", str(fake.member.id), 6),
            option("title", "Weekly huddles"),
            option("what", "Ten minutes every Monday."),
        ]
        await ask(fake, fake.slash_command("practice", [subcommand("propose", *proposal)], user=fake.admin))
        assert await w.count("forum_capture_request") == await w.count("practice_proposal") == 1

        async def suggested(command: str, sub: str, name: str, user: Any) -> list[tuple[str, str]]:
            focused = option(name, "", focused=True)
            [answer] = await ask(fake, fake.autocomplete(command, [subcommand(sub, focused)], user=user))
            return [(c["name"], c["value"]) for c in answer.choices]

        assert await suggested("forum", "consent", "request", fake.member) == [
            ("C1 We ran budget office hours.", "C1")
        ]
        assert await suggested("practice", "consent", "proposal", fake.member) == [
            ("Q1 Weekly huddles", "Q1")
        ]
        assert await suggested("forum", "consent", "request", fake.admin) == []  # not theirs to answer
        assert await suggested("practice", "consent", "proposal", fake.admin) == []
        [answered] = await ask(
            fake,
            fake.slash_command(
                "practice", [subcommand("consent", option("proposal", "Q1"), option("answer", "named"))]
            ),
        )
        assert not answered.content.startswith("There is no") and await w.count("practice") == 1
        assert await suggested("practice", "consent", "proposal", fake.member) == []  # answered


async def test_suggestions_that_take_too_long_are_none_rather_than_an_error(
    sqlite_settings: Settings, fake: FakeDiscord
) -> None:
    async with world(sqlite_settings, fake) as w:
        await w.ok('practice share --title "Budget town halls" --what "What we did." --attribution named')
        w.adapter.interactions.suggest_within = 0.0  # the core cannot answer within the time Discord allows
        [late] = await ask(
            fake,
            fake.autocomplete("practice", [subcommand("show", option("practice_id", "bud", focused=True))]),
        )
        assert late.type == 8 and late.choices == []
        w.adapter.interactions.suggest_within = 2.0
        [timely] = await ask(
            fake,
            fake.autocomplete("practice", [subcommand("show", option("practice_id", "bud", focused=True))]),
        )
        assert [c["value"] for c in timely.choices] == ["P1"]


async def test_a_form_after_a_deferral_opens_from_a_button(
    sqlite_settings: Settings, fake: FakeDiscord
) -> None:
    async with world(sqlite_settings, fake) as w:
        w.adapter.interactions.defer_after = 0.0
        [deferred, offer] = await ask(fake, fake.slash_command("practice", [subcommand("share")]), count=2)
        assert deferred.type == 5 and offer.ephemeral
        button = next(
            b for row in offer.components for b in row["components"] if b["label"] == "Open the form"
        )
        [opened] = await ask(fake, fake.component(button["custom_id"], message=offer.message))
        assert opened.type == 9 and opened.data["title"].endswith("(1/4)")
        [refused] = await ask(
            fake, fake.component(button["custom_id"], message=offer.message, user=fake.admin)
        )
        assert refused.ephemeral and "expired" in refused.content  # another member cannot open it


# ---- buttons -------------------------------------------------------------------------------------------


async def test_an_rsvp_button_still_works_after_a_restart_with_a_new_client(
    sqlite_settings: Settings, fake: FakeDiscord
) -> None:
    async with world(sqlite_settings, fake) as w:
        conv = await network_with_convening(w)
        [shown] = await ask(
            fake, fake.slash_command("convening", [subcommand("show", option("convening", conv))])
        )
        buttons = [b for row in shown.components for b in row["components"]]
        going = next(b for b in buttons if b["label"] == "Going")
        assert going["custom_id"] == f"cop:convening rsvp {conv} going"
        message = shown.message
        first_client = w.adapter.client
    async with world(sqlite_settings, fake) as w:  # a new App, adapter and discord.Client on the same store
        assert w.adapter.client is not first_client
        [pressed] = await ask(fake, fake.component(going["custom_id"], message=message))
        assert pressed.ephemeral and pressed.content.startswith("You are going to Budget season")
        answers = await w.app.store.run(lambda s: s.execute(text("SELECT answer FROM rsvp")).scalars().all())
        assert answers == ["going"]


async def test_a_long_button_command_is_stored_and_found_after_a_restart(
    sqlite_settings: Settings, fake: FakeDiscord
) -> None:
    long_query = "budget " + "x" * 120
    async with world(sqlite_settings, fake) as w:
        for n in range(6):
            await w.ok(
                f'practice share --title "Budget {n}" --what "budget {long_query} {n}" --attribution named'
            )
        [page] = await ask(
            fake, fake.slash_command("practice", [subcommand("search", option("query", long_query))])
        )
        next_page = next(b for row in page.components for b in row["components"] if b["label"] == "Next page")
        assert next_page["custom_id"].startswith("cop#")
    async with world(sqlite_settings, fake):
        [second] = await ask(fake, fake.component(next_page["custom_id"], message=page.message))
        assert "Practices for" in second.content and "6–6" in second.content


async def test_bad_input_gets_a_private_clear_message_and_changes_nothing(
    sqlite_settings: Settings, fake: FakeDiscord
) -> None:
    async with world(sqlite_settings, fake) as w:
        conv = await network_with_convening(w)
        [shown] = await ask(
            fake, fake.slash_command("convening", [subcommand("show", option("convening", conv))])
        )
        [too_many] = await ask(fake, fake.slash_command("forum", [subcommand("next", option("count", 99))]))
        assert too_many.ephemeral and "--count: must be at most 12, got 99" in too_many.content
        await w.ok(f"convening cancel {conv}")
        [stale] = await ask(fake, fake.component(f"cop:convening rsvp {conv} going", message=shown.message))
        assert stale.ephemeral and "was cancelled; you cannot answer it" in stale.content
        [unknown] = await ask(fake, fake.component("cop#0123456789abcdef", message=shown.message))
        assert unknown.ephemeral and unknown.content == OUT_OF_DATE  # the core's one wording
        assert await w.count("rsvp") == 0


# ---- forms ---------------------------------------------------------------------------------------------


def fill(modal: dict[str, Any], values: dict[str, Any]) -> list[dict[str, Any]]:
    """The components Discord sends back when a member submits `modal` with `values` (by input id); inputs
    not named keep what the modal was filled with."""
    out = []
    for label in modal["components"]:
        inner = label["component"]
        kept = inner.get("value") or [o["value"] for o in inner.get("options", []) if o.get("default")]
        value = values.get(inner["custom_id"], kept)
        if inner["type"] == 3:
            chosen = value if isinstance(value, list) else ([value] if value else [])
            out.append(
                {"type": 18, "component": {"type": 3, "custom_id": inner["custom_id"], "values": chosen}}
            )
        else:
            out.append(
                {"type": 18, "component": {"type": 4, "custom_id": inner["custom_id"], "value": value or ""}}
            )
    return out


async def submit_pages(
    fake: FakeDiscord, first_modal: dict[str, Any], values: dict[str, Any], user: FakeUser | None = None
) -> list[Any]:
    """Submit every page of a multi-page form, pressing Continue in between; the last page's replies."""
    modal = first_modal
    while True:
        replies = await ask(
            fake, fake.modal_submit(modal["custom_id"], components=fill(modal, values), user=user)
        )
        buttons = [b for row in replies[0].components for b in row["components"]]
        nxt = next((b for b in buttons if b["label"] == "Continue"), None)
        if nxt is None:
            return replies
        assert replies[0].ephemeral
        [opened] = await ask(fake, fake.component(nxt["custom_id"], message=replies[0].message, user=user))
        assert opened.type == 9
        modal = opened.data


SHARED = {
    "title": "Budget town halls",
    "what": "We held open budget sessions online.",
    "attribution": "named",
    "sectors": ["public", "nonprofit"],
    "tags": "budget, outreach",
}


async def test_a_modal_submission_creates_a_practice(sqlite_settings: Settings, fake: FakeDiscord) -> None:
    async with world(sqlite_settings, fake) as w:
        [opened] = await ask(fake, fake.slash_command("practice", [subcommand("share")]))
        assert opened.type == 9 and opened.data["title"].endswith("(1/4)")
        [saved] = await submit_pages(fake, opened.data, SHARED)
        assert not saved.ephemeral and saved.content.startswith("Saved P1: Budget town halls")
        found = await w.ok("practice search town halls")
        assert found.items[0].title == "Budget town halls"
        assert ("Tags", "budget, outreach") in found.items[0].fields


def buttons_of(reply: Any) -> dict[str, dict[str, Any]]:
    return {b["label"]: b for row in reply.components for b in row["components"]}


def page_one(modal: dict[str, Any]) -> set[str]:
    return {c["component"]["custom_id"] for c in modal["components"]}


async def test_a_mistake_on_page_one_is_named_right_after_page_one_and_fixed_there(
    sqlite_settings: Settings, fake: FakeDiscord
) -> None:
    async with world(sqlite_settings, fake) as w:
        [opened] = await ask(fake, fake.slash_command("practice", [subcommand("share")]))
        assert opened.data["title"].endswith("(1/4)") and "role_description" in page_one(opened.data)
        # Role-only credit without saying which role: the core's rule, named on page 1, not after page 4.
        role_only = {**SHARED, "attribution": "role", "role_description": ""}
        [refused] = await ask(
            fake, fake.modal_submit(opened.data["custom_id"], components=fill(opened.data, role_only))
        )
        assert refused.ephemeral and refused.content.startswith(
            "Please fix “Role description” on page 1 of 4: --role-description is needed "
            "when --attribution is role"
        )
        assert 'e.g. "a chief of staff in a large city"' in refused.content
        assert set(buttons_of(refused)) == {"Fix it"}  # no Continue: page 2 waits until page 1 is right
        [again] = await ask(
            fake, fake.component(buttons_of(refused)["Fix it"]["custom_id"], message=refused.message)
        )
        assert again.type == 9 and again.data["title"].endswith("(1/4)")
        inputs = {c["component"]["custom_id"]: c["component"] for c in again.data["components"]}
        assert inputs["title"]["value"] == SHARED["title"] and inputs["what"]["value"] == SHARED["what"]
        chosen = [o["value"] for o in inputs["attribution"]["options"] if o.get("default")]
        assert chosen == ["role"]  # what was given is kept
        [saved] = await submit_pages(fake, again.data, {**role_only, "role_description": "a city manager"})
        assert saved.content.startswith("Saved P1: Budget town halls")
        assert (await w.ok("practice show P1")).fields[0] == ("Shared by", "a city manager")


async def test_an_empty_title_or_a_bad_link_is_refused_on_its_own_page_with_an_example(
    sqlite_settings: Settings, fake: FakeDiscord
) -> None:
    async with world(sqlite_settings, fake) as w:
        [opened] = await ask(fake, fake.slash_command("practice", [subcommand("share")]))
        [refused] = await ask(
            fake,
            fake.modal_submit(
                opened.data["custom_id"], components=fill(opened.data, {**SHARED, "title": ""})
            ),
        )
        assert refused.content.startswith("Please fix “Title” on page 1 of 4: Missing --title")
        assert "Example: practice share --title" in refused.content
        # Page 1 right: Continue to page 2, then page 3 with a link that is not one.
        [saved_1] = await ask(
            fake, fake.modal_submit(opened.data["custom_id"], components=fill(opened.data, SHARED))
        )
        assert saved_1.content.startswith("Page 1 of 4 is saved") and set(buttons_of(saved_1)) == {"Continue"}
        [page_2] = await ask(
            fake, fake.component(buttons_of(saved_1)["Continue"]["custom_id"], message=saved_1.message)
        )
        [saved_2] = await ask(
            fake, fake.modal_submit(page_2.data["custom_id"], components=fill(page_2.data, SHARED))
        )
        [page_3] = await ask(
            fake, fake.component(buttons_of(saved_2)["Continue"]["custom_id"], message=saved_2.message)
        )
        assert "links" in page_one(page_3.data)
        bad_link = {**SHARED, "links": "https://www.example.gov/report, our intranet"}
        [refused_3] = await ask(
            fake, fake.modal_submit(page_3.data["custom_id"], components=fill(page_3.data, bad_link))
        )
        assert refused_3.content.startswith("Please fix “Links” on page 3 of 4: --links: ")
        assert "'our intranet' is not a web address. Example: --links https://" in refused_3.content
        [fixed_3] = await ask(
            fake, fake.component(buttons_of(refused_3)["Fix it"]["custom_id"], message=refused_3.message)
        )
        assert fixed_3.data["title"].endswith("(3/4)")
        [saved] = await submit_pages(
            fake, fixed_3.data, {**SHARED, "links": "https://www.example.gov/report"}
        )
        assert saved.content.startswith("Saved P1: Budget town halls")
        assert await w.count("practice") == 1


async def test_a_rule_of_the_whole_command_is_named_at_the_end_and_fix_it_reopens_its_page(
    sqlite_settings: Settings, fake: FakeDiscord
) -> None:
    async with world(sqlite_settings, fake) as w:
        [opened] = await ask(fake, fake.slash_command("practice", [subcommand("share")]))
        links = ", ".join(f"https://www.example.gov/{n}" for n in range(6))  # each is fine; six are too many
        [refused] = await submit_pages(fake, opened.data, {**SHARED, "links": links})
        assert refused.ephemeral and refused.content.startswith("Please fix “Links”: --links: give at most 5")
        assert await w.count("practice") == 0
        [again] = await ask(
            fake, fake.component(buttons_of(refused)["Fix it"]["custom_id"], message=refused.message)
        )
        assert again.type == 9 and again.data["title"].endswith("(3/4)")
        inputs = {c["component"]["custom_id"]: c["component"] for c in again.data["components"]}
        assert inputs["links"]["value"] == links  # what was given is kept
        [saved] = await submit_pages(fake, again.data, {**SHARED, "links": "https://www.example.gov/0"})
        assert saved.content.startswith("Saved P1: Budget town halls")


async def test_save_as_practice_opens_the_form_for_your_own_message_and_asks_the_author_otherwise(
    sqlite_settings: Settings, fake: FakeDiscord
) -> None:
    async with world(sqlite_settings, fake) as w:
        said = await fake.send_user_message(
            fake.text_channel.id, fake.member, "We paired new directors with peers. It cut turnover in half."
        )
        link = f"https://discord.com/channels/{fake.guild_id}/{fake.text_channel.id}/{said['id']}"
        [own] = await ask(fake, fake.message_context_menu("Save as practice", said, user=fake.member))
        inputs = {c["component"]["custom_id"]: c["component"] for c in own.data["components"]}
        assert own.type == 9 and inputs["title"]["value"] == "We paired new directors with peers"
        assert inputs["what"]["value"].endswith("cut turnover in half.")
        [other] = await ask(fake, fake.message_context_menu("Save as practice", said, user=fake.coordinator))
        fields = {c["component"]["custom_id"]: c["component"] for c in other.data["components"]}
        assert sorted(fields) == ["link", "title", "what"] and fields["link"]["value"] == link
        [asked] = await submit_pages(fake, other.data, {"title": "Peer pairing"}, user=fake.coordinator)
        # The author as Discord shows people: a mention, never their raw id or a stale name.
        assert asked.ephemeral and f"Asked <@{fake.member.id}> whether it may be saved" in asked.content
        assert await w.count("practice") == 0  # nothing is saved before the author answers
        await w.app.scheduler.tick()
        [dm] = fake.dm_messages(fake.member)
        assert f"<@{fake.coordinator.id}> would like to save what you wrote" in dm["content"]
        assert "This is proposal Q1" in dm["content"] and "practice consent Q1 named" in dm["content"]
        anonymous = next(
            b for row in dm["components"] for b in row["components"] if b["label"] == "Anonymous"
        )
        [thanks] = await ask(fake, fake.component(anonymous["custom_id"], message=dm, user=fake.member))
        assert "Saved as P1: Peer pairing. Credited as: anonymous" in thanks.content
        shown = await w.ok("practice show P1")
        assert shown.text.startswith("P1: Peer pairing")


# ---- the forum -----------------------------------------------------------------------------------------


class ThreadMessages:
    """Watches what the adapter hands the core for thread messages: the message events it took on (in the
    order it took them) and, once the core has dealt with each, its text."""

    def __init__(self, app: App) -> None:
        self.taken: list[str] = []
        self._heard: asyncio.Queue[str] = asyncio.Queue()
        claim, heard = app.claim_event, app.heard

        async def claim_event(platform: str, event_id: str) -> bool:
            if event_id.startswith("message:"):
                self.taken.append(event_id)
            return await claim(platform, event_id)

        async def heard_and_done(member: Any, place: Any, text_: str, link: str | None) -> bool:
            kept = await heard(member, place, text_, link)
            self._heard.put_nowait(text_)
            return kept

        app.claim_event, app.heard = claim_event, heard_and_done  # type: ignore[method-assign]

    async def next_heard(self) -> str:
        return await asyncio.wait_for(self._heard.get(), 10)


RULE = "first Tuesday of every month, 12:00 to 13:00, America/New_York"


async def test_the_scheduler_opens_the_forum_as_a_tagged_forum_post_and_records_replies(
    sqlite_settings: Settings, fake: FakeDiscord
) -> None:
    async with world(sqlite_settings, fake, message_content=True) as w:
        [set_reply] = await ask(
            fake,
            fake.slash_command(
                "forum",
                [subcommand("set", option("rule", RULE), option("channel", fake.forum_channel.mention))],
                user=fake.coordinator,
            ),
        )
        assert "The open forum meets" in set_reply.content and not set_reply.ephemeral
        await w.run_until(utc(2027, 3, 2, 17, 1))  # 12:00 in New York: the thread opens
        posts = fake.threads(fake.forum_channel.id)
        opened = next(t for t in posts if t["name"].startswith("Open forum 2027-03-02"))
        assert opened["applied_tags"] == [str(fake.forum_channel.tags["Open forum"])]
        assert any(
            "starts in one hour" in (fake.messages_in(int(t["id"])) or [{}])[0].get("content", "")
            for t in posts
        )  # reminders are posts of their own in a forum channel
        watched = ThreadMessages(w.app)
        await fake.send_user_message(int(opened["id"]), fake.bot_user, "bots are ignored")
        member_message = await fake.send_user_message(
            int(opened["id"]), fake.member, "We started budget office hours."
        )
        assert await watched.next_heard() == "We started budget office hours."
        # Messages are handled in the order they arrive, so the bot's, sent first, was already let go.
        assert watched.taken == [f"message:{member_message['id']}"]
        assert await w.count("forum_reply") == 1
        await w.run_until(utc(2027, 3, 2, 18, 5))  # the wrap-up goes in the thread
        wrap = [m for m in fake.messages_in(int(opened["id"])) if "Wrap-up" in m["content"]]
        assert len(wrap) == 1 and "Took part: 1 member." in wrap[0]["content"]


async def test_forum_set_tags_decides_the_tags_of_every_forum_post(
    sqlite_settings: Settings, fake: FakeDiscord
) -> None:
    async with world(sqlite_settings, fake) as w:
        [set_reply] = await ask(
            fake,
            fake.slash_command(
                "forum",
                [
                    subcommand(
                        "set",
                        option("rule", RULE),
                        option("channel", fake.forum_channel.mention),
                        option("tags", "question, Resolved, Not a tag here"),
                    )
                ],
                user=fake.coordinator,
            ),
        )
        assert "Its posts are tagged: question, Resolved, Not a tag here" in set_reply.content
        await w.run_until(utc(2027, 3, 2, 17, 1))  # reminded (a day, an hour before), and the thread opened
        posts = fake.threads(fake.forum_channel.id)
        assert len(posts) == 3 and any(t["name"].startswith("Open forum 2027-03-02") for t in posts)
        tags = fake.forum_channel.tags
        assert all(t["applied_tags"] == [str(tags["Question"]), str(tags["Resolved"])] for t in posts)
        # Back to the default (no --tags): the tags named like forum, as before.
        await ask(
            fake,
            fake.slash_command(
                "forum",
                [subcommand("set", option("rule", RULE), option("channel", fake.forum_channel.mention))],
                user=fake.coordinator,
            ),
        )
        await w.run_until(utc(2027, 4, 6, 16, 1))  # April's thread opens (New York is on summer time)
        april = [
            t for t in fake.threads(fake.forum_channel.id) if t["name"].startswith("Open forum 2027-04-06")
        ]
        assert [t["applied_tags"] for t in april] == [[str(tags["Open forum"])]]


async def test_without_message_content_a_reply_that_mentions_the_bot_is_recorded(
    sqlite_settings: Settings, fake: FakeDiscord
) -> None:
    async with world(sqlite_settings, fake) as w:
        assert not w.adapter.intents().message_content
        await ask(
            fake,
            fake.slash_command(
                "forum",
                [subcommand("set", option("rule", RULE), option("channel", str(fake.text_channel.id)))],
                user=fake.coordinator,
            ),
        )
        await w.run_until(utc(2027, 3, 2, 17, 1))
        [thread] = [t for t in fake.threads(fake.text_channel.id) if t["name"].startswith("Open forum")]
        starter = fake.messages[int(thread["id"])]  # a text channel: a message, then a thread from it
        assert "The open forum is open" in starter["content"]
        watched = ThreadMessages(w.app)
        await fake.send_user_message(int(thread["id"]), fake.member, "Not seen without the intent.")
        mention = await fake.send_user_message(
            int(thread["id"]), fake.member, f"<@{fake.bot_user.id}> Stay interviews work."
        )
        assert await watched.next_heard() == "Stay interviews work."
        # Messages are handled in the order they arrive: the first one, without its text, was let go.
        assert watched.taken == [f"message:{mention['id']}"]
        rows = await w.app.store.run(
            lambda s: s.execute(text("SELECT text FROM forum_reply")).scalars().all()
        )
        assert rows == ["Stay interviews work."]


async def test_a_post_resent_after_its_sent_mark_was_lost_is_one_message_on_discord(
    settings: Settings, fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As if the process died after Discord accepted the forum's opening and before it was marked sent:
    the post is sent again once its claim lapses, with the same nonce, so Discord keeps one message (and
    its thread)."""
    from scheduling.engine import outbox

    real_mark_sent, lost = outbox.mark_sent, []

    def crash_once(session, done):  # type: ignore[no-untyped-def]
        if not lost and any(c.kind == "forum.open" for c, _, _ in done):
            lost.append(True)
            raise RuntimeError("the process died before the sent mark")
        return real_mark_sent(session, done)

    monkeypatch.setattr(outbox, "mark_sent", crash_once)
    async with world(settings, fake) as w:  # on SQLite and on PostgreSQL
        forum_set = subcommand("set", option("rule", RULE), option("channel", str(fake.text_channel.id)))
        await ask(fake, fake.slash_command("forum", [forum_set], user=fake.coordinator))
        await w.run_until(utc(2027, 3, 2, 17, 0))  # 12:00 in New York: sent, but its mark is lost
        assert (
            lost
            and await w.app.store.run(
                lambda s: s.execute(
                    text("SELECT state FROM planned_post WHERE key = 'forum:2027-03-02:open'")
                ).scalar()
            )
            == "claimed"
        )
        await w.run_until(utc(2027, 3, 2, 17, 1))  # its claim has lapsed: sent again
        opened = [m for m in fake.messages_in(fake.text_channel.id) if "open forum is open" in m["content"]]
        sends = [
            c
            for c in fake.calls_to("POST", f"/channels/{fake.text_channel.id}/messages")
            if "open forum is open" in c.json["content"]
        ]
        assert len(opened) == 1 and len(sends) == 2 and sends[0].json["nonce"] == sends[1].json["nonce"]
        assert [t["id"] for t in fake.threads(fake.text_channel.id)] == [opened[0]["id"]]
        assert (
            await w.app.store.run(
                lambda s: s.execute(
                    text("SELECT state FROM planned_post WHERE key = 'forum:2027-03-02:open'")
                ).scalar()
            )
            == "sent"
        )


# ---- convenings as Guild Scheduled Events ---------------------------------------------------------------


async def test_a_convening_creates_moves_and_cancels_its_scheduled_event(
    settings: Settings, fake: FakeDiscord
) -> None:
    async with world(settings, fake) as w:  # on SQLite and on PostgreSQL
        conv = await network_with_convening(w)
        await w.app.scheduler.tick()
        [event] = fake.scheduled_events.values()
        assert (event["name"], event["entity_type"], event["status"]) == ("Budget season", 3, 1)
        assert event["entity_metadata"] == {"location": "Room 4B"}
        assert event["scheduled_start_time"].startswith("2027-03-14T15:00:00")
        assert event["scheduled_end_time"].startswith("2027-03-14T16:30:00")
        assert (
            event["description"].startswith("Cuts and keeps") and f"convening:{conv}" in event["description"]
        )
        await w.ok(f'convening move {conv} --to "March 21 2027 11:00 Central"')
        await w.ok(f'convening edit {conv} --title "Budget season, take two"')
        await w.app.scheduler.tick()
        assert list(fake.scheduled_events) == [int(event["id"])]  # the same event, changed
        assert event["scheduled_start_time"].startswith("2027-03-21T16:00:00")
        assert event["name"] == "Budget season, take two"
        await w.ok(f"convening cancel {conv}")
        await w.app.scheduler.tick()
        assert event["status"] == 4 and len(fake.scheduled_events) == 1
        rows = await w.app.store.run(
            lambda s: s.execute(
                text("SELECT platform, scope_id, external_id, synced_sequence FROM convening_mirror")
            ).all()
        )
        assert [tuple(r) for r in rows] == [("discord", str(fake.guild_id), event["id"], 3)]
        calls = len(fake.calls)
        await w.app.scheduler.tick()
        assert len(fake.calls) == calls  # nothing repeats
        posts = await w.app.store.run(
            lambda s: s.execute(
                text(
                    "SELECT state, count(*) FROM planned_post WHERE kind = 'convening.mirror' GROUP BY state"
                )
            ).all()
        )
        assert dict(posts) == {"sent": 4}


async def test_a_mirror_retried_after_a_lost_answer_finds_its_event_instead_of_doubling(
    sqlite_settings: Settings, fake: FakeDiscord
) -> None:
    async with world(sqlite_settings, fake) as w:
        conv = await network_with_convening(w)
        await w.app.scheduler.tick()
        await w.app.store.run(
            lambda s: s.execute(text("DELETE FROM convening_mirror"))
        )  # as if never recorded
        await w.ok(f'convening edit {conv} --place "Room 5"')
        await w.app.scheduler.tick()
        [event] = fake.scheduled_events.values()
        assert event["entity_metadata"] == {"location": "Room 5"}


# ---- direct messages -----------------------------------------------------------------------------------


async def rsvp_going(fake: FakeDiscord, conv: int, user: FakeUser) -> None:
    [reply] = await ask(
        fake,
        fake.slash_command(
            "convening", [subcommand("rsvp", option("convening", conv), option("answer", "going"))], user=user
        ),
    )
    assert "You are going" in reply.content


async def test_a_429_on_a_dm_is_waited_out_the_dm_arrives_once_and_commands_are_not_held_up(
    sqlite_settings: Settings, fake: FakeDiscord
) -> None:
    async with world(sqlite_settings, fake) as w:
        conv = await network_with_convening(w)
        await rsvp_going(fake, conv, fake.member)
        dm_path = f"/channels/{fake.dm_channel_for(fake.member)['id']}/messages"
        fake.fail_next("POST", dm_path, status=429, retry_after=0.05)
        retry = fake.hold_next("POST", dm_path)  # the try after the 429 waits at the fake until released
        sending = asyncio.create_task(w.run_until(utc(2027, 3, 7, 16, 1)))  # the 7-day reminder falls due
        await asyncio.wait_for(retry.arrived.wait(), 10)
        # The reminder is still undelivered (and stays so until released): a command is answered meanwhile.
        [reply] = await ask(fake, fake.slash_command("convening", [subcommand("list")]))
        assert "upcoming convening" in reply.content and fake.dm_messages(fake.member) == []
        retry.release.set()
        await sending
        [dm] = fake.dm_messages(fake.member)
        assert dm["content"].startswith("Reminder: Budget season starts in 7 days")
        assert [c.status for c in fake.calls_to("POST", dm_path)] == [429, 200]


async def test_a_member_who_takes_no_dms_is_mentioned_in_the_notice_channel_once_per_reminder(
    sqlite_settings: Settings, fake: FakeDiscord
) -> None:
    async with world(sqlite_settings, fake) as w:
        conv = await network_with_convening(w)
        await rsvp_going(fake, conv, fake.no_dm_user)
        await w.run_until(utc(2027, 3, 7, 16, 1))
        await w.app.scheduler.tick()
        [notice] = fake.messages_in(fake.reminder_channel.id)
        assert notice["content"].startswith(
            f"<@{fake.no_dm_user.id}> Reminder: Budget season starts in 7 days"
        )
        assert "allow direct messages from server members" in notice["content"]
        assert [m["id"] for m in notice["mentions"]] == [str(fake.no_dm_user.id)]
        assert fake.dm_messages(fake.no_dm_user) == []
        [listed] = await ask(
            fake, fake.slash_command("schedule", [subcommand("unreachable")], user=fake.coordinator)
        )
        assert "1 member could not be reached" in listed.content
        assert "Nadia NoDMs" in str(listed.embeds)
        await w.run_until(utc(2027, 3, 13, 16, 1))  # the next reminder: one more notice, without the hint
        notices = fake.messages_in(fake.reminder_channel.id)
        assert len(notices) == 2 and "allow direct messages" not in notices[1]["content"]
        fake.no_dm_user.accepts_dms = True  # they turn DMs on: the next DM arrives and they leave the list
        await w.adapter.messenger.send_dm(str(fake.no_dm_user.id), Reply("Hello again"))
        assert [m["content"] for m in fake.dm_messages(fake.no_dm_user)] == ["Hello again"]
        assert "Every member the bot wrote to could be reached" in (await w.ok("schedule unreachable")).text


async def test_without_a_notice_channel_an_undeliverable_dm_fails_for_good(
    sqlite_settings: Settings, fake: FakeDiscord
) -> None:
    async with world(sqlite_settings, fake) as w:
        w.app.settings.discord_notice_channel_id = ""
        with pytest.raises(DeliveryError) as failed:
            await w.adapter.messenger.send_dm(str(fake.no_dm_user.id), Reply("Hello"))
        assert failed.value.retryable is False and "DISCORD_NOTICE_CHANNEL_ID" in str(failed.value)
        assert fake.messages_in(fake.reminder_channel.id) == []


async def test_a_members_dm_channel_is_opened_once_however_many_members_are_written_to(
    sqlite_settings: Settings, fake: FakeDiscord
) -> None:
    """More members than discord.py keeps DM channels for (128): the second round of DMs opens none."""
    async with world(sqlite_settings, fake) as w:
        members = [fake.add_member(f"reader{i}") for i in range(140)]
        for round_ in (1, 2):
            for m in members:
                await w.adapter.messenger.send_dm(str(m.id), Reply(f"Round {round_}"))
        assert len(fake.calls_to("POST", "/users/@me/channels")) == len(members)
        for m in members:
            assert [d["content"] for d in fake.dm_messages(m)] == ["Round 1", "Round 2"]


async def test_under_a_sustained_rate_limit_no_dm_is_lost_or_doubled(
    sqlite_settings: Settings, fake: FakeDiscord
) -> None:
    """Discord answers 429 beyond 5 requests a second: every member still gets each DM exactly once.
    (The first round opens the DM channels, which discord.py paces by the route's headers; the second
    reuses them, so its messages come faster than the limit.)"""
    async with world(sqlite_settings, fake) as w:
        members = [fake.add_member(f"limited{i}") for i in range(15)]
        for round_ in (1, 2):
            if round_ == 2:
                fake.limit_sustained(5, 1.0)  # the global limit: 429s with no headers to pace by beforehand
            await asyncio.gather(
                *(w.adapter.messenger.send_dm(str(m.id), Reply(f"Round {round_}")) for m in members)
            )
        assert fake.rate_limited, "the limit was never reached, so this test proves nothing"
        for m in members:
            assert [d["content"] for d in fake.dm_messages(m)] == ["Round 1", "Round 2"]


# ---- the pure pieces -------------------------------------------------------------------------------------


@pytest.mark.parametrize("demo", [False, True], ids=["real-clock", "demo-clock"])
def test_every_registry_command_has_one_slash_command_within_discord_limits(demo: bool) -> None:
    from adapters.discord.commands import (
        COMMAND_CHARS_BUDGET,
        COMMAND_CHARS_MAX,
        _chars,
        application_commands,
        command_paths,
    )
    from bot.app import build_registry

    registry = build_registry(demo=demo)
    payloads = application_commands(registry)
    assert all(discord_size(p) == _chars(p) <= COMMAND_CHARS_BUDGET < COMMAND_CHARS_MAX for p in payloads)
    assert len(payloads) <= 100
    paths = command_paths(registry)
    assert sorted(paths.values()) == sorted(c.path for c in registry)
    tops = {p["name"]: p for p in payloads}
    for key in paths:
        node = tops[key[0]]
        if len(key) == 2:
            assert any(o["name"] == key[1] for o in node["options"])
    practice_tags = next(o for o in tops["practice"]["options"] if o["name"] == "share")["options"]
    assert next(o for o in practice_tags if o["name"] == "tags")["autocomplete"] is True


def test_typed_options_become_the_equivalent_command_line() -> None:
    from adapters.discord.commands import command_line

    line = command_line("convening rsvp", {"convening": 3, "answer": "maybe", "remind": True})
    assert line == "convening rsvp --convening 3 --answer maybe --remind=yes"
    assert (
        command_line("practice search", {"query": 'town "halls"'})
        == "practice search --query 'town \"halls\"'"
    )
    assert (
        command_line("forum propose", {"topic": "we can't hire"}) == 'forum propose --topic "we can\'t hire"'
    )


def test_submitted_values_need_no_modal_objects() -> None:
    from adapters.discord.render import submitted_values
    from bot.app import build_registry

    form = build_registry().commands["practice share"].to_form()
    values = submitted_values(
        form,
        [
            {"type": 18, "component": {"type": 4, "custom_id": "title", "value": "  Halls "}},
            {"type": 18, "component": {"type": 3, "custom_id": "sectors", "values": ["public"]}},
            {"type": 18, "component": {"type": 3, "custom_id": "attribution", "values": ["named"]}},
            {"type": 1, "components": [{"type": 4, "custom_id": "region", "value": ""}]},
        ],
    )
    assert values == {"title": "Halls", "sectors": ["public"], "attribution": "named", "region": None}


def test_forum_tags_prefer_forum_then_the_title_then_the_first_when_required() -> None:
    from scheduling.forum.models import ForumSettings
    from scheduling.forum.service import post_tags

    pick_forum_tags = post_tags(ForumSettings(cadence="", platform="discord", channel_id="1")).choose
    tags = ["Question", "Budget", "Open forum"]
    assert pick_forum_tags(tags, "Anything", False) == ["Open forum"]
    assert pick_forum_tags(tags[:2], "Budget cuts", False) == ["Budget"]
    assert pick_forum_tags(tags[:1], "Anything", False) == []
    assert pick_forum_tags(tags[:1], "Anything", True) == ["Question"]


async def test_forms_in_progress_belong_to_their_member_and_expire() -> None:
    from adapters.discord.forms import PendingForms
    from bot.app import build_registry

    forms = PendingForms(ttl=60)
    form = build_registry().commands["practice share"].to_form()
    pending = forms.open(1, form)
    assert len(form_pages(form)) == pending.pages == 4 and pending.next_page() == 1
    pending.done.update({1, 2})
    assert pending.next_page() == 3 and pending.page_of("source") == 4
    assert forms.get(pending.key, 2) is None and forms.get(pending.key, 1) is pending
    pending.created -= 61
    assert forms.get(pending.key, 1) is None


async def test_everyday_sentences_with_apostrophes_work_in_cop_command(
    sqlite_settings: Settings, fake: FakeDiscord
) -> None:
    from tests import everyday

    async with world(sqlite_settings, fake) as w:
        await ask(
            fake,
            fake.slash_command(
                "forum",
                [subcommand("set", option("rule", RULE), option("channel", str(fake.text_channel.id)))],
                user=fake.coordinator,
            ),
        )
        await w.ok(
            'practice share --title "Office hours" --what "Weekly, for department heads." --attribution named'
        )
        await w.run_until(utc(2027, 3, 2, 17, 1))  # the forum thread is open
        for line, answer in zip(everyday.LINES, everyday.ANSWERS):
            [reply] = await ask(fake, fake.slash_command("cop", [option("command", line)]))
            assert reply.content.startswith(answer), (line, reply.content)
        assert await everyday.stored(w.app) == everyday.STORED


async def test_an_unknown_command_in_cop_command_reads_as_everywhere_else(
    sqlite_settings: Settings, fake: FakeDiscord
) -> None:
    from tests.test_messages_read_well import UNKNOWN

    async with world(sqlite_settings, fake):
        [reply] = await ask(fake, fake.slash_command("cop", [option("command", "practice serch budget")]))
        assert reply.ephemeral and reply.content == UNKNOWN
