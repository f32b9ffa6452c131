"""Slack Connect (issue 15): a member of another organisation, in a channel our workspace shares with it,
uses copbot through our installation. At the real boundary (signed requests to the app in HTTP mode, the
fake Slack): they are their own workspace's member (a guest here, with none of our roles), their name comes
from what the event shows when users.info tells nothing, they RSVP with a button and share a practice by
mentioning the bot; a coordinator can keep exports and attendance to the host organisation.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests import fake_slack as fs
from tests.test_slack_adapter import SlackWorld, slack_world

PARTNER = "T0PARTNER"  # the other organisation's workspace, sharing #general-cities with ours
SHARED = "C0SHARED"


@pytest.fixture
async def shared(database_url: str, tmp_path: Path) -> AsyncIterator[SlackWorld]:
    async with slack_world(database_url, tmp_path) as world:  # serves fs.TEAM; U0ANA is its admin
        yield world


async def _guest_says(world: SlackWorld, words: str, *, user: str = "U0PAT", name: str = "Pat") -> str:
    """Pat, of the partner organisation, mentions the bot in the shared channel; returns what copbot said."""
    world.fake.calls.clear()
    status, _ = await world.send(
        fs.app_mention(
            f"<@{fs.BOT_USER}> {words}", user=user, channel=SHARED, user_team=PARTNER, user_name=name
        )
    )
    assert status == 200
    await world.settle()
    said = [c.args for c in world.fake.calls if c.method in ("chat.postMessage", "chat.postEphemeral")]
    return json.dumps(said)


async def _rows(world: SlackWorld, sql: str) -> list[tuple[object, ...]]:
    return await world.app.store.run(lambda s: [tuple(r) for r in s.execute(text(sql)).all()])


async def test_a_guest_shares_a_practice_and_rsvps_as_their_own_organisations_member(
    shared: SlackWorld,
) -> None:
    world = shared
    await world.cop('network create "City managers"')
    await world.cop(
        'convening schedule city-managers --title "Budget season" --start "March 10 2026 10:00 Central"'
    )

    said = await _guest_says(world, "network join city-managers")
    assert "You are now a member" in said, said
    # users.info does not know a member of another organisation here: the event's profile names them
    assert [c.args.get("user") for c in world.fake.calls if c.method == "users.info"] == ["U0PAT"]
    world.fake.calls.clear()
    status, _ = await world.send(
        fs.block_action(
            "convening rsvp 1 going",
            user="U0PAT",
            name="pat",
            channel=SHARED,
            user_team=PARTNER,
            response_url=world.fake.response_url(),
        )
    )
    assert status == 200
    await world.settle()
    assert "going" in json.dumps(world.fake.responses[-1]).lower()
    said = await _guest_says(
        world,
        'practice share --title "Budget town halls online" --what "We stream the hearing and take questions." --attribution named',
    )
    assert "Budget town halls online" in said, said

    members = await _rows(
        world, "SELECT workspace, user_id, display_name FROM member WHERE user_id = 'U0PAT'"
    )
    assert members == [(PARTNER, "U0PAT", "Pat")]
    going = await _rows(
        world,
        "SELECT m.workspace, m.user_id FROM rsvp r JOIN member m ON m.id = r.member_id",
    )
    assert going == [(PARTNER, "U0PAT")]
    # the host's members find it, credited by the name Slack showed
    await world.cop("practice search budget town halls")
    found = json.dumps(world.last_response())
    assert "Budget town halls online" in found and "Pat" in found


async def test_a_guest_with_an_admins_user_id_is_not_an_admin_here(shared: SlackWorld) -> None:
    said = await _guest_says(shared, "role grant <@U0BOB> admin", user="U0ANA", name="Someone")
    assert "Only admins can use role grant" in said, said
    assert await shared.count("role_grant") == 0


async def test_a_coordinator_keeps_exports_and_attendance_to_the_host_organisation(
    shared: SlackWorld,
) -> None:
    world = shared
    await world.cop('network create "City managers"')
    await _guest_says(world, "network join city-managers")
    assert "kept to the host" not in await _guest_says(
        world, "network members city-managers"
    )  # open by default
    assert "kept to the host" not in await _guest_says(world, "practice export")

    await world.cop("role guests host-only")
    assert "host organisation's members only" in world.last_response()["text"]
    for typed, path in (
        ("practice export", "practice export"),
        ("network members city-managers", "network members"),
        ("convening attendees 1", "convening attendees"),
    ):
        said = await _guest_says(world, typed)
        assert f"{path} is kept to the host organisation's members" in said, said
    said = await _guest_says(world, "practice search budget")  # everything else works for guests
    assert "kept to the host" not in said
    await world.cop("network members city-managers")  # the host's own members are not affected
    assert "kept to the host" not in json.dumps(world.last_response())

    await world.cop("role guests open")
    assert "kept to the host" not in await _guest_says(world, "practice export")
    audit = await _rows(
        world, "SELECT action, detail FROM audit_log WHERE action = 'role guests' ORDER BY id"
    )
    assert audit == [("role guests", "host-only"), ("role guests", "open")]


async def test_a_request_delivered_for_another_workspace_is_still_refused(shared: SlackWorld) -> None:
    # the same shape as a guest's mention, but sent to another installation: not ours to answer
    request = fs.app_mention(f"<@{fs.BOT_USER}> help", user="U0PAT", team=fs.OTHER_TEAM, user_team=PARTNER)
    assert (await shared.send(request))[0] == 200
    await shared.settle()
    assert [c.method for c in shared.fake.calls if c.method != "auth.test"] == []  # (bolt's own auth check)
    assert await shared.count("member") == 0
