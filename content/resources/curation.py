"""The `resource` commands coordinators use: add, edit, retire, restore, digest; and export for everyone.

Chat additions follow the catalog files' own rules (content/resources/catalog.py's CatalogEntry), and `resource
export` writes catalog files, so what is added in chat can be committed to content/catalog.
"""

from __future__ import annotations

import re
from datetime import date
from enum import Enum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.commands import CommandGroup, Opt
from bot.context import Context, ensure_member
from bot.errors import ArgumentError, CommandError
from bot.messages import Attachment, Reply, Visibility
from bot.permissions import Role
from bot.words import counted
from content.resources import catalog_sync, digest, service
from content.resources import digest_posts as digest_schedule
from content.resources.catalog import AREAS
from content.resources.commands import Area, Cost, Kind, Level, ResourceRef, item
from content.resources.models import DigestPlace, Origin, Resource, RetiredBy, Status
from scheduling.engine import places as place
from scheduling.time.cadence import Cadence, CadenceError, parse_cadence
from scheduling.time.when import read_date

curation = CommandGroup("resource", "curated learning resources")


def _date(raw: str) -> date:
    return read_date(raw, "2026-11-22")


Title = Annotated[str, Opt(help="the resource's title", max_length=300, example='"Thinking in Systems"')]
Summary = Annotated[
    str,
    Opt(
        help="what it is and who it suits, in two or three sentences (600 characters at most)",
        long=True,
        max_length=600,
    ),
]
Url = Annotated[str, Opt(help="its web address (https://...)", max_length=500)]
UrlNote = Annotated[str, Opt(help="when there is no stable link: how to find it", max_length=500)]
Author = Annotated[str, Opt(help="author(s); give an author or a publisher", max_length=300)]
Publisher = Annotated[str, Opt(help="publisher, with the year if known", max_length=300)]
Time = Annotated[
    str, Opt(help='how long it takes, e.g. "2 hours" or "book (about 240 pages)"', max_length=100)
]
Checked = Annotated[
    date | None,
    Opt(help="when the link was last checked (default: today)", converter=_date, metavar="YYYY-MM-DD"),
]


def _entry_values(r: Resource | None, areas: list[str], changes: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if r is not None:
        values = catalog_sync.to_entry(r, areas).model_dump()
    for name, value in changes.items():
        if isinstance(value, Enum):
            value = value.value
        elif isinstance(value, list):
            value = tuple(v.value if isinstance(v, Enum) else v for v in value)
        values[name] = value if value != "" else None
    return values


@curation.command("add", role=Role.COORDINATOR, form=True)
async def add(
    ctx: Context,
    *,
    title: Title,
    kind: Annotated[Kind, Opt(help="what it is")],  # type: ignore[valid-type]
    areas: Annotated[list[Area], Opt(help="its learning areas; the first is its catalog file")],  # type: ignore[valid-type]
    summary: Summary,
    level: Annotated[Level, Opt(help="who it suits")],  # type: ignore[valid-type]
    time: Time,
    cost: Annotated[Cost, Opt(help="free or paid")],  # type: ignore[valid-type]
    url: Url = "",
    url_note: UrlNote = "",
    author: Author = "",
    publisher: Publisher = "",
    checked: Checked = None,
) -> Reply:
    """Add a resource to the catalog (coordinators). It is presented first in the next digest.

    It follows the catalog files' rules: an author or a publisher, a link or a note on how to find it.
    Example: resource add --title "Thinking in Systems" --kind book --areas systems-thinking --summary "A primer on stocks, flows and feedback." --level introductory --time "book (about 240 pages)" --cost paid --author "Donella Meadows" --url https://www.chelseagreen.com/product/thinking-in-systems/
    """
    now = ctx.now()
    changes = dict(
        title=title,
        kind=kind,
        areas=areas,
        summary=summary,
        level=level,
        time=time,
        cost=cost,
        url=url,
        url_note=url_note,
        author=author,
        publisher=publisher,
        checked=checked or now.date(),
    )
    member = ctx.member

    def apply(session: Session) -> service.ResourceView:
        values = _entry_values(None, [], changes)
        values["id"] = catalog_sync.slug_for(session, title)
        entry = catalog_sync.validate(values)
        record = ensure_member(session, member)
        r = Resource(
            slug=entry.id,
            **catalog_sync.columns(entry),
            origin=Origin.CHAT.value,
            added_by=record.id,
            created_at=now,
            updated_at=now,
        )
        session.add(r)
        session.flush()
        catalog_sync.set_areas(session, r, entry.areas)
        session.flush()
        return service.views(session, [r])[0]

    v = await ctx.store.run(apply)
    return Reply(
        f"Added {v.ref}: {v.resource.title} (slug {v.resource.slug}). It leads the next digest.",
        items=(item(v),),
        visibility=Visibility.PUBLIC,
        footer=f"To commit it to the catalog files: resource export --area {v.home_area}",
    )


@curation.command("edit", role=Role.COORDINATOR)
async def edit(
    ctx: Context,
    resource: ResourceRef,
    *,
    title: Annotated[str | None, Opt(help="the resource's title", max_length=300)] = None,
    kind: Annotated[Kind | None, Opt(help="what it is")] = None,  # type: ignore[valid-type]
    areas: Annotated[list[Area], Opt(help="its learning areas (replaces the list)")] = [],  # type: ignore[valid-type]
    summary: Annotated[str | None, Opt(help="the summary", long=True, max_length=600)] = None,
    level: Annotated[Level | None, Opt(help="who it suits")] = None,  # type: ignore[valid-type]
    time: Annotated[str | None, Opt(help="how long it takes", max_length=100)] = None,
    cost: Annotated[Cost | None, Opt(help="free or paid")] = None,  # type: ignore[valid-type]
    url: Annotated[str | None, Opt(help='its web address; "" removes it', max_length=500)] = None,
    url_note: Annotated[
        str | None, Opt(help='how to find it without a link; "" removes it', max_length=500)
    ] = None,
    author: Annotated[str | None, Opt(help='author(s); "" removes them', max_length=300)] = None,
    publisher: Annotated[str | None, Opt(help='publisher; "" removes it', max_length=300)] = None,
    checked: Annotated[
        date | None, Opt(help="when the link was last checked", converter=_date, metavar="YYYY-MM-DD")
    ] = None,
) -> Reply:
    """Change a resource (coordinators). Only the options you give change; the catalog rules still apply.

    An edit to a catalog entry lasts until its catalog file changes; export and commit it to keep it.
    Example: resource edit L12 --url https://www.example.org/new-page --checked 2026-12-01
    """
    args = dict(
        title=title,
        kind=kind,
        areas=areas,
        summary=summary,
        level=level,
        time=time,
        cost=cost,
        url=url,
        url_note=url_note,
        author=author,
        publisher=publisher,
        checked=checked,
    )
    changes = {k: v for k, v in args.items() if v not in (None, [])}
    if not changes:
        raise ArgumentError(
            f'Say what to change, for example: resource edit {resource} --title "New title". '
            "See: help resource edit"
        )
    now = ctx.now()

    def apply(session: Session) -> service.ResourceView:
        r = service.resolve(session, resource)
        current = service.areas_of(session, [r.id or 0])[r.id or 0]
        entry = catalog_sync.validate(_entry_values(r, current, changes))
        for name, value in catalog_sync.columns(entry).items():
            setattr(r, name, value)
        r.updated_at = now
        session.add(r)
        session.flush()
        catalog_sync.set_areas(session, r, entry.areas)
        session.flush()
        return service.views(session, [r])[0]

    v = await ctx.store.run(apply)
    return Reply(f"Updated {v.ref} ({', '.join(sorted(changes))}).", items=(item(v),))


async def _set_status(ctx: Context, resource: str, status: Status) -> Reply:
    now = ctx.now()

    def apply(session: Session) -> tuple[bool, str, str]:
        r = service.resolve(session, resource)
        ref = service.resource_ref(r.id or 0)
        if r.status == status.value:
            return False, ref, r.title
        if status is Status.RETIRED:
            r.retired_by = RetiredBy.COORDINATOR.value
        else:
            if r.retired_by == RetiredBy.CATALOG.value:
                r.origin = Origin.CHAT.value  # gone from the files: it lives on as a chat addition
            r.retired_by = ""
        r.status, r.updated_at = status.value, now
        session.add(r)
        return True, ref, r.title

    changed, ref, title = await ctx.store.run(apply)
    if not changed:
        return Reply(f"{ref} is already {status.value}; nothing changed.")
    if status is Status.RETIRED:
        return Reply(
            f"Retired {ref} ({title}). It leaves search and the digest; undo with: resource restore {ref}"
        )
    return Reply(f"Restored {ref} ({title}); it shows in search and the digest again.")


@curation.command("retire", role=Role.COORDINATOR)
async def retire(ctx: Context, resource: ResourceRef) -> Reply:
    """Take a resource out of search and the digest (coordinators). Nothing is deleted.

    Example: resource retire L12
    """
    return await _set_status(ctx, resource, Status.RETIRED)


@curation.command("restore", role=Role.COORDINATOR)
async def restore(ctx: Context, resource: ResourceRef) -> Reply:
    """Bring a retired resource back (coordinators).

    Example: resource restore L12
    """
    return await _set_status(ctx, resource, Status.ACTIVE)


@curation.command("export")
async def export(
    ctx: Context,
    *,
    area: Annotated[Area | None, Opt(help="only this area's catalog file")] = None,  # type: ignore[valid-type]
) -> Reply:
    """Download the catalog as YAML files in the catalog's own format, chat additions included.

    Commit them to content/catalog to keep what was added or edited in chat.
    Example: resource export --area systems-thinking
    """
    wanted = area.value if area is not None else None
    files = await ctx.store.run(lambda s: catalog_sync.export_files(s, wanted))
    total = sum(n for _, _, n in files)
    attachments = tuple(Attachment(name, text.encode(), "application/yaml") for name, text, _ in files)
    where = f"the {AREAS[wanted]} file" if wanted else f"{len(files)} catalog files"
    return Reply(
        f"Exported {counted(total, 'resource')} in {where}. Put them in content/catalog/ and commit.",
        attachments=attachments,
    )


@curation.command("digest", role=Role.COORDINATOR)
async def digest_command(
    ctx: Context,
    *,
    rule: Annotated[str, Opt(help='when it is posted, e.g. "every Monday at 9:00"', max_length=300)] = "",
    channel: Annotated[
        str, Opt(help="where it is posted (default: where it was, else this channel)", max_length=100)
    ] = "",
    count: Annotated[int | None, Opt(help="resources in each digest", min=1, max=10)] = None,
    off: Annotated[bool, Opt(help="stop the digest")] = False,
) -> Reply:
    """Post a few catalog resources on a schedule, going round every area without repeats (coordinators).

    With no options, says how the digest is set.
    Example: resource digest --channel learning --rule "every Monday at 9:00" --count 2
    """
    now, tz, place = ctx.now(), ctx.settings.timezone, ctx.place
    if off:
        stopped = await ctx.store.run(digest_schedule.stop)
        return Reply("The resource digest is off." if stopped else "The resource digest was not on.")
    if not rule and count is None and not channel:
        return await ctx.store.run(lambda s: _status(s, now))
    cadence: Cadence | None = None
    if rule:
        try:
            cadence = parse_cadence(rule, tz, anchor=now.date())
        except CadenceError as exc:
            raise ArgumentError(f"--rule: {exc}", "rule") from None

    def apply(session: Session) -> tuple[list[Any], Cadence, str, int]:
        ds = digest.settings_row(session)
        if ds is None and cadence is None:
            raise CommandError(
                'The digest is not set yet; give a rule: resource digest --rule "every Monday at 9:00"'
            )
        chosen = cadence or Cadence.from_text(ds.cadence)  # type: ignore[union-attr]
        keep = ds is not None and not channel  # no --channel: the digest stays where it is
        platform = ds.platform if keep else place.platform  # type: ignore[union-attr]
        channel_id = ds.channel_id if keep else (channel.lstrip("#") or place.channel_id)  # type: ignore[union-attr]
        per = count or (ds.per_digest if ds else 2)
        workspace = ds.workspace if keep else ctx.member.workspace  # type: ignore[union-attr]
        dates = digest_schedule.configure(
            session,
            now,
            platform=platform,
            channel_id=channel_id,
            cadence=chosen,
            per_digest=per,
            workspace=workspace,
        )
        return dates, chosen, channel_id, per

    dates, chosen, channel_id, per = await ctx.store.run(apply)
    ctx.services.scheduler.wake()
    nexts = "; ".join(f"{d.astimezone(_zone(chosen)):%a %-d %b %Y %H:%M}" for d in dates)
    return Reply(
        f"The resource digest posts {counted(per, 'resource')} {_describe(chosen)} in #{channel_id}. Next: {nexts}.",
        visibility=Visibility.PUBLIC,
    )


@curation.command("channel", role=Role.COORDINATOR)
async def digest_channel(
    ctx: Context,
    channel: Annotated[
        str,
        Opt(
            help="this workspace's channel for the digest, or off; leave out to see where it posts",
            max_length=100,
        ),
    ] = "",
) -> Reply:
    """Post the resource digest in this workspace's own channel too, or stop (each workspace may set one).

    With copbot installed in several workspaces, each workspace that sets a channel gets the same digest
    there, posted with its own token; a workspace that sets none gets nothing. The main channel is the one
    resource digest names.
    Example: resource channel #learning
    Example: resource channel off
    """
    here, member, now = ctx.place, ctx.member, ctx.now()
    mine = (here.platform, member.workspace)

    def apply(session: Session) -> str:
        ds = digest.settings_row(session)
        if ds is None:
            raise CommandError(
                'The digest is not set yet; a coordinator starts it with: resource digest --rule "every Monday at 9:00"'
            )
        done = place.change(
            session,
            DigestPlace,
            what="resource digest",
            key_prefix=digest_schedule.PREFIX,
            main=(ds.platform, ds.workspace),
            mine=mine,
            wanted=channel.strip().lstrip("#"),
            move_hint="move it with resource digest --channel #other, or stop it with resource digest --off",
        )
        if done.main:
            ds.channel_id = channel.strip().lstrip("#")
            session.add(ds)
        if done.main or done.place is not None:
            digest_schedule.ensure_planned(session, now, ds)
        where = place.where_posted(
            session, DigestPlace, "resource digest", (ds.platform, ds.workspace, ds.channel_id), mine
        )
        return "\n".join(x for x in (done.said, where) if x)

    said = await ctx.store.run(apply)
    ctx.services.scheduler.wake()
    return Reply(said)


def _zone(c: Cadence) -> ZoneInfo:
    return ZoneInfo(c.tz)


def _describe(c: Cadence) -> str:
    """The cadence without the meeting length a digest does not have: 'every Monday, at 09:00 ...'."""
    return re.sub(r"(\d{2}:\d{2})[–-]\d{2}:\d{2}", r"at \1", c.describe())


def _status(session: Session, now: Any) -> Reply:
    ds = digest.settings_row(session)
    if ds is None:
        return Reply(
            'The resource digest is off. Start it with: resource digest --rule "every Monday at 9:00" '
            "--count 2"
        )
    cadence = Cadence.from_text(ds.cadence)
    round_no, shown, active = digest.progress(session)
    upcoming = cadence.occurrences(now, 1)
    nxt = f" Next: {upcoming[0].start.astimezone(_zone(cadence)):%a %-d %b %Y %H:%M}." if upcoming else ""
    return Reply(
        f"The resource digest posts {counted(ds.per_digest, 'resource')} {_describe(cadence)} in #{ds.channel_id}."
        f"{nxt} Round {round_no}: {shown} of {active} resources shown."
    )
