"""Public records: a policy with retention, classification (audited), legal holds, retention runs that
delete only what a coordinator approved and never what is held, the disposition log, and records-request
bundles that hold exactly the matching records, verify, withhold anonymous authors and repeat byte for byte."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.config import Settings
from bot.messages import Reply
from bot.permissions import Role
from tests.convening_world import STARTS_UTC, ConvBot, digital_leaders, schedule, utc

RULE = '"first Tuesday of every month, 12:00 to 13:00, America/New_York"'


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[tuple[ConvBot, int]]:
    """On 1 March 2027: three practices (named, anonymous, role only), two forum replies on 2 March, and a
    convening on 14 March with a note and two attendees (Ana agreed to appear in exports, Leo did not)."""
    async with digital_leaders(settings, members=("ana", "leo", "bob")) as cb:
        await cb.grant("rhea", Role.COORDINATOR)
        share = "practice share --what {what} --title {title} --attribution {how}"
        await cb.ok(share.format(title='"Budget town halls"', what='"Hearings online."', how="named"), "ana")
        await cb.ok(share.format(title='"Budget reserve rule"', what='"Keep 10%."', how="anonymous"), "bob")
        await cb.ok(
            share.format(title='"Open data"', what='"Publish it."', how="role")
            + ' --role-description "a CIO in a large city"',
            "leo",
        )
        await cb.ok(f"forum set --rule {RULE} --channel forum --facilitator @ana")
        await cb.run_until(utc(2027, 3, 2, 17, 5))
        await cb.ok("forum reply Our budget hearing moved to the evening.", "bob")
        await cb.ok("forum reply We publish minutes within a day.", "ana")
        cid = await schedule(cb)
        cb.clock.set(STARTS_UTC + timedelta(minutes=30))
        await cb.ok(f"after checkin {cid}", "ana")
        await cb.ok(f"after checkin {cid}", "leo")
        await cb.ok(f"after consent {cid} yes", "ana")
        await cb.ok(f"after note {cid} Ask Cora for the hearing template", "ana")
        yield cb, cid


def unzip(reply: Reply) -> dict[str, bytes]:
    [attachment] = reply.attachments
    with zipfile.ZipFile(io.BytesIO(attachment.content)) as z:
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in z.infolist())
        return {name: z.read(name) for name in z.namelist()}


async def test_retention_deletes_only_approved_records_never_held_ones_and_logs_each(
    world: tuple[ConvBot, int],
) -> None:
    cb, _ = world
    assert "No records policy yet" in (await cb.ok("records policy", "ana")).text
    assert "coordinator" in (await cb.fails("records class set transitory --keep-days 30", "ana")).lower()
    await cb.ok('records class set transitory --keep-days 30 --description "of passing value"', "rhea")
    await cb.ok("records class set program-record --permanent", "rhea")
    assert "--keep-days 90, or --permanent" in await cb.fails("records class set x", "rhea")
    for kind in ("forum-reply", "convening-note", "attendance"):
        await cb.ok(f"records default {kind} transitory", "rhea")
    await cb.ok("records default practice program-record", "rhea")
    assert "no records class 'nope'" in await cb.fails("records default practice nope", "rhea")
    policy = (await cb.ok("records policy", "ana")).plain_text()
    assert "transitory" in policy and "30 days" in policy and "Default for practice: program-record" in policy
    # P2 is a duplicate: a coordinator reclassifies it, with a reason the audit log keeps.
    assert "reason" in (await cb.fails("records classify practice P2 transitory", "rhea")).lower()
    done = await cb.ok('records classify practice P2 transitory --reason "duplicate of P1"', "rhea")
    assert "P2 is now of class transitory (was program-record)" in done.text
    assert "duplicate of P1" in (await cb.ok("audit list")).plain_text()
    # Holds: one by keyword, one by member.
    assert "at least one of" in await cb.fails('records hold add "Empty"', "rhea")
    await cb.ok('records hold add "Smith v. County" --keyword hearing --from-day 2027-03-10', "rhea")
    await cb.ok('records hold add "Inquiry 7" --member @leo', "rhea")
    # Nothing has expired yet.
    assert "no record is past" in (await cb.ok("records run", "rhea")).text
    cb.clock.set(utc(2027, 5, 1, 12))
    listed = await cb.ok("records run", "rhea")
    assert (
        listed.text
        == "Retention run R2: 6 records past their retention period, 2 of them on legal hold (they stay)."
    )
    rows = {i.title.split(". ", 1)[1]: dict(i.fields)["State"] for i in listed.items}
    assert rows == {
        "P2": "listed",
        "forum-reply 1": "listed",
        "forum-reply 2": "listed",
        "convening-note 1": "held (H1)",
        "attendance 1": "listed",
        "attendance 2": "held (H2)",
    }
    numbers = {i.title.split(". ", 1)[1]: i.title.split(".")[0] for i in listed.items}
    # Approving two listed records and a held one deletes only the two.
    approved = await cb.ok(
        f"records approve R2 --items {numbers['P2']},{numbers['forum-reply 1']},{numbers['convening-note 1']}",
        "rhea",
    )
    assert approved.text.startswith("Run R2: 2 deleted, 1 held.")
    assert await cb.count("practice") == 2 and await cb.count("forum_reply") == 1
    assert await cb.count("convening_note") == 1
    assert "No practices found" in (await cb.ok("practice search reserve")).text
    # The rest of the list, approved at once: held records stay.
    approved = await cb.ok("records approve R2 --all", "rhea")
    assert approved.text.startswith("Run R2: 2 deleted, 2 held, 2 already decided.")
    assert await cb.count("forum_reply") == 0 and await cb.count("convening_attendance") == 1
    assert await cb.count("convening_note") == 1
    log = (await cb.ok("records log", "rhea")).plain_text()
    assert log.count(": deleted") == 4 and log.count(": held") == 2
    audit = (await cb.ok("audit list")).plain_text()
    assert "records disposition deleted" in audit and "R2: practice 2" in audit
    # A released hold lets its records expire like any other.
    assert "Released legal hold H1" in (await cb.ok("records hold release H1", "rhea")).text
    again = await cb.ok("records run", "rhea")
    assert [dict(i.fields)["State"] for i in again.items] == ["listed", "held (H2)"]
    # me data and me forget keep working on the rest.
    data = await cb.ok("me data", "leo")
    mine = json.loads(data.attachments[0].content)
    assert mine["records"]["legal_holds_naming_you"][0]["name"] == "Inquiry 7"
    # A hold covers Leo's attendance: his `me forget` would destroy it, so it is refused, changing nothing.
    assert "under a legal hold" in await cb.fails("me forget --confirm", "leo")
    assert await cb.count("convening_attendance") == 1
    assert "Member: Leo" in (await cb.ok("records hold list", "rhea")).plain_text()
    await cb.ok("records hold release H2", "rhea")
    assert "Done" in (await cb.ok("me forget --confirm", "leo")).text
    assert await cb.count("convening_attendance") == 0
    assert await cb.count("records_hold WHERE member_id IS NOT NULL") == 0  # the hold no longer names him
    assert "Done" in (await cb.ok("me forget --confirm", "ana")).text


async def test_records_request_bundle_matches_verifies_withholds_and_repeats(
    world: tuple[ConvBot, int],
) -> None:
    cb, _ = world
    assert "admin" in (await cb.fails("records export", "rhea")).lower()
    march = "records export --from-day 2027-03-01 --to-day 2027-03-31"
    first = await cb.ok(march)
    files = unzip(first)
    assert sorted(files) == sorted(
        [
            f"{k}.{x}"
            for k in ("practices", "forum_replies", "convening_notes", "attendance")
            for x in ("json", "csv")
        ]
        + ["cover_sheet.txt", "manifest.json"]
    )
    manifest = json.loads(files["manifest.json"])
    assert len(manifest["files"]) == 9
    for entry in manifest["files"]:
        assert hashlib.sha256(files[entry["name"]]).hexdigest() == entry["sha256"]
    practices = json.loads(files["practices.json"])
    assert [(p["id"], p["author"]) for p in practices] == [("P1", "Ana"), ("P2", ""), ("P3", "")]
    assert practices[2]["shared_by"] == "a CIO in a large city"
    assert [r["text"][:9] for r in json.loads(files["forum_replies.json"])] == ["Our budge", "We publis"]
    attendance = json.loads(files["attendance.json"])
    assert [a["attendee"].split(" (")[0] for a in attendance] == ["Ana", ""]
    cover = files["cover_sheet.txt"].decode()
    assert "P2: author withheld (credited anonymous)" in cover
    assert "P3: author withheld (credited role only)" in cover
    assert "attendance 2: attendee withheld" in cover
    assert "Date range (UTC, inclusive): 2027-03-01 to 2027-03-31" in cover
    assert "Bob" not in files["practices.csv"].decode() and "Leo" not in files["attendance.csv"].decode()
    assert list(csv.DictReader(io.StringIO(files["practices.csv"].decode())))[0]["author"] == "Ana"
    # The same request again: the same bytes, and the same name.
    second = await cb.ok(march)
    assert second.attachments[0].content == first.attachments[0].content
    assert second.attachments[0].filename == first.attachments[0].filename
    # A narrower date range holds exactly what was written then.
    late = unzip(await cb.ok("records export --from-day 2027-03-10"))
    assert json.loads(late["practices.json"]) == [] and json.loads(late["forum_replies.json"]) == []
    assert (
        len(json.loads(late["convening_notes.json"])) == 1 and len(json.loads(late["attendance.json"])) == 2
    )
    # By keyword: the note and the forum reply about hearings (and nothing else).
    hearing = unzip(await cb.ok("records export --keyword hearing"))
    assert [
        len(json.loads(hearing[f"{k}.json"])) for k in ("practices", "forum_replies", "convening_notes")
    ] == [
        1,
        1,
        1,
    ]
    # By member: an anonymous author's practice is not matched by their name (that would name them) ...
    bob = unzip(await cb.ok("records export --member @bob"))
    assert json.loads(bob["practices.json"]) == [] and len(json.loads(bob["forum_replies.json"])) == 1
    # ... unless an admin discloses, which the audit log records.
    disclosed = unzip(await cb.ok("records export --member @bob --disclose-anonymous"))
    [p2] = json.loads(disclosed["practices.json"])
    assert p2["id"] == "P2" and p2["author"] == "Bob"
    assert "records export DISCLOSING anonymous authors" in (await cb.ok("audit list")).plain_text()
    # By network: convening records of that network, and what its members wrote.
    net = unzip(await cb.ok("records export --network digital-leaders"))
    assert len(json.loads(net["attendance.json"])) == 2
    assert [p["id"] for p in json.loads(net["practices.json"])] == ["P1"]
    assert "no network 'nope'" in await cb.fails("records export --network nope")
    assert "is after" in await cb.fails("records export --from-day 2027-04-01 --to-day 2027-03-01")
    assert "2027-03-01" in await cb.fails("records export --from-day 03/01/2027")


async def test_help_records_explains_in_plain_words(world: tuple[ConvBot, int]) -> None:
    cb, _ = world
    text = (await cb.ok("help records", "ana")).text
    assert (
        "What copbot keeps" in text and "For how long" in text and "What a records request can reveal" in text
    )
    assert "records policy" in text and "records export" not in text  # a member sees only what they may run
