"""What adapters tell the core besides commands, on both databases: seen events, chat-profile zones,
unreachable members, proposals of someone else's words, the home overview and the platform's role hint."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC

from bot.app import App, build_app
from bot.config import Settings
from bot.messages import Incoming, Member, Place
from bot.permissions import Role
from tests.harness import Harness, member


async def test_an_event_id_is_claimed_once_even_by_concurrent_callers(bot: Harness) -> None:
    results = await asyncio.gather(*(bot.app.claim_event("slack", "Ev0SAME") for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]
    assert await bot.app.claim_event("discord", "Ev0SAME") is True  # ids are per platform


async def test_a_burst_of_events_claimed_by_two_processes_is_acted_on_once_each(
    app: App, settings: Settings
) -> None:
    """Two bot processes sharing the store each receive the same 200 events at once (Slack's retries, or
    a replay): every event is claimed by exactly one of them, and each process gathers its claims into a
    few transactions instead of one per event."""
    other = build_app(settings)  # a second process: its own engine and threads on the same database
    try:
        ids = [f"Ev{i:04d}" for i in range(200)]
        mine, theirs = await asyncio.gather(
            asyncio.gather(*(app.claim_event("slack", i) for i in ids)),
            asyncio.gather(*(other.claim_event("slack", i) for i in reversed(ids))),
        )
        won = [a + b for a, b in zip(mine, reversed(theirs), strict=True)]
        assert won == [1] * 200
        assert app.claims.transactions < 20 and other.claims.transactions < 20
        assert not any(await asyncio.gather(*(app.claim_event("slack", i) for i in ids[:10])))
    finally:
        other.close()


async def test_a_chat_profile_zone_is_used_until_the_member_chooses_one(bot: Harness) -> None:
    ana = member("ana")
    assert await bot.app.member_zone(ana) == "America/New_York"
    await bot.app.learn_timezone(ana, "Europe/Paris")
    await bot.app.learn_timezone(ana, "Not/AZone")  # ignored
    assert await bot.app.member_zone(ana) == "Europe/Paris"
    assert "Europe/Paris (from your chat profile)" in (await bot.ok("me show", "ana")).plain_text()
    await bot.ok("me timezone Asia/Tokyo", "ana")
    await bot.app.learn_timezone(ana, "Europe/Berlin")
    assert await bot.app.member_zone(ana) == "Asia/Tokyo"


async def test_unreachable_members_are_listed_for_coordinators_exported_and_forgotten(bot: Harness) -> None:
    await bot.ok("me reminders on", "bob")
    assert await bot.app.unreachable("console", "bob", "DMs closed") is True
    assert await bot.app.unreachable("console", "bob", "DMs closed") is False
    assert "coordinator" in (await bot.fails("schedule unreachable", "cy")).lower()
    listing = await bot.ok("schedule unreachable")
    assert "Bob" in listing.plain_text() and "Failed DMs: 2" in listing.plain_text()
    data = json.loads((await bot.ok("me data", "bob")).attachments[0].content)
    assert data["core"]["direct_messages_failed"]["failures"] == 2
    await bot.ok("me forget --confirm", "bob")
    assert "could be reached" in (await bot.ok("schedule unreachable")).text


async def test_a_thread_message_is_recorded_only_in_the_open_forum_thread(bot: Harness) -> None:
    place = Place("console", "general", "not-the-forum-thread")
    assert await bot.app.heard(member("ana"), place, "hello", None) is False
    assert await bot.count("forum_reply") == 0


async def test_proposing_someone_elses_words_saves_nothing_until_they_consent(bot: Harness) -> None:
    reply = await bot.ok('practice propose @bob --title "Office hours" --what "Weekly office hours."', "ana")
    assert "Nothing is saved until they answer" in reply.text and await bot.count("practice") == 0
    assert "Only the person who wrote" in await bot.fails("practice consent Q1 named", "cy")
    assert "--role-description is needed" in await bot.fails("practice consent Q1 role", "bob")
    assert await bot.count("practice") == 0
    saved = await bot.ok("practice consent Q1 anonymous", "bob")
    assert "your message is still visible under your name" in saved.text
    assert "already answered" in await bot.fails("practice consent Q1 named", "bob")
    shown = (await bot.ok("practice show P1")).plain_text()
    assert "Office hours" in shown and "Bob" not in shown
    assert "your own message" in await bot.fails("practice propose @ana --title T --what W", "ana")
    form = (await bot.one("practice propose @bob", "ana")).form
    assert form is not None and form.command == "practice propose"


async def test_home_gathers_each_section_for_the_member(bot: Harness) -> None:
    await bot.ok('network create "Chiefs of Staff"')
    await bot.ok("network join chiefs-of-staff", "ana")
    await bot.ok('convening schedule chiefs-of-staff --title "Spring convening" --start "2027-04-14 10:00"')
    sections = await bot.app.home(member("ana"), Place("console", "dm", None, True))
    assert [h for h, _ in sections] == [
        "Next open forum",
        "Your upcoming convenings",
        "Your networks",
        "Recent practices",
        "Suggested resources",
        "Your settings",
    ]
    convenings = dict(sections)["Your upcoming convenings"]
    assert convenings.items[0].title == "Spring convening"
    assert [c.command for c in convenings.items[0].choices] == [
        "convening rsvp 1 going",
        "convening rsvp 1 maybe",
        "convening rsvp 1 no",
    ]
    assert "no schedule yet" in dict(sections)["Next open forum"].text
    settings = dict(sections)["Your settings"]
    assert [c.command for c in settings.choices] == ["me reminders off", "me web"]
    texts = [r.text for r in await bot.say("home", "ana")]
    assert len(texts) == 6 and texts[0].startswith("**Next open forum**")


async def test_a_platform_role_hint_raises_but_never_lowers_what_the_core_grants(bot: Harness) -> None:
    cy = Member("discord", "42", "Cy")

    async def run(text: str, hint: Role | None) -> str:
        [reply] = await bot.app.dispatch(
            Incoming(member=cy, place=Place("discord", "c"), text=text, platform_role=hint)
        )
        return reply.text

    assert "only coordinators" in (await run('network create "Planners"', None)).lower()
    assert "Created" in await run('network create "Planners"', Role.COORDINATOR)
    assert "only admins" in (await run("audit list", Role.COORDINATOR)).lower()
    assert "only admins" not in (await run("audit list", Role.ADMIN)).lower()


async def test_a_role_that_follows_the_platform_is_granted_and_ended_with_it_but_manual_grants_stay(
    bot: Harness,
) -> None:
    dee, eve = Member("discord", "7", "Dee"), Member("discord", "8", "Eve")

    async def say(who: Member, text: str, hint: Role | None) -> str:
        [reply] = await bot.app.dispatch(
            Incoming(member=who, place=Place("discord", "c"), text=text, platform_role=hint)
        )
        return reply.text

    await say(dee, "help", Role.COORDINATOR)  # Dee holds the Discord coordinator role
    assert "discord:7" in (await bot.ok("role list")).plain_text()  # so coordinator notices reach her too
    await say(dee, "help", Role.MEMBER)  # the Discord role was taken away
    assert "discord:7" not in (await bot.ok("role list")).plain_text()
    await bot.app.dispatch(Incoming(member=eve, place=Place("discord", "c"), text="help"))
    await bot.app.set_local_role(eve, Role.COORDINATOR, "role grant")
    await say(eve, "help", Role.MEMBER)  # no Discord role, but granted in copbot: stays
    assert "discord:8" in (await bot.ok("role list")).plain_text()
    assert "follows their discord role" in (await bot.ok("audit list")).plain_text()


async def test_from_message_opens_your_practice_form_or_a_proposal_to_the_author(bot: Harness) -> None:
    words = "We hold weekly budget office hours. Attendance doubled."
    own = await bot.app.dispatch(
        Incoming(
            member=member("ana"),
            place=bot.place,
            command="practice from-message",
            values={"author": "@ana", "text": words, "link": "https://x.org/m/1"},
            mentions={"@ana": member("ana")},
        )
    )
    form = own[0].form
    assert form is not None and form.command == "practice share"
    assert form.prefilled["title"] == "We hold weekly budget office hours" and form.prefilled["what"] == words
    assert form.prefilled["links"] == ["https://x.org/m/1"]
    other = await bot.app.dispatch(
        Incoming(
            member=member("ana"),
            place=bot.place,
            command="practice from-message",
            values={"author": "@bob", "text": words},
            mentions={"@bob": member("bob")},
        )
    )
    form = other[0].form
    assert form is not None and form.command == "practice propose" and "Bob" in other[0].text
    assert form.fixed == {"author": "console:bob"} and "author" not in {f.name for f in form.fields}
    values = {**form.prefilled, **form.fixed}
    reply = await bot.submit(form.command, values, "ana")
    assert "Asked Bob whether" in reply.text and await bot.count("practice") == 0
    assert (
        "no text to save"
        in (
            await bot.app.dispatch(
                Incoming(
                    member=member("ana"),
                    place=bot.place,
                    command="practice from-message",
                    values={"author": "@bob", "text": "  "},
                    mentions={"@bob": member("bob")},
                )
            )
        )[0].text
    )


async def test_claims_are_forgotten_once_no_platform_would_retry_them(bot: Harness) -> None:
    from datetime import datetime, timedelta

    from bot.members.events import forget_old_events

    assert await bot.app.claim_event("slack", "Ev0OLD") is True
    now = datetime.now(UTC)
    assert await bot.app.store.run(lambda s: forget_old_events(s, now + timedelta(hours=1))) == 0
    assert await bot.app.claim_event("slack", "Ev0OLD") is False  # still a repeat an hour on
    assert await bot.app.store.run(lambda s: forget_old_events(s, now + timedelta(days=3))) == 1
    assert await bot.app.claim_event("slack", "Ev0OLD") is True
