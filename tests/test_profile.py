"""The member profile: show, set, reminders, quiet hours, list visibility; bad input; export and forget."""

from __future__ import annotations

import json

from tests.harness import Harness


async def test_show_defaults_without_storing_anything(bot: Harness) -> None:
    shown = await bot.ok("me show", "ana")
    fields = dict(shown.fields)
    assert fields["Time zone"] == "not set (you see the community's, America/New_York)"
    assert fields["Organisation"] == "—" and fields["Reminders by direct message"] == "on"
    assert fields["Quiet hours"] == "off" and fields["Listed in network member lists"] == "yes"
    assert await bot.count("member_profile") == 0


async def test_set_and_clear_work_details(bot: Harness) -> None:
    saved = await bot.ok('me set --organisation "City of Dayton" --role "Chief of Staff"', "ana")
    assert "organisation: City of Dayton; role: Chief of Staff" in saved.text
    await bot.ok("me set --jurisdiction Ohio", "ana")
    await bot.ok("me timezone America/Chicago", "ana")
    fields = dict((await bot.ok("me show", "ana")).fields)
    assert (fields["Organisation"], fields["Role"], fields["Jurisdiction"], fields["Time zone"]) == (
        "City of Dayton",
        "Chief of Staff",
        "Ohio",
        "America/Chicago",
    )
    assert "role cleared" in (await bot.ok('me set --role ""', "ana")).text
    assert dict((await bot.ok("me show", "ana")).fields)["Role"] == "—"
    assert "Say what to set" in await bot.fails("me set", "ana")


async def test_reminders_quiet_hours_and_lists(bot: Harness) -> None:
    assert "off" in (await bot.ok("me reminders off", "ana")).text
    quiet = await bot.ok("me quiet-hours 21:00-7:00", "ana")
    assert "21:00–07:00" in quiet.text and "community's time zone" in quiet.text
    await bot.ok("me lists hide", "ana")
    fields = dict((await bot.ok("me show", "ana")).fields)
    assert fields["Reminders by direct message"] == "off"
    assert fields["Quiet hours"] == "21:00–07:00 (your time)"
    assert fields["Listed in network member lists"] == "no"
    assert "Quiet hours are off" in (await bot.ok("me quiet-hours off", "ana")).text
    assert dict((await bot.ok("me show", "ana")).fields)["Quiet hours"] == "off"


async def test_bad_quiet_hours_name_the_problem_and_change_nothing(bot: Harness) -> None:
    await bot.ok("me quiet-hours 22:00-06:00", "ana")
    for bad, problem in (
        ("9pm-7am", "the start '9pm' is not a time like 21:00"),
        ("21:00", "is not a range"),
        ("21:00-25:00", "the end '25:00' is not a time"),
        ("07:00-07:00", "the same time"),
    ):
        message = await bot.fails(f"me quiet-hours {bad}", "ana")
        assert problem in message and "HOURS" in message and "Example: me quiet-hours 21:00-07:00" in message
    assert "not allowed" in await bot.fails("me reminders maybe", "ana")
    assert "is too long" in await bot.fails('me set --organisation "' + "x" * 300 + '"', "ana")
    fields = dict((await bot.ok("me show", "ana")).fields)
    assert fields["Quiet hours"] == "22:00–06:00 (your time)" and fields["Organisation"] == "—"


async def test_me_data_has_the_profile_and_forget_removes_it(bot: Harness) -> None:
    await bot.ok('me set --organisation "City of Dayton" --jurisdiction Ohio', "ana")
    await bot.ok("me quiet-hours 21:00-07:00", "ana")
    await bot.ok("me lists hide", "ana")
    profile = json.loads((await bot.ok("me data", "ana")).attachments[0].content)["core"]["profile"]
    assert profile["organisation"] == "City of Dayton" and profile["jurisdiction"] == "Ohio"
    assert (profile["quiet_start"], profile["quiet_end"], profile["show_in_lists"]) == (
        "21:00",
        "07:00",
        False,
    )
    assert profile["dm_reminders"] is True and profile["role_title"] is None
    await bot.ok("me forget --confirm", "ana")
    assert await bot.count("member_profile") == 0


async def test_help_lists_the_profile_commands_in_the_me_group(bot: Harness) -> None:
    text = (await bot.ok("help me", "ana")).text
    for command in ("me show", "me set", "me quiet-hours", "me lists", "me timezone", "me interests add"):
        assert command in text
