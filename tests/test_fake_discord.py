"""The fake Discord server works with a real discord.py 2.7 client: gateway login, REST, interactions,
forum posts, scheduled events, rate limits, DM refusals and gateway resumes."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import io
import logging
from collections.abc import AsyncIterator

import aiohttp
import discord
import pytest
from discord import app_commands

from tests.fake_discord import FakeDiscord, option, subcommand, subcommand_group


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        with server.patch_discord_py():
            yield server
        assert server.server_errors == []


def make_client() -> discord.Client:
    # discord.py waits guild_ready_timeout (default 2 s) after the last GUILD_CREATE before on_ready.
    return discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05)


@contextlib.asynccontextmanager
async def running(
    client: discord.Client, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[discord.Client]:
    """client.start() as a task in this loop; on exit close it and check that nothing leaked."""
    caplog.set_level(logging.WARNING)
    task = asyncio.create_task(client.start(fake.token))
    try:
        async with asyncio.timeout(5):
            while not client.is_ready():
                if task.done():
                    task.result()  # surface a login/connect failure
                await asyncio.sleep(0.01)
        yield client
    finally:
        await client.close()
        await asyncio.wait_for(task, 5)
    await asyncio.sleep(0.05)
    gc.collect()  # an unclosed aiohttp session logs "Unclosed client session" on the asyncio logger here
    leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert not leftover, leftover
    problems = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith(("asyncio", "aiohttp"))
        or "Unclosed" in r.getMessage()
        or r.levelno >= logging.ERROR
    ]
    assert not problems, problems


async def wait_until(condition, timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_client_logs_in_and_sees_the_guild(fake: FakeDiscord, caplog: pytest.LogCaptureFixture) -> None:
    client = make_client()
    async with running(client, fake, caplog):
        guild = client.get_guild(fake.guild_id)
        assert guild is not None and guild.name == fake.guild_name
        assert client.user.id == fake.bot_user.id and client.application_id == fake.application_id
        assert {c.name for c in guild.text_channels} == {"general", "reminders"}
        forum = guild.get_channel(fake.forum_channel.id)
        assert isinstance(forum, discord.ForumChannel)
        assert [t.name for t in forum.available_tags] == ["Open forum", "Question", "Resolved"]
        assert guild.get_role(fake.admin_role_id).permissions.administrator
        assert guild.get_role(fake.coordinator_role_id).name == "Coordinator"
        assert guild.default_role.id == fake.guild_id
        assert guild.me is not None  # without the members intent GUILD_CREATE carries only the bot's member
        member = await guild.fetch_member(fake.admin.id)
        assert member.get_role(fake.admin_role_id) is not None
    startup = [(c.method, c.path) for c in fake.calls[:2]]
    assert startup == [("GET", "/users/@me"), ("GET", "/oauth2/applications/@me")]
    assert fake.unknown_calls() == []
    connection = fake.gateway_connections[0]
    assert (connection["v"], connection["encoding"], connection["compress"]) == ("10", "json", "zlib-stream")
    assert fake.identifies[0]["intents"] == discord.Intents.default().value and fake.heartbeats >= 1


async def test_channel_messages_files_threads_and_echo(
    fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client()
    seen: list[str] = []

    async def on_message(message: discord.Message) -> None:
        seen.append(message.content)  # the cached Message is mutated later by MESSAGE_UPDATE

    client.event(on_message)
    async with running(client, fake, caplog):
        channel = client.get_channel(fake.text_channel.id)
        hello = f"Hello {fake.member.mention}"
        sent = await channel.send(
            hello, embed=discord.Embed(title="Agenda"), allowed_mentions=discord.AllowedMentions(users=False)
        )
        [call] = fake.calls_to("POST", "/channels/{id}/messages")
        assert call.json["content"] == hello and call.json["embeds"][0]["title"] == "Agenda"
        assert "users" not in call.json["allowed_mentions"]["parse"]
        assert sent.id == int(fake.messages_in(fake.text_channel.id)[0]["id"])
        assert sent.mentions[0].id == fake.member.id

        ics = discord.File(io.BytesIO(b"BEGIN:VCALENDAR"), "event.ics")
        reply = await sent.reply("with a file", file=ics)
        upload = fake.calls_to("POST", f"/channels/{fake.text_channel.id}/messages")[-1]
        assert upload.files[0]["filename"] == "event.ics"
        assert int(upload.json["message_reference"]["message_id"]) == sent.id
        assert await reply.attachments[0].read() == b"BEGIN:VCALENDAR"  # served by the fake

        edited = await sent.edit(content="Hello again")
        assert edited.content == "Hello again" and fake.messages[sent.id]["content"] == "Hello again"
        thread = await sent.create_thread(name="Discussion")
        assert thread.id == sent.id and fake.channels[sent.id]["parent_id"] == str(fake.text_channel.id)
        await reply.delete()
        assert reply.id in fake.deleted_message_ids

        await fake.send_user_message(fake.text_channel.id, fake.member, "a member speaks")
        await wait_until(lambda: len(seen) == 3)
        # Without the message_content intent, Discord blanks others' messages that don't mention the bot.
        assert seen == [hello, "with a file", ""]
        with pytest.raises(discord.HTTPException) as empty:
            await channel.send("")
        assert empty.value.code == 50006
    assert fake.unknown_calls() == []


async def test_slash_command_reaches_the_tree_and_answers_ephemerally(
    fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client()
    tree = app_commands.CommandTree(client)
    guild = discord.Object(fake.guild_id)
    cop = app_commands.Group(name="cop", description="Community of practice")
    event = app_commands.Group(name="event", description="Events", parent=cop)
    received: dict[str, object] = {}

    @event.command(name="move", description="Move an event")
    async def move(interaction: discord.Interaction, when: str, notify: bool = False) -> None:
        received.update(
            when=when, notify=notify, user=interaction.user, admin=interaction.permissions.administrator
        )
        await interaction.response.send_message(f"Moved to {when}", ephemeral=True)
        await interaction.followup.send("Everyone was told", ephemeral=True)
        await interaction.edit_original_response(content=f"Moved to {when} (done)")

    tree.add_command(cop, guild=guild)
    async with running(client, fake, caplog):
        synced = await tree.sync(guild=guild)
        assert [c.name for c in synced] == ["cop"]
        assert fake.guild_commands[fake.guild_id][0]["options"][0]["name"] == "event"

        options = [
            subcommand_group(
                "event", subcommand("move", option("when", "friday 3pm"), option("notify", True))
            )
        ]
        iid = await fake.send_interaction(fake.slash_command("cop", options, user=fake.admin))
        callback, followup, edit = await fake.wait_for_replies(iid, count=3)
        assert (callback.kind, callback.type, callback.content) == ("callback", 4, "Moved to friday 3pm")
        assert callback.ephemeral and callback.flags == 64
        assert followup.kind == "followup" and followup.ephemeral and followup.content == "Everyone was told"
        assert edit.kind == "edit" and edit.message["content"] == "Moved to friday 3pm (done)"
        assert received["when"] == "friday 3pm" and received["notify"] is True and received["admin"] is True
        assert isinstance(received["user"], discord.Member) and received["user"].id == fake.admin.id
        assert fake.messages_in(fake.text_channel.id) == []  # ephemeral replies are not channel messages
    assert fake.unknown_calls() == []


async def test_components_modals_autocomplete_and_context_menus(
    fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client()
    tree = app_commands.CommandTree(client)
    guild = discord.Object(fake.guild_id)
    submitted: dict[str, str] = {}

    class Intro(discord.ui.Modal, title="Introduce yourself"):
        about = discord.ui.TextInput(label="About you", custom_id="about")

        async def on_submit(self, interaction: discord.Interaction) -> None:
            submitted["about"] = self.about.value
            await interaction.response.send_message("Thanks!", ephemeral=True)

    @tree.command(name="network", description="Pick a network", guild=guild)
    async def network(interaction: discord.Interaction, name: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send(f"Joined {name}")

    @network.autocomplete("name")
    async def network_names(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        names = [n for n in ("Data", "Design") if n.lower().startswith(current)]
        return [app_commands.Choice(name=n, value=n) for n in names]

    @tree.context_menu(name="Save resource", guild=guild)
    async def save(interaction: discord.Interaction, message: discord.Message) -> None:
        await interaction.response.send_message(f"Saved {message.content}", ephemeral=True)

    @tree.context_menu(name="Profile", guild=guild)
    async def profile(interaction: discord.Interaction, member: discord.Member) -> None:
        text = f"{member.name} has {len(member.roles)} roles"
        await interaction.response.send_message(text, ephemeral=True)

    async def on_interaction(interaction: discord.Interaction) -> None:
        if interaction.type is not discord.InteractionType.component:
            return
        if interaction.data["custom_id"] == "intro":
            await interaction.response.send_modal(Intro())
        elif interaction.data["custom_id"] == "rsvp":
            await interaction.response.edit_message(content="Welcome! (1 going)")
        elif interaction.data["custom_id"] == "later":
            await interaction.response.defer()
            await interaction.edit_original_response(content="Welcome! (closed)", view=None)

    client.event(on_interaction)
    async with running(client, fake, caplog):
        await tree.sync(guild=guild)
        # timeout=None: a View with a timeout leaves its timer task running after client.close()
        view = discord.ui.View(timeout=None).add_item(discord.ui.Button(label="Introduce", custom_id="intro"))
        posted = await client.get_channel(fake.text_channel.id).send("Welcome!", view=view)
        assert fake.messages[posted.id]["components"][0]["components"][0]["custom_id"] == "intro"

        press = await fake.send_interaction(fake.component("intro", message=posted.id, user=fake.member))
        [modal] = await fake.wait_for_replies(press)
        assert modal.type == 9 and modal.data["title"] == "Introduce yourself"
        form = fake.modal_submit(modal.data["custom_id"], {"about": "I map rivers"}, user=fake.member)
        [thanks] = await fake.wait_for_replies(await fake.send_interaction(form))
        assert submitted == {"about": "I map rivers"} and thanks.ephemeral

        rsvp = await fake.send_interaction(fake.component("rsvp", message=posted.id))
        [update] = await fake.wait_for_replies(rsvp)
        assert update.type == 7 and fake.messages[posted.id]["content"] == "Welcome! (1 going)"
        later = await fake.send_interaction(fake.component("later", message=posted.id))
        ack, closed = await fake.wait_for_replies(later, count=2)
        assert (ack.type, closed.kind) == (6, "edit") and closed.message["id"] == str(posted.id)
        assert fake.messages[posted.id]["content"] == "Welcome! (closed)"
        assert fake.messages[posted.id]["components"] == []

        typing = fake.autocomplete("network", [option("name", "d", focused=True)])
        [choices] = await fake.wait_for_replies(await fake.send_interaction(typing))
        assert choices.type == 8 and [c["value"] for c in choices.choices] == ["Data", "Design"]

        deferred = await fake.send_interaction(fake.slash_command("network", [option("name", "Data")]))
        defer, followup = await fake.wait_for_replies(deferred, count=2)
        assert defer.type == 5 and defer.ephemeral and followup.message["content"] == "Joined Data"
        # the first follow-up fills the deferred "thinking" message, which stays ephemeral
        assert followup.message["id"] == defer.message["id"] and followup.ephemeral

        menu = fake.message_context_menu("Save resource", fake.messages[posted.id])
        [saved] = await fake.wait_for_replies(await fake.send_interaction(menu))
        assert saved.content == "Saved Welcome! (closed)"
        card = fake.user_context_menu("Profile", fake.coordinator, user=fake.admin)
        [shown] = await fake.wait_for_replies(await fake.send_interaction(card))
        assert shown.content == "cora has 2 roles"  # @everyone + Coordinator
    assert fake.unknown_calls() == []


async def test_forum_post_with_tags(fake: FakeDiscord, caplog: pytest.LogCaptureFixture) -> None:
    client = make_client()
    async with running(client, fake, caplog):
        forum = client.get_channel(fake.forum_channel.id)
        tag = next(t for t in forum.available_tags if t.name == "Open forum")
        created = await forum.create_thread(
            name="How do you run retros?", content="Share your formats", applied_tags=[tag]
        )
        [call] = fake.calls_to("POST", "/channels/{id}/threads")
        assert call.json["applied_tags"] == [str(fake.forum_channel.tags["Open forum"])]
        assert call.json["message"]["content"] == "Share your formats"
        assert call.query == {"use_nested_fields": "1"}
        assert created.thread.applied_tags == [tag] and created.message.id == created.thread.id
        assert [t["name"] for t in fake.threads(fake.forum_channel.id)] == ["How do you run retros?"]
        guild = client.get_guild(fake.guild_id)
        await wait_until(lambda: guild.get_thread(created.thread.id) is not None)  # THREAD_CREATE echo
        await created.thread.edit(archived=True, locked=True)
        assert fake.channels[created.thread.id]["thread_metadata"]["archived"] is True
        with pytest.raises(discord.HTTPException) as bad:
            await forum.create_thread(name="No tag", content="x", applied_tags=[discord.Object(1)])
        assert bad.value.code == 50035


async def test_scheduled_event_created_moved_cancelled_deleted(
    fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client()
    start = dt.datetime(2031, 5, 6, 15, 0, tzinfo=dt.UTC)
    async with running(client, fake, caplog):
        guild = client.get_guild(fake.guild_id)
        event = await guild.create_scheduled_event(
            name="Monthly meetup",
            start_time=start,
            end_time=start + dt.timedelta(hours=1),
            entity_type=discord.EntityType.external,
            location="https://meet.example/cop",
            privacy_level=discord.PrivacyLevel.guild_only,
            description="Agenda in #general",
        )
        [stored] = fake.scheduled_events.values()
        assert stored["entity_type"] == 3
        assert stored["entity_metadata"] == {"location": "https://meet.example/cop"}
        assert event.location == "https://meet.example/cop" and event.start_time == start

        later = start + dt.timedelta(days=7)
        moved = await event.edit(start_time=later, end_time=later + dt.timedelta(hours=1))
        assert moved.start_time == later
        assert fake.scheduled_events[event.id]["scheduled_start_time"] == later.isoformat()
        cancelled = await moved.cancel()
        assert cancelled.status is discord.EventStatus.cancelled
        assert fake.scheduled_events[event.id]["status"] == 4  # Discord: 3 COMPLETED, 4 CANCELED
        assert [e.id for e in await guild.fetch_scheduled_events()] == [event.id]
        await event.delete()
        assert fake.scheduled_events == {} and fake.deleted_event_ids == [event.id]

        voice = await guild.create_scheduled_event(
            name="Office hours",
            start_time=start,
            channel=guild.get_channel(fake.voice_channel.id),
            privacy_level=discord.PrivacyLevel.guild_only,
        )
        assert voice.entity_type is discord.EntityType.voice and voice.channel_id == fake.voice_channel.id
        with pytest.raises(discord.HTTPException) as bad:  # an external event needs an end time
            await guild._state.http.create_guild_scheduled_event(
                guild.id,
                name="x",
                scheduled_start_time=start.isoformat(),
                entity_type=3,
                privacy_level=2,
                entity_metadata={"location": "here"},
            )
        assert bad.value.code == 50035


async def test_rate_limited_dm_is_retried_and_sent_once(
    fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client()
    async with running(client, fake, caplog):
        fake.fail_next("POST", r"/channels/\d+/messages", retry_after=0.2)
        user = await client.fetch_user(fake.member.id)
        sending = asyncio.create_task(user.send("Your reminder"))  # logs a WARNING, sleeps, retries
        # Call.route is the matched route template; status is what the fake answered
        delivered = await fake.wait_for(
            lambda c: c.route == "/channels/{channel}/messages" and c.status == 200
        )
        message = await sending
        assert delivered.json["content"] == "Your reminder"
        posts = fake.calls_to("POST", "/channels/{id}/messages")
        assert [c.status for c in posts] == [429, 200]
        assert posts[0].response == {
            "message": "You are being rate limited.",
            "retry_after": 0.2,
            "global": False,
        }
        assert [m["content"] for m in fake.dm_messages(fake.member)] == ["Your reminder"]
        assert message.id == int(fake.dm_messages(fake.member)[0]["id"])
        assert "rate limited" in caplog.text


async def test_a_repeated_nonce_gets_the_first_message_back_like_discord(
    fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    """discord.py sends every nonce with enforce_nonce; Discord then answers a repeat by the same author
    within a few minutes with the message it already made, and creates nothing."""
    client = make_client()
    async with running(client, fake, caplog):
        channel = client.get_channel(fake.text_channel.id)
        first = await channel.send("Reminder", nonce="post-1")
        again = await channel.send("Reminder", nonce="post-1")
        other = await channel.send("Reminder", nonce="post-2")
        assert again.id == first.id != other.id
        posts = fake.calls_to("POST", "/channels/{id}/messages")
        assert [c.json["enforce_nonce"] for c in posts] == [True] * 3
        assert [m["content"] for m in fake.messages_in(fake.text_channel.id)] == ["Reminder", "Reminder"]
        await other.delete()
        with pytest.raises(discord.NotFound):  # deleted shortly before: Discord does not make it again
            await channel.send("Reminder", nonce="post-2")
        fake.nonce_window = 0  # minutes later the nonce is forgotten
        assert (await channel.send("Reminder", nonce="post-1")).id != first.id
        with pytest.raises(discord.HTTPException) as long_nonce:
            await channel.send("Reminder", nonce="x" * 26)
        assert long_nonce.value.status == 400


async def test_user_who_refuses_dms_gives_forbidden_50007(
    fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client()
    async with running(client, fake, caplog):
        user = await client.fetch_user(fake.no_dm_user.id)
        with pytest.raises(discord.Forbidden) as refused:
            await user.send("hello")
        assert refused.value.code == 50007 and refused.value.status == 403
        assert fake.dm_messages(fake.no_dm_user) == []


async def test_reconnect_resumes_and_dm_interactions(
    fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client()
    seen: list[int] = []

    async def on_interaction(interaction: discord.Interaction) -> None:
        seen.append(interaction.id)
        await interaction.response.send_message("pong")

    client.event(on_interaction)
    async with running(client, fake, caplog):
        await fake.force_reconnect()
        await wait_until(lambda: fake.resumes == 1, timeout=5)
        assert fake.gateway_connections[-1]["path"] == "/gateway/resume"
        iid = await fake.send_interaction(fake.slash_command("ping"))
        [reply] = await fake.wait_for_replies(iid)
        assert reply.content == "pong" and seen == [iid]

        dm = fake.dm_channel_for(fake.member)
        in_dm = await fake.send_interaction(fake.slash_command("ping", channel=int(dm["id"])))
        [dm_reply] = await fake.wait_for_replies(in_dm)
        assert dm_reply.content == "pong" and dm_reply.message["channel_id"] == dm["id"]


async def test_raw_gateway_protocol_text_frames_and_auth_failures() -> None:
    async with FakeDiscord(privileged_intents=False) as fake, aiohttp.ClientSession() as http:
        # without ?compress=zlib-stream the fake sends plain text frames
        async with http.ws_connect(fake.gateway_url + "?v=10&encoding=json") as ws:
            hello = await ws.receive_json()
            assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] == 41250
            await ws.send_json({"op": 1, "d": None})
            assert (await ws.receive_json())["op"] == 11
            await ws.send_json({"op": 2, "d": {"token": fake.token, "intents": 513, "properties": {}}})
            ready, guild = await ws.receive_json(), await ws.receive_json()
            assert (ready["t"], ready["s"], guild["t"], guild["s"]) == ("READY", 1, "GUILD_CREATE", 2)
            assert ready["d"]["resume_gateway_url"].endswith("/gateway/resume")
            assert [m["user"]["id"] for m in guild["d"]["members"]] == [str(fake.bot_user.id)]
        for token, intents, code in (("wrong", 513, 4004), (fake.token, discord.Intents.all().value, 4014)):
            async with http.ws_connect(fake.gateway_url) as ws:
                await ws.receive_json()
                await ws.send_json({"op": 2, "d": {"token": token, "intents": intents, "properties": {}}})
                await ws.receive()
                assert ws.close_code == code
        async with http.get(fake.api_base + "/users/@me") as unauthorized:
            assert unauthorized.status == 401
        headers = {"Authorization": f"Bot {fake.token}"}
        async with http.get(fake.api_base + "/guilds/1/bans", headers=headers) as unknown:
            assert unknown.status == 404 and await unknown.json() == {"message": "404: Not Found", "code": 0}
        assert [c.path for c in fake.unknown_calls()] == ["/guilds/1/bans"]
