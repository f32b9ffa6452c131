"""Networks: creating, joining (open, by approval, by invitation), member lists, coordinators, bad input."""

from __future__ import annotations

from bot.permissions import Role
from tests.fakes import RecordingMessenger
from tests.harness import Harness

DIGITAL = 'network create "Digital Leaders" --description "Leaders of digital teams" --policy approval'


async def _messenger(bot: Harness) -> RecordingMessenger:
    messenger = RecordingMessenger()
    bot.app.add_messenger(messenger)
    return messenger


async def test_create_list_show(bot: Harness) -> None:
    created = await bot.ok('network create "Data & Evidence" --description "Using data well"')
    assert "Data & Evidence (data-evidence)" in created.text and "open: anyone may join" in created.text
    await bot.ok(DIGITAL)
    await bot.ok("network join data-evidence", "ana")
    listed = await bot.ok("network list", "bob")
    assert [i.title for i in listed.items] == ["Data & Evidence", "Digital Leaders"]
    assert ("Members", "1") in listed.items[0].fields
    shown = await bot.ok("network show DIGITAL LEADERS", "bob")  # the name works too, in any case
    assert "Leaders of digital teams" in shown.text
    assert ("Joining", "by approval: coordinators approve requests") in shown.fields
    assert ("You", "not a member") in shown.fields
    assert "network create" in [e.action for e in await _audit(bot)]


async def _audit(bot: Harness) -> list:  # type: ignore[type-arg]
    from sqlmodel import select

    from bot.store.models import AuditEntry

    return await bot.app.store.run(lambda s: list(s.exec(select(AuditEntry))))


async def test_open_join_and_leave(bot: Harness) -> None:
    await bot.ok('network create "Data & Evidence"')
    assert "Welcome to Data & Evidence" in (await bot.ok("network join data-evidence", "ana")).text
    assert "already a member" in await bot.fails("network join data-evidence", "ana")
    assert ("You", "a member") in (await bot.ok("network show data-evidence", "ana")).fields
    assert "You have left" in (await bot.ok("network leave data-evidence", "ana")).text
    assert "nothing to leave" in await bot.fails("network leave data-evidence", "ana")
    assert await bot.count("network_member") == 0


async def test_approval_flow_tells_coordinators_then_the_member(bot: Harness) -> None:
    messenger = await _messenger(bot)
    await bot.ok(DIGITAL)
    await bot.ok("network coordinator add digital-leaders @cora")
    asked = await bot.ok("network join digital-leaders", "ana")
    assert "asked to join Digital Leaders" in asked.text
    assert "already asked" in await bot.fails("network join digital-leaders", "ana")
    await bot.app.scheduler.tick()
    [dm] = [s for s in messenger.sent if s.kind == "dm"]
    assert dm.target == "cora" and "Ana asks to join Digital Leaders" in dm.reply.text
    assert [c.command for c in dm.reply.choices] == [
        "network approve digital-leaders console:ana",
        "network decline digital-leaders console:ana",
    ]
    requests = await bot.ok("network requests digital-leaders", "cora")
    assert [i.title for i in requests.items] == ["Ana"]
    assert "Only the coordinators of Digital Leaders" in await bot.fails(
        "network requests digital-leaders", "bob"
    )
    # Cora presses the button: the member is named by id; her display name is kept.
    approved = await bot.ok(dm.reply.choices[0].command, "cora")
    assert "Ana is now a member of Digital Leaders" in approved.text
    await bot.app.scheduler.tick()
    assert messenger.sent[-1].target == "ana" and "was approved" in messenger.sent[-1].reply.text
    assert "Ana" in [i.title for i in (await bot.ok("network members digital-leaders")).items]
    assert "has not asked" in await bot.fails("network approve digital-leaders @ana", "cora")


async def test_decline_tells_the_member(bot: Harness) -> None:
    messenger = await _messenger(bot)
    await bot.ok(DIGITAL)
    await bot.ok("network join digital-leaders", "ana")
    await bot.app.scheduler.tick()  # no coordinators anywhere: the admins from configuration are told
    assert [(s.target, "Ana asks to join" in s.reply.text) for s in messenger.sent] == [("root", True)]
    await bot.ok("network decline digital-leaders @ana")
    await bot.app.scheduler.tick()
    assert any(s.target == "ana" and "was declined" in s.reply.text for s in messenger.sent)
    assert await bot.count("network_member") == 0


async def test_invite_flow(bot: Harness) -> None:
    messenger = await _messenger(bot)
    await bot.ok('network create "City Managers" --policy invite')
    before = await bot.count("network_member")
    refusal = await bot.fails("network join city-managers", "ana")
    assert "invite-only" in refusal and "network show city-managers" in refusal
    assert await bot.count("network_member") == before
    await bot.ok("network coordinator add city-managers @cora")
    assert "Invited Ana" in (await bot.ok("network invite city-managers @ana", "cora")).text
    assert "already been invited" in await bot.fails("network invite city-managers @ana", "cora")
    await bot.app.scheduler.tick()
    [dm] = [s for s in messenger.sent if s.target == "ana"]
    assert "Cora invites you to join the network City Managers" in dm.reply.text
    assert dm.reply.choices[0].label == "Accept"
    assert "Welcome to City Managers" in (await bot.ok(dm.reply.choices[0].command, "ana")).text
    assert "Only the coordinators" in await bot.fails("network invite city-managers @bob", "ana")


async def test_member_list_respects_each_members_choice(bot: Harness) -> None:
    await bot.ok('network create "Data & Evidence"')
    for who in ("ana", "bob", "cy"):
        await bot.ok("network join data-evidence", who)
    await bot.ok("me lists hide", "bob")
    listed = await bot.ok("network members data-evidence", "dee")
    assert [i.title for i in listed.items] == ["Ana", "Cy"]
    assert "3 members; 1 chose not to be listed" in listed.text
    assert "Bob" not in listed.plain_text()
    await bot.ok("me lists show", "bob")
    assert len((await bot.ok("network members data-evidence", "dee")).items) == 3


async def test_network_coordinator_may_approve_but_not_create(bot: Harness) -> None:
    await bot.ok(DIGITAL)
    await bot.ok("network coordinator add digital-leaders @cora")
    assert "Only coordinators can use network create" in await bot.fails('network create "Other"', "cora")
    assert "Only coordinators can use network coordinator add" in await bot.fails(
        "network coordinator add digital-leaders @bob", "cora"
    )
    await bot.ok("network join digital-leaders", "ana")
    await bot.ok("network approve digital-leaders @ana", "cora")
    await bot.ok("network coordinator remove digital-leaders @cora")
    assert "Only the coordinators" in await bot.fails("network requests digital-leaders", "cora")
    assert "not a coordinator" in await bot.fails("network coordinator remove digital-leaders @cora")


async def test_community_coordinator_creates_and_archives(bot: Harness) -> None:
    assert "Only coordinators can use network create" in await bot.fails('network create "X"', "bob")
    await bot.grant("kim", Role.COORDINATOR)
    await bot.ok('network create "Data & Evidence"', "kim")
    await bot.ok("network requests data-evidence", "kim")  # a community coordinator coordinates every network
    assert "Archived Data & Evidence" in (await bot.ok("network archive data-evidence", "kim")).text
    assert "no networks yet" in (await bot.ok("network list")).text
    assert "archived" in await bot.fails("network join data-evidence", "ana")
    assert ("Status", "archived") in (await bot.ok("network show data-evidence")).fields


async def test_bad_input_is_explained_and_changes_nothing(bot: Harness) -> None:
    await bot.ok('network create "Digital Leaders"')
    networks, members, audit = (
        await bot.count("network"),
        await bot.count("network_member"),
        await bot.count("audit_log"),
    )
    unknown = await bot.fails("network join digital-leader", "ana")
    assert "There is no network 'digital-leader'" in unknown and "Did you mean: digital-leaders?" in unknown
    long = await bot.fails('network create "Long" --description "' + "x" * 10_000 + '"')
    assert "--description is too long: 10,000 characters, the limit is 2,000" in long
    assert "already exists" in await bot.fails('network create "digital  LEADERS"')
    assert "has no letters or digits" in await bot.fails('network create "!!!"')
    assert "not allowed" in await bot.fails('network create "Z" --policy secret')
    assert (await bot.count("network"), await bot.count("network_member"), await bot.count("audit_log")) == (
        networks,
        members,
        audit,
    )


async def test_me_data_and_forget_cover_networks(bot: Harness) -> None:
    import json

    await bot.ok('network create "Data & Evidence"')
    await bot.ok(DIGITAL)
    await bot.ok("network join data-evidence", "ana")
    await bot.ok("network join digital-leaders", "ana")
    await bot.ok("network coordinator add data-evidence @ana")
    data = json.loads((await bot.ok("me data", "ana")).attachments[0].content)
    assert {(n["network"], n["state"]) for n in data["networks"]} == {
        ("data-evidence", "member"),
        ("digital-leaders", "requested"),
    }
    assert {"scope": "network:1", "role": 1} in [
        {k: r[k] for k in ("scope", "role")} for r in data["core"]["roles"]
    ]
    await bot.ok("me forget --confirm", "ana")
    assert await bot.count("network_member") == 0
    assert await bot.count("role_grant") == 0
    assert await bot.count("network") == 2
