"""Roles and the audit log: refusals, grants, revocations, and what help shows."""

from __future__ import annotations

from bot.permissions import Role
from tests.harness import Harness


async def test_member_is_refused_admin_grants_audit_shows_it(bot: Harness) -> None:
    refusal = await bot.fails("role list", "bob")
    assert "Only coordinators can use role list; you are a member" in refusal
    granted = await bot.ok("role grant @bob coordinator")
    assert "Bob is now coordinator (was member)" in granted.text
    listed = await bot.ok("role list", "bob")
    assert any(i.title == "bob" and ("Id", "console:bob") in i.fields for i in listed.items)  # a mention
    audit = await bot.ok("audit list")
    assert "role grant: console:bob (Bob) member -> coordinator" in audit.items[0].body
    assert "Root Admin" in audit.items[0].title
    assert "Only admins can use audit list" in await bot.fails("audit list", "bob")


async def test_grant_twice_and_revoke(bot: Harness) -> None:
    await bot.ok("role grant @cy admin")
    assert "already admin" in (await bot.ok("role grant @cy admin")).text
    assert "no longer admin" in (await bot.ok("role revoke @cy")).text
    assert "had no role" in (await bot.ok("role revoke @cy")).text
    await bot.grant("cy", Role.ADMIN)
    assert "cannot revoke your own role" in await bot.fails("role revoke @cy", "cy")
    await bot.ok("role revoke @cy")
    assert await bot.count("role_grant") == 0


async def test_bad_role_and_missing_member_are_explained_and_change_nothing(bot: Harness) -> None:
    message = await bot.fails("role grant @bob coordinatr")
    assert "unknown role 'coordinatr'" in message and "Example: role grant @ana coordinator" in message
    assert "Missing <@member>" in await bot.fails("role grant")
    assert "not a member mention" in await bot.fails("role grant bob coordinator")
    assert "to take a role away use: role revoke" in await bot.fails("role grant @bob member")
    assert await bot.count("role_grant") == 0
    assert await bot.count("audit_log") == 0


async def test_help_lists_only_what_the_caller_may_run(bot: Harness) -> None:
    member_help = (await bot.ok("help", "bob")).text
    assert (
        "practice search" in member_help
        and "role grant" not in member_help
        and "audit list" not in member_help
    )
    admin_help = (await bot.ok("help")).text
    assert "role grant" in admin_help and "audit list" in admin_help
    detail = (await bot.ok("help practice search", "bob")).text
    assert detail.startswith("practice search — ") and "Usage: practice search [words]" in detail
    assert 'Example: practice search "public private" --tag transitions --level local' in detail
    assert "I don't know a command 'role grant'" in await bot.fails("help role grant", "bob")
    assert "practice search" in (await bot.ok("help practice", "bob")).text


async def test_unknown_command_suggests_nearest(bot: Harness) -> None:
    message = await bot.fails("practise search budget", "bob")
    assert "Did you mean: practice search" in message


async def test_coordinator_role_from_grant_is_used_by_commands(bot: Harness) -> None:
    await bot.grant("cora", Role.COORDINATOR)
    assert (await bot.ok("role list", "cora")).items
    assert "Only admins" in await bot.fails("role grant @bob admin", "cora")
