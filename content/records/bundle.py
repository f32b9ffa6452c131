"""A records-request bundle: everything matching a request, as one zip that is the same bytes every time.

The zip holds, per kind, a JSON and a CSV file (rows in id order), a cover sheet (what was searched, what
was found, what was withheld by policy and why) and a manifest with each file's SHA-256. Nothing in it
depends on when it was made: entries carry a fixed timestamp and are written in name order, so a repeated
export of the same request over the same records is byte for byte identical.

Credit is honoured as everywhere else (content/practices/export.py makes the practice rows): an author
credited anonymously or by role only is not named, and such practices are not matched by a member or
network criterion (that match alone would name them), unless the admin sets the audited disclosure flag.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from bot.errors import ArgumentError
from bot.networks.models import MembershipState, Network, NetworkMember
from bot.store.models import MemberRecord
from bot.words import counted
from content.practices import service as practices
from content.practices.export import record as practice_record
from content.practices.models import Attribution
from content.records import service
from content.records.models import RecordKind
from scheduling.convenings.after.models import ConveningAttendance, ConveningNote
from scheduling.convenings.models import Convening
from scheduling.forum.models import ForumOccurrence, ForumReply

FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip entry can carry
FILES = {
    RecordKind.PRACTICE: "practices",
    RecordKind.FORUM_REPLY: "forum_replies",
    RecordKind.CONVENING_NOTE: "convening_notes",
    RecordKind.ATTENDANCE: "attendance",
}


@dataclass(frozen=True)
class Request:
    from_day: date | None = None
    to_day: date | None = None
    keywords: tuple[str, ...] = ()
    members: tuple[int, ...] = ()  # member ids
    member_names: tuple[str, ...] = ()  # as the admin named them, for the cover sheet
    networks: tuple[str, ...] = ()  # slugs
    disclose: bool = False

    def describe(self) -> list[str]:
        return [
            f"Date range (UTC, inclusive): {self.from_day or 'any'} to {self.to_day or 'any'}",
            "Keywords (any of them, in the record's text): " + (", ".join(self.keywords) or "none"),
            "Members (records they wrote or attended): " + (", ".join(self.member_names) or "any"),
            "Networks: " + (", ".join(self.networks) or "any"),
            "Anonymous and role-only authors disclosed: "
            + ("YES (admin disclosure flag, audited)" if self.disclose else "no"),
        ]

    def key(self) -> str:
        """A short fingerprint of the request: the bundle's name."""
        text = json.dumps(
            [
                str(self.from_day),
                str(self.to_day),
                sorted(self.keywords),
                sorted(self.members),
                sorted(self.networks),
                self.disclose,
            ]
        )
        return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass
class Bundle:
    data: bytes
    name: str
    counts: dict[str, int]
    withheld: list[str] = field(default_factory=list)


def _network_members(session: Session, slugs: Sequence[str]) -> tuple[set[int], set[int]]:
    """(network ids, member ids of those networks)."""
    nets = list(session.exec(select(Network).where(col(Network.slug).in_(list(slugs)))))
    unknown = sorted(set(slugs) - {n.slug for n in nets})
    if unknown:
        raise ArgumentError(
            f"There is no network {unknown[0]!r}; give its short name, as network list shows it "
            "(e.g. --network digital-leaders).",
            "network",
        )
    ids = {n.id for n in nets if n.id is not None}
    members = session.exec(
        select(NetworkMember.member_id).where(
            col(NetworkMember.network_id).in_(ids), col(NetworkMember.state) == MembershipState.MEMBER.value
        )
    )
    return ids, set(members)


def _in_range(req: Request, rec: service.Rec) -> bool:
    day = rec.written_at.date()
    return (req.from_day is None or day >= req.from_day) and (req.to_day is None or day <= req.to_day)


def _keyword(req: Request, text: str) -> bool:
    return not req.keywords or any(k.casefold() in text.casefold() for k in req.keywords)


def _who(session: Session, member_id: int | None) -> str:
    m = session.get(MemberRecord, member_id) if member_id else None
    return f"{m.display_name} ({m.as_member().ref})" if m else "a forgotten member"


def collect(session: Session, req: Request) -> tuple[dict[RecordKind, list[dict[str, Any]]], list[str]]:
    """The matching rows per kind, and the withholding notes."""
    net_ids, net_members = _network_members(session, req.networks) if req.networks else (set(), set())
    people = set(req.members)
    rows: dict[RecordKind, list[dict[str, Any]]] = {k: [] for k in RecordKind}
    withheld: list[str] = []
    labels, kind_defaults = service.labels(session), service.defaults(session)

    def class_of(rec: service.Rec) -> str:
        return labels.get((rec.kind.value, rec.id)) or kind_defaults.get(rec.kind) or ""

    def by_person(member_id: int | None) -> bool:
        if people and member_id not in people:
            return False
        return not req.networks or member_id in net_members

    for rec in service.records(session):
        if not _in_range(req, rec) or not _keyword(req, rec.text):
            continue
        if rec.kind is RecordKind.PRACTICE:
            p = practices.get(session, rec.id)
            named = p.attribution == Attribution.NAMED.value
            if (people or req.networks) and not (named or req.disclose):
                continue  # matching them by member would name their author
            if (people or req.networks) and not by_person(p.author_id):
                continue
            row = practice_record(practices.views(session, [p])[0])
            row["reviewed"] = p.reviewed_at.strftime("%Y-%m-%d") if p.reviewed_at else ""
            row["attribution"] = p.attribution
            if named:
                row["author"] = p.author_name
            elif req.disclose:
                row["author"] = p.author_name or _who(session, p.author_id)
            else:
                row["author"] = ""
                withheld.append(f"{row['id']}: author withheld (credited {Attribution(p.attribution).label})")
        elif rec.kind is RecordKind.FORUM_REPLY:
            if (people or req.networks) and not by_person(rec.member_id):
                continue
            reply = session.get(ForumReply, rec.id)
            assert reply is not None
            occ = session.get(ForumOccurrence, reply.occurrence_id)
            row = {
                "id": rec.id,
                "forum": f"{occ.starts_at:%Y-%m-%d}" if occ else "",
                "author": _who(session, rec.member_id),
                "text": reply.text,
                "link": reply.link,
                "created": f"{rec.written_at:%Y-%m-%d %H:%M}",
            }
        else:
            if rec.kind is RecordKind.CONVENING_NOTE:
                n = session.get(ConveningNote, rec.id)
                assert n is not None
                conv_id = n.convening_id
            else:
                a = session.get(ConveningAttendance, rec.id)
                assert a is not None
                conv_id = a.convening_id
            conv = session.get(Convening, conv_id)
            assert conv is not None
            if req.networks and conv.network_id not in net_ids:
                continue
            if people and rec.member_id not in people:
                continue
            net = session.get(Network, conv.network_id)
            row = {
                "id": rec.id,
                "convening": conv.title,
                "convening_date": f"{conv.starts_at:%Y-%m-%d}",
                "network": net.slug if net else "",
            }
            if rec.kind is RecordKind.CONVENING_NOTE:
                row.update(
                    author=_who(session, rec.member_id),
                    text=n.text,
                    created=f"{rec.written_at:%Y-%m-%d %H:%M}",
                )
            else:
                shown = a.share_in_export or req.disclose
                row.update(attendee=_who(session, rec.member_id) if shown else "", how=a.how)
                row["recorded"] = f"{rec.written_at:%Y-%m-%d}"
                if not shown:
                    withheld.append(
                        f"attendance {rec.id}: attendee withheld (did not agree to appear in exports)"
                    )
        row["records_class"] = class_of(rec)
        rows[rec.kind].append(row)
    return rows, withheld


def _csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    names = sorted({k for r in rows for k in r}) or ["id"]
    writer = csv.DictWriter(out, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: "; ".join(v) if isinstance(v, list) else v for k, v in r.items()})
    return out.getvalue().encode()


def _cover(req: Request, counts: dict[str, int], withheld: list[str]) -> bytes:
    lines = [
        "RECORDS REQUEST: COVER SHEET",
        "",
        "What was searched",
        *(f"  {line}" for line in req.describe()),
        "  Kinds of record: practices, forum replies, convening notes, attendance",
        "  Not held by copbot, so not searched: chat messages that were not recorded as forum replies, "
        "direct messages, files on the chat platform.",
        "",
        "What was found",
        *(f"  {name}: {counted(n, 'record')} ({name}.json and {name}.csv)" for name, n in counts.items()),
        "",
        "Withheld by policy",
        "  Authors credited anonymously or by role only are not named, and their practices are not matched "
        "by a member or network criterion, unless the disclosure flag is set.",
        "  Attendees who did not agree to appear in exports are not named, unless the disclosure flag is set.",
        *(f"  {w}" for w in withheld),
        *([] if withheld else ["  Nothing in this bundle was withheld."]),
        "",
        "manifest.json lists every file in this bundle with its SHA-256.",
    ]
    return ("\n".join(lines) + "\n").encode()


def build(session: Session, req: Request) -> Bundle:
    rows, withheld = collect(session, req)
    files: dict[str, bytes] = {}
    counts: dict[str, int] = {}
    for kind, name in FILES.items():
        found = sorted(rows[kind], key=lambda r: str(r["id"]).lstrip("P").zfill(12))
        counts[name] = len(found)
        files[f"{name}.json"] = (
            json.dumps(found, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        ).encode()
        files[f"{name}.csv"] = _csv(found)
    files["cover_sheet.txt"] = _cover(req, counts, withheld)
    manifest = {
        "request": req.describe(),
        "files": [
            {"name": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for name, data in sorted(files.items())
        ],
    }
    files["manifest.json"] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, files[name])
    return Bundle(out.getvalue(), f"records-request-{req.key()}.zip", counts, withheld)
