"""Platform menu entries (bot.commands.MessageAction / GlobalAction) are declared once, on their commands:
the Slack manifest's shortcuts, Slack's shortcut listeners and Discord's message menu all come from the
registry, for copbot's own entries and for any a new feature declares."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import aiohttp
import pytest

from adapters.discord.adapter import DiscordAdapter
from adapters.discord.commands import CHAT_INPUT, MESSAGE_MENU, application_commands, command_paths
from adapters.runtime import start_platforms
from adapters.slack.render import manifest, modal_metadata
from bot.app import FEATURES, build_app, build_registry
from bot.commands import CommandGroup, CommandRegistry, GlobalAction, MessageAction, Opt
from bot.config import load_settings
from bot.context import Context
from bot.feature import Feature
from bot.messages import Member, Reply
from tests import fake_slack as fs
from tests.fake_discord import FakeDiscord
from tests.fakes import FakeClock
from tests.test_discord_adapter import ask, for_discord, utc
from tests.test_slack_adapter import SlackWorld

ADAPTERS = Path(__file__).resolve().parent.parent / "adapters"

# A feature declaring entries of its own: nothing in the adapters knows about it.
bookmarks = CommandGroup("bookmark", "Messages kept for later")


@bookmarks.command("keep", entry=MessageAction("Keep for later", "Keep this message to read later"))
async def bookmark_keep(ctx: Context, author: Member, *, text: str = "", link: str = "") -> Reply:
    """Keep a chat message to read later."""
    return Reply(f"Kept {author.name}'s message: {text} ({link})")


@bookmarks.command("note", form=True, entry=GlobalAction("Write a note", "Write yourself a note"))
async def bookmark_note(ctx: Context, *, text: Annotated[str, Opt(help="the note")]) -> Reply:
    """Write yourself a note."""
    return Reply(f"Noted: {text}")


WITH_BOOKMARKS = FEATURES + (Feature(name="bookmarks", groups=(bookmarks,)),)


def _registries() -> list[CommandRegistry]:
    return [build_registry(), build_registry(WITH_BOOKMARKS)]


@pytest.mark.parametrize("registry", _registries(), ids=["copbot", "with-bookmarks"])
def test_every_declared_entry_and_nothing_else_is_a_slack_shortcut_and_a_discord_entry(
    registry: CommandRegistry,
) -> None:
    entries = registry.entries()
    kinds = {type(e) for e in entries}
    assert kinds == {MessageAction, GlobalAction}  # the walk below covers both kinds
    shortcuts = manifest(registry)["features"]["shortcuts"]
    assert sorted((s["callback_id"], s["type"], s["name"], s["description"]) for s in shortcuts) == sorted(
        (e.id, "message" if isinstance(e, MessageAction) else "global", e.label, e.description)
        for e in entries
    )
    assert len({s["callback_id"] for s in shortcuts}) == len(shortcuts)
    payloads = application_commands(registry)
    menus = [p["name"] for p in payloads if p["type"] != CHAT_INPUT]
    assert sorted(menus) == sorted(e.label for e in registry.entries(MessageAction))
    assert all(p["type"] == MESSAGE_MENU for p in payloads if p["type"] != CHAT_INPUT)
    # Discord has no global shortcuts: a GlobalAction's command is reached by its slash command.
    slash = {p["name"]: p for p in payloads if p["type"] == CHAT_INPUT}
    paths = command_paths(registry)
    for entry in registry.entries(GlobalAction):
        key = next(k for k, path in paths.items() if path == entry.command)
        assert key[0] in slash and (len(key) == 1 or key[1] in {o["name"] for o in slash[key[0]]["options"]})


def test_no_entry_label_is_written_into_an_adapter() -> None:
    sources = {p: p.read_text() for p in ADAPTERS.rglob("*.py")}
    for entry in build_registry().entries():
        assert not [p.name for p, s in sources.items() if entry.label in s], entry.label


def test_an_entry_is_checked_where_it_is_declared() -> None:
    group = CommandGroup("clip", "")
    with pytest.raises(TypeError, match="hands it author, text, link; add the parameter.s. text, link"):

        @group.command("save", entry=MessageAction("Clip it", "Clip this message"))
        async def save(ctx: Context, author: Member) -> Reply:
            """Clip a message."""
            return Reply("clipped")

    with pytest.raises(TypeError, match="needs a label and a description"):

        @group.command("open", entry=GlobalAction(" ", "Open clips"))
        async def open_(ctx: Context) -> Reply:
            """Open clips."""
            return Reply("opened")

    twin = CommandGroup("twin", "")

    @twin.command("keep", entry=MessageAction("keep for later", "The same label in other case"))
    async def twin_keep(ctx: Context, author: Member, *, text: str = "", link: str = "") -> Reply:
        """Keep it too."""
        return Reply("kept")

    registry = build_registry(WITH_BOOKMARKS)
    with pytest.raises(ValueError, match="two commands offer the menu entry 'keep for later'"):
        registry.include(twin)


# ---- at the adapters' real boundaries --------------------------------------------------------------------


# The form each shortcut opens: someone else's message opens a proposal to its author.
FORM_OPENED = {
    "practice.from-message": "practice propose",
    "practice.share": "practice share",
    "bookmark.note": "bookmark note",
}


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackWorld]:
    fake = await fs.FakeSlack().start()
    fake.add_user("U0ANA", "Ana", tz="America/Chicago")
    fake.add_user("U0BOB", "Bob", tz="Europe/London")
    settings = load_settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'copbot.sqlite3'}",
        data_dir=tmp_path / "data",
        timezone="America/New_York",
        slack_bot_token=fs.BOT_TOKEN,
        slack_signing_secret=fs.SIGNING_SECRET,
        slack_api_base_url=fake.base_url,
        port=0,
    )
    clock = FakeClock(utc(2026, 2, 20, 15, 0))
    app = build_app(settings, clock=clock, features=WITH_BOOKMARKS)
    running = await start_platforms(app, http=True)
    http = aiohttp.ClientSession()
    try:
        yield SlackWorld(fake, app, running, clock, http)
    finally:
        await http.close()
        await running.stop()
        app.close()
        await fake.stop()


async def test_every_shortcut_in_the_slack_manifest_is_answered_by_its_command(slack: SlackWorld) -> None:
    shortcuts = manifest(slack.app.registry)["features"]["shortcuts"]
    assert len(shortcuts) == len(FORM_OPENED) + 1
    for shortcut in shortcuts:
        entry = next(e for e in slack.app.registry.entries() if e.id == shortcut["callback_id"])
        opened_before = len(slack.fake.called("views.open"))
        if shortcut["type"] == "message":
            request = fs.message_action(
                "Budget explainers help.",
                author="U0BOB",
                callback_id=shortcut["callback_id"],
                response_url=slack.fake.response_url(),
            )
        else:
            request = fs.global_shortcut(shortcut["callback_id"])
        status, _ = await slack.send(request)
        await slack.settle()
        assert status == 200, shortcut
        if entry.command == "bookmark keep":  # no form: the answer goes back where the shortcut was used
            said = slack.last_response()["text"]
            assert (
                said.startswith("Kept Bob's message: Budget explainers help.")
                and "archives/C0GENERAL" in said
            )
            continue
        opened = slack.fake.called("views.open")
        assert len(opened) == opened_before + 1, shortcut
        assert modal_metadata(opened[-1]["view"]["private_metadata"])["command"] == FORM_OPENED[entry.id]


async def test_every_discord_message_menu_entry_is_answered_by_its_command(tmp_path: Path) -> None:
    settings = load_settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'copbot.sqlite3'}",
        data_dir=tmp_path / "data",
        timezone="America/New_York",
    )
    async with FakeDiscord() as fake:
        app = build_app(
            for_discord(settings, fake), clock=FakeClock(utc(2027, 3, 1, 12, 0)), features=WITH_BOOKMARKS
        )
        adapter = DiscordAdapter(app, guild_ready_timeout=0.05)
        try:
            await adapter.start()
            [put] = fake.calls_to(
                "PUT", f"/applications/{fake.application_id}/guilds/{fake.guild_id}/commands"
            )
            menus = [c["name"] for c in put.json if c["type"] == MESSAGE_MENU]
            assert sorted(menus) == ["Keep for later", "Save as practice"]
            said = await fake.send_user_message(fake.text_channel.id, fake.member, "Budget explainers help.")
            answers: dict[str, Any] = {}
            for name in menus:
                [answers[name]] = await ask(
                    fake, fake.message_context_menu(name, said, user=fake.coordinator)
                )
            kept = answers["Keep for later"]
            assert kept.content.startswith("Kept Ben Member's message: Budget explainers help.")
            assert f"/{fake.text_channel.id}/{said['id']}" in kept.content
            assert answers["Save as practice"].type == 9  # the proposal form, as before
            [stale] = await ask(fake, fake.message_context_menu("Bookmark (old)", said, user=fake.member))
            assert stale.ephemeral and "out of date" in stale.content and "/copbot-sync" in stale.content
        finally:
            await adapter.stop()
            app.close()
