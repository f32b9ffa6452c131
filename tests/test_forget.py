"""`me forget` forgets: after a member who did everything asks, no table, column or file still names them.

Zelda takes part in every feature (an anonymous practice, a proposal of her words, a convening RSVP, a
forum topic, a forum reply someone captures, a commitment after the convening, peer introductions, the
forum's facilitation, a role she granted, `me data` and a calendar file saved by the console), then asks
to be forgotten. Every table of the database (all columns, read as text) and every file in the data
folder is then searched for her user id and her display name.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from adapters.console.adapter import ConsoleAdapter
from bot.config import Settings
from bot.members import files
from bot.messages import Incoming, Member, Place
from bot.permissions import Role
from tests.convening_world import STARTS_UTC, ConvBot, digital_leaders, schedule, utc

ZELDA = Member("console", "zq7341", "Zélda Quorn")
BOB = Member("console", "bob", "Bob")
# As written, and as JSON writes a non-ASCII name ("Z\u00e9lda Quorn").
SECRETS = tuple({n for w in (ZELDA.user_id, ZELDA.display_name) for n in (w, json.dumps(w)[1:-1])})
RULE = '"first Tuesday of every month, 12:00 to 13:00, America/New_York"'


@pytest.fixture
async def cb(settings: Settings) -> AsyncIterator[ConvBot]:
    async with digital_leaders(settings) as bot:
        yield bot


async def as_zelda(cb: ConvBot, line: str) -> None:
    [reply] = await cb.say(line, ZELDA, zelda=ZELDA)
    assert not reply.is_error, (line, reply.text)


def console_for(cb: ConvBot, settings: Settings, who: Member) -> ConsoleAdapter:
    console = ConsoleAdapter(
        cb.app.dispatch,
        user=who.user_id,
        stdout=io.StringIO(),
        interactive=False,
        export_dir=files.exports_dir(settings.data_dir),
    )
    console.member = who
    return console


async def via_console(console: ConsoleAdapter, line: str) -> None:
    await console.send(Incoming(member=console.member, place=Place("console", "console"), text=line))


def rows_naming(cb: ConvBot, needles: tuple[str, ...]) -> list[str]:
    """Every (table.column: value) in the whole database whose text contains one of `needles`."""
    engine = cb.app.store.engine
    found: set[str] = set()
    with engine.connect() as conn:
        inspector = inspect(conn)
        for table in inspector.get_table_names():
            for column in inspector.get_columns(table):
                name = column["name"]
                for needle in needles:
                    as_text = f'CAST("{name}" AS TEXT)'
                    query = f'SELECT {as_text} FROM "{table}" WHERE lower({as_text}) LIKE :needle'
                    hits = conn.execute(text(query), {"needle": f"%{needle.lower()}%"})
                    found |= {f"{table}.{name}: {value}" for (value,) in hits}
    return sorted(found)


def files_naming(folder: Path, needles: tuple[str, ...]) -> list[str]:
    return [
        str(p)
        for p in folder.rglob("*")
        if p.is_file() and any(n.lower().encode() in p.read_bytes().lower() for n in needles)
    ]


async def test_a_member_who_did_everything_is_forgotten_everywhere(cb: ConvBot, settings: Settings) -> None:
    # The forum, facilitated by Zelda; a topic she proposes; her profile, network and introductions.
    await cb.say(f"forum set --rule {RULE} --channel forum --facilitator @{ZELDA.user_id}", zelda=ZELDA)
    await as_zelda(cb, "me timezone Europe/London")
    await as_zelda(cb, 'me set --organisation "Harbour Council" --role "Chief of Staff"')
    await as_zelda(cb, "network join digital-leaders")
    await as_zelda(cb, "intro join digital-leaders")
    await cb.ok("network join digital-leaders", "bob")
    await cb.ok("intro join digital-leaders", "bob")
    await as_zelda(cb, "forum propose Keeping night-shift staff through a hiring freeze")
    await as_zelda(
        cb,
        'practice share --title "Night markets" --what "We ran night markets to bring people '
        'back to the high street after dark." --attribution anonymous',
    )
    await cb.app.set_local_role(ZELDA, Role.ADMIN, "test")
    await as_zelda(cb, "role grant @leo coordinator")
    # Bob proposes saving Zelda's message; she agrees, anonymously.
    [asked] = await cb.say(
        f'practice propose @{ZELDA.user_id} --title "Permit desk" --what "A shared permit '
        'desk with the county halved waiting times."',
        BOB,
        zelda=ZELDA,
    )
    assert not asked.is_error, asked.text
    # A convening she will attend, and an introduction round she is in.
    cid = await schedule(cb)
    await as_zelda(cb, f"convening rsvp {cid} going")
    await cb.ok('intro round digital-leaders --on "2027-03-10 12:00"', "cora")
    await cb.run_until(utc(2027, 3, 2, 17, 0))  # the forum opens; the proposal reaches her
    [proposal] = [s.reply for s in cb.messenger.sent if s.kind == "dm" and "Permit desk" in s.reply.text]
    await as_zelda(cb, next(c.command for c in proposal.choices if c.label == "Anonymous"))
    # Her forum reply, which Bob asks to capture; she agrees, anonymously.
    await as_zelda(cb, "forum reply Our clerks answered permits in the evening, once a week, by video.")
    [capture] = await cb.say("forum capture R1", BOB)
    assert not capture.is_error, capture.text
    await cb.run_until(utc(2027, 3, 2, 17, 1))
    [request] = [s.reply for s in cb.messenger.sent if s.kind == "dm" and "open forum" in s.reply.text]
    await as_zelda(cb, next(c.command for c in request.choices if c.label == "Anonymous"))
    await cb.run_until(utc(2027, 3, 10, 13, 0))  # the wrap-up, the forum invitation and the introductions
    # After the convening: she checks in and commits; her follow-ups are planned.
    await cb.run_until(STARTS_UTC + timedelta(minutes=30))
    await as_zelda(cb, f"after checkin {cid}")
    await as_zelda(cb, f"after commit {cid} Run our budget hearing as a listening session")
    await as_zelda(cb, f"after note {cid} Ask Cora for the template")
    await cb.run_until(STARTS_UTC + timedelta(days=31))
    # The console saves her data and a calendar file, and Bob's data, in the data folder.
    zelda_console, bob_console = console_for(cb, settings, ZELDA), console_for(cb, settings, BOB)
    await via_console(zelda_console, "me data")
    await via_console(zelda_console, f"convening ics {cid}")
    await via_console(bob_console, "me data")
    # A long button command kept for a platform that limits button ids, and a claimed event, naming her.
    await cb.app.remember_button("approve-zelda", f"network approve digital-leaders console:{ZELDA.user_id}")
    assert await cb.app.claim_event("console", f"join:{ZELDA.user_id}:1")
    exports = files.exports_dir(settings.data_dir)
    saved = sorted(p.name for p in exports.rglob("*.json"))
    assert len(saved) == 2 and ZELDA.user_id not in " ".join(saved), saved  # one file each, names unguessable
    assert files_naming(settings.data_dir, SECRETS)  # her export names her, until she is forgotten
    assert rows_naming(cb, SECRETS)

    done = await cb.say("me forget --confirm", ZELDA)
    assert "forgotten you" in done[0].text, done[0].text

    leaks = rows_naming(cb, SECRETS) + files_naming(settings.data_dir, SECRETS)
    assert not leaks, "\n".join(leaks)
    # Nothing planned for or about her goes out later (her 60- and 90-day follow-ups were still planned).
    before = len(cb.messenger.sent)
    await cb.run_until(STARTS_UTC + timedelta(days=120))
    later = cb.messenger.sent[before:]
    assert not [s for s in later if s.target == ZELDA.user_id or ZELDA.display_name in s.reply.plain_text()]
    assert [p.name for p in exports.rglob("*.json")] != []  # Bob's export is his, and stays
    # What she gave the community stays, credited to nobody.
    for ref in ("P1", "P2", "P3"):
        assert ("Shared by", "anonymous (Chatham House Rule)") in (await cb.ok(f"practice show {ref}")).fields
    assert "Keeping night-shift staff" in (await cb.ok("forum show 2027-03-02")).plain_text()
    data = json.loads((await cb.ok("me data", "bob")).attachments[0].content)
    assert data["core"]["member"]["user_id"] == "bob"
