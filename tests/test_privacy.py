"""A member's data: exported on request, forgotten on request, nothing else touched."""

from __future__ import annotations

import json

from tests.harness import Harness


async def test_me_data_exports_what_we_store(bot: Harness) -> None:
    assert "stores nothing about you" in (await bot.ok("me data", "ana")).text
    await bot.ok('practice share --title "Night markets" --what "W" --attribution anonymous', "ana")
    await bot.ok('practice share --title "Bus passes" --what "W" --attribution named', "bob")
    await bot.ok("practice endorse P2 great", "ana")
    reply = await bot.ok("me data", "ana")
    data = json.loads(reply.attachments[0].content)
    assert data["core"]["member"]["user_id"] == "ana"
    assert [p["title"] for p in data["practices"]["practices"]] == ["Night markets"]
    assert data["practices"]["endorsements"][0]["note"] == "great"
    assert "Bus passes" not in reply.attachments[0].content.decode()


async def test_me_forget_needs_confirmation_then_deletes_and_anonymises(bot: Harness) -> None:
    await bot.ok('practice share --title "Night markets" --what "W" --attribution named', "ana")
    await bot.ok('practice share --title "Bus passes" --what "W" --attribution named', "bob")
    await bot.ok("practice endorse P2", "ana")
    await bot.ok("role grant @ana coordinator")
    assert "cannot be undone" in await bot.fails("me forget", "ana")
    assert await bot.count("member") == 2  # ana and bob: nothing changed yet
    done = await bot.ok("me forget --confirm", "ana")
    assert "forgotten you" in done.text
    shown = await bot.ok("practice show P1")
    assert ("Shared by", "anonymous (Chatham House Rule)") in shown.fields
    assert await bot.count("practice_endorsement") == 0
    assert await bot.count("role_grant") == 0
    assert "Ana" not in (await bot.ok("audit list")).plain_text()
    assert ("Shared by", "Bob") in (await bot.ok("practice show P2")).fields
    assert "stores nothing about you" in (await bot.ok("me data", "ana")).text
