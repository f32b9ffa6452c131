"""The resource digest on the scheduler: one planned post per date (key `digest:<local date>`).

The next two dates are always planned (at start, when a coordinator changes the digest, and by each
digest as it runs), so one missed digest does not end the series. A digest not sent within its grace
window is skipped and reported like any planned post; the resources it would have shown stay in the queue.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.messages import Choice, Item, Reply, Visibility
from bot.messenger import DeliveryError
from content.resources import digest, service
from content.resources.models import DigestPlace, DigestSettings
from scheduling.engine import outbox
from scheduling.engine import places as place
from scheduling.engine.runner import Delivery
from scheduling.time.cadence import Cadence

KIND = "resource.digest"
PREFIX = "digest:"
AHEAD = 2  # dates planned ahead
GRACE = timedelta(hours=6)  # a digest later than this after its time is skipped


def key_for(start: datetime, tz: str) -> str:
    return f"{PREFIX}{start.astimezone(ZoneInfo(tz)):%Y-%m-%d}"


def places(session: Session) -> list[DigestPlace]:
    return place.all_of(session, DigestPlace)


def ensure_planned(session: Session, now: datetime, ds: DigestSettings | None = None) -> list[datetime]:
    """Plan the next digests, in the main channel and in each workspace's own, if a digest is set.
    Idempotent: a date already planned or sent is kept."""
    ds = ds or digest.settings_row(session)
    if ds is None:
        return []
    cadence = Cadence.from_text(ds.cadence)
    extra = places(session)
    dates = []
    for occ in cadence.occurrences(now, AHEAD):
        key = key_for(occ.start, cadence.tz)
        outbox.plan(session, key=key, kind=KIND, due_at=occ.start, expires_at=occ.start + GRACE)
        for own in extra:  # the same digest (the main key's picks) in each workspace's own channel
            outbox.plan(
                session,
                key=key + place.suffix(own.platform, own.workspace),
                kind=KIND,
                due_at=occ.start,
                expires_at=occ.start + GRACE,
                payload=place.payload(own),
            )
        dates.append(occ.start)
    return dates


def configure(
    session: Session,
    now: datetime,
    *,
    platform: str,
    channel_id: str,
    cadence: Cadence,
    per_digest: int,
    workspace: str = "",
) -> list[datetime]:
    """Set where and how often the digest runs; future digests are re-planned on the new rule."""
    ds = digest.settings_row(session) or DigestSettings(platform=platform, channel_id=channel_id, cadence="")
    ds.platform, ds.channel_id, ds.cadence = platform, channel_id, cadence.to_text()
    ds.workspace = workspace
    ds.per_digest, ds.updated_at = per_digest, now
    session.add(ds)
    place.adopt_as_main(session, DigestPlace, PREFIX, (platform, workspace))
    session.flush()
    outbox.cancel(session, PREFIX)
    return ensure_planned(session, now, ds)


def stop(session: Session) -> bool:
    ds = digest.settings_row(session)
    if ds is None:
        return False
    outbox.cancel(session, PREFIX)
    session.delete(ds)
    return True


def compose(views: list[service.ResourceView], date: str) -> Reply:
    items = []
    for v in views:
        r = v.resource
        facts = (
            ("By", v.by()),
            ("Kind", f"{r.kind}, {r.level}, {r.cost}"),
            ("Time", r.time),
            ("Link", v.link()),
        )
        items.append(
            Item(
                title=r.title,
                body=digest.note(r.summary),
                fields=facts,
                ref=v.ref,
                choices=(
                    Choice("Show", f"resource show {v.ref}"),
                    Choice("Useful", f"resource rate {v.ref}", style="primary"),
                ),
            )
        )
    what = "resource" if len(items) == 1 else "resources"
    return Reply(
        f"Resource digest for {date}: {len(items)} {what} from the community's catalog.",
        items=tuple(items),
        visibility=Visibility.PUBLIC,
        footer="More: resource search <words> · resource suggest picks some for you",
    )


async def on_digest(d: Delivery) -> dict[str, Any]:
    named = (d.post.payload or {}).get("place")
    key = place.main_key(d.post.key)  # a workspace's copy presents the main digest's picks
    now = d.now

    def prepare(
        session: Session,
    ) -> tuple[tuple[str, str, str], list[service.ResourceView]] | None:
        ds = digest.settings_row(session, lock=True)  # one digest's copies pick one after the other
        if ds is None:
            return None
        where = (ds.platform, ds.channel_id, ds.workspace)
        if named:
            row = place.find(session, DigestPlace, named[0], named[1])
            if row is None:
                return None
            where = (row.platform, row.channel_id, row.workspace)
        else:
            ensure_planned(session, now, ds)  # the next ones, whatever happens to this one
        ids = digest.pick(session, key, ds.per_digest, now)
        return where, service.views(session, service.by_ids(session, ids))

    prepared = await d.store.run(prepare)
    d.scheduler.wake()
    if prepared is None:
        return {"not_sent": "the digest (or this workspace's channel for it) was turned off"}
    (platform, channel_id, workspace), views = prepared
    if not views:
        raise DeliveryError("the catalog has no active resources to present", retryable=False)
    posted = await d.messenger(platform).post(
        channel_id, compose(views, key.removeprefix(PREFIX)), workspace=workspace
    )
    return {"message_id": posted.message_id, "resources": [v.ref for v in views]}


POSTS = {KIND: on_digest}
