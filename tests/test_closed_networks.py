"""Closed networks are closed: the convenings and date polls of a network joined by approval or by
invitation are for its members. Others see that the network exists and how to ask to join; open
networks stay open to everyone. Members hear of a new convening by DM (unless reminders are off)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.config import Settings
from tests.convening_world import START, ConvBot, digital_leaders
from tests.harness import member

PLACE = "https://meet.example/cabinet"


@pytest.fixture
async def cb(settings: Settings) -> AsyncIterator[ConvBot]:
    """Digital Leaders (open) and the invite-only Cabinet, coordinated by Cora, with Ana invited in."""
    async with digital_leaders(settings) as bot:
        await bot.ok('network create "Cabinet" --policy invite')
        await bot.ok("network coordinator add cabinet @cora")
        await bot.ok("network invite cabinet @ana", "cora")
        await bot.ok("network join cabinet", "ana")
        yield bot


async def _schedule_cabinet(cb: ConvBot, extra: str = "") -> int:
    reply = await cb.ok(
        f'convening schedule cabinet --title "Budget cuts" --start "{START}" --capacity 1 '
        f'--place {PLACE} --agenda "Which programmes go" {extra}',
        "cora",
    )
    return int(reply.text.split("convening ")[1].split(" ")[0])


async def test_a_stranger_cannot_take_the_seat_of_an_invite_only_meeting(cb: ConvBot) -> None:
    cid = await _schedule_cabinet(cb)
    refused = await cb.fails(f"convening rsvp {cid} going", "stranger")
    assert "Cabinet is a closed network: only its members can answer its convenings" in refused
    assert (
        "invite-only: ask one of its coordinators to invite you" in refused
        and "network show cabinet" in refused
    )
    assert await cb.count("rsvp") == 0
    assert (await cb.ok(f"convening rsvp {cid} going", "ana")).text == "You are going to Budget cuts."
    assert (
        dict((await cb.ok(f"convening show {cid}", "ana")).fields)["Answers"] == "1 going of 1 seats, 0 maybe"
    )
    # Ana leaves the network: she sees it no more, but she can still give up her seat.
    await cb.ok("network leave cabinet", "ana")
    assert "closed network" in await cb.fails(f"convening rsvp {cid} going", "ana")
    assert (await cb.ok(f"convening rsvp {cid} no", "ana")).text == "You are not going to Budget cuts."
    assert "closed network" in await cb.fails(f"convening rsvp {cid} no", "stranger")


async def test_a_stranger_sees_neither_place_nor_agenda_nor_feed(cb: ConvBot) -> None:
    cid = await _schedule_cabinet(cb)
    for command in (
        f"convening show {cid}",
        f"convening ics {cid}",
        f"convening attendees {cid}",
        "convening list cabinet",
    ):
        refused = await cb.fails(command, "stranger")
        assert "closed network" in refused and PLACE not in refused and "programmes" not in refused
        assert "/calendar/" not in refused
    listed = await cb.ok("convening list", "stranger")
    assert listed.items == () and PLACE not in listed.plain_text()
    assert "Not shown: convenings of closed networks you are not in (cabinet)" in listed.plain_text()
    # Ana is a member: she sees it all, and gets the network's feed.
    shown = await cb.ok(f"convening show {cid}", "ana")
    assert dict(shown.fields)["Where"] == PLACE and "Which programmes go" in shown.text
    mine = await cb.ok("convening list cabinet", "ana")
    assert [i.title for i in mine.items] == ["Budget cuts"] and "/calendar/" in (mine.footer or "")
    assert await cb.app.suggest("convening", "Budget", member("stranger")) == []
    assert [v for _, v in await cb.app.suggest("convening", "Budget", member("ana"))] == [str(cid)]


async def test_a_stranger_cannot_see_or_mark_its_date_polls(cb: ConvBot) -> None:
    await cb.ok(
        'datepoll propose cabinet --title "Retreat" --slots "2027-04-05 10:00; 2027-04-06 10:00"', "cora"
    )
    assert "only its members can mark dates" in await cb.fails("datepoll mark 1 1", "stranger")
    assert "only its members can see the date polls" in await cb.fails("datepoll show 1", "stranger")
    await cb.ok("datepoll mark 1 2", "ana")
    assert "1 member answered" in (await cb.ok("datepoll show 1", "ana")).text


async def test_an_approval_network_says_how_to_ask_and_that_you_asked(cb: ConvBot) -> None:
    await cb.ok('network create "Treasurers" --policy approval')
    await cb.ok("network coordinator add treasurers @cora")
    reply = await cb.ok(f'convening schedule treasurers --title "Audit" --start "{START}"', "cora")
    cid = int(reply.text.split("convening ")[1].split(" ")[0])
    assert "Ask to join with: network join treasurers" in await cb.fails(f"convening show {cid}", "bob")
    await cb.ok("network join treasurers", "bob")
    assert "You asked to join; its coordinators will answer" in await cb.fails(f"convening show {cid}", "bob")
    await cb.ok("network approve treasurers @bob", "cora")
    await cb.ok(f"convening rsvp {cid} maybe", "bob")


async def test_open_networks_stay_open(cb: ConvBot) -> None:
    reply = await cb.ok(
        f'convening schedule digital-leaders --title "Open day" --start "{START}" --place Hall', "cora"
    )
    cid = int(reply.text.split("convening ")[1].split(" ")[0])
    assert dict((await cb.ok(f"convening show {cid}", "stranger")).fields)["Where"] == "Hall"
    await cb.ok(f"convening rsvp {cid} going", "stranger")
    assert "/calendar/" in ((await cb.ok("convening list digital-leaders", "stranger")).footer or "")


async def test_members_hear_of_a_new_convening_unless_reminders_are_off(cb: ConvBot) -> None:
    await cb.ok("network invite cabinet @bob", "cora")
    await cb.ok("network join cabinet", "bob")
    await cb.ok("me reminders off", "bob")
    await cb.app.scheduler.tick()
    before = len(cb.messenger.sent)
    cid = await _schedule_cabinet(cb)
    await cb.app.scheduler.tick()
    told = [(s.target, s.reply) for s in cb.messenger.sent[before:] if s.kind == "dm"]
    assert [who for who, _ in told] == ["ana"]  # not Bob (reminders off), Cora (she scheduled it), strangers
    reply = told[0][1]
    assert reply.text.startswith("New convening of Cabinet: Budget cuts, Sun 14 Mar 2027, 08:00 PDT")
    assert [c.command for c in reply.choices] == [f"convening rsvp {cid} going", f"convening show {cid}"]


async def test_a_new_convening_waits_for_the_end_of_quiet_hours(cb: ConvBot) -> None:
    await cb.ok("me quiet-hours 00:00-09:00", "ana")  # Los Angeles; it is 04:00 there
    await cb.app.scheduler.tick()
    before = len(cb.messenger.sent)
    await _schedule_cabinet(cb)
    await cb.app.scheduler.tick()
    assert [s for s in cb.messenger.sent[before:] if s.kind == "dm"] == []
    await cb.run_until(cb.clock().replace(hour=16, minute=59))  # 08:59 in Los Angeles
    assert not any("New convening" in t for t in cb.dms("ana"))
    await cb.run_until(cb.clock().replace(hour=17, minute=0))
    assert sum("New convening of Cabinet" in t for t in cb.dms("ana")) == 1


async def test_a_closed_networks_convening_is_not_put_on_the_platform_calendar(cb: ConvBot) -> None:
    from tests.test_convening_mirror import RecordingMirror

    mirror = RecordingMirror()
    cb.app.add_messenger(mirror)  # type: ignore[arg-type]
    await _schedule_cabinet(cb)
    await cb.app.scheduler.tick()
    assert mirror.calls == []


async def test_a_held_notice_is_not_sent_once_reminders_are_turned_off(cb: ConvBot) -> None:
    await cb.ok("me quiet-hours 00:00-09:00", "ana")
    await _schedule_cabinet(cb)
    await cb.ok("me reminders off", "ana")  # while the notice waits for her quiet hours to end
    await cb.run_until(cb.clock().replace(hour=18))
    assert not any("New convening" in t for t in cb.dms("ana"))


async def test_news_held_by_quiet_hours_is_dropped_when_the_convening_is_cancelled(cb: ConvBot) -> None:
    await cb.ok("me quiet-hours 00:00-09:00", "ana")
    cid = await _schedule_cabinet(cb)
    await cb.ok(f"convening cancel {cid}", "cora")
    await cb.run_until(cb.clock().replace(hour=18))
    assert not any("New convening" in t for t in cb.dms("ana"))
