"""The review sweep on the scheduler: one planned post a day (key `review:sweep:<local date>`, at 08:00 in
the community's zone) while reviews are on (a coordinator set them up with `review settings`). Each sweep
plans the next days, so one missed sweep does not end the series; the DMs a sweep decides on are planned
posts of their own (scheduling/engine/notices.py), each once."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.config import Settings
from content.review import service
from scheduling.engine import outbox
from scheduling.engine.runner import Delivery

KIND = "review.sweep"
PREFIX = "review:sweep:"
AT = time(8, 0)
AHEAD = 2
GRACE = timedelta(hours=20)


def ensure_planned(session: Session, now: datetime, tz: str) -> list[datetime]:
    """Plan the next sweeps, if reviews are on. Idempotent: a date already planned or swept is kept."""
    if not service.reviews_on(session):
        return []
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    planned: list[datetime] = []
    for i in range(AHEAD + 1):
        start = datetime.combine(today + timedelta(days=i), AT, zone)
        if start <= now:
            continue
        outbox.plan(
            session,
            key=f"{PREFIX}{start.date().isoformat()}",
            kind=KIND,
            due_at=start,
            expires_at=start + GRACE,
        )
        planned.append(start)
    return planned


def stop(session: Session) -> None:
    outbox.cancel(session, PREFIX)


def run_sweep(session: Session, now: datetime, settings: Settings) -> dict[str, Any]:
    if not service.reviews_on(session):
        return {"not_sent": "reviews were turned off"}
    report = service.sweep(session, now, settings)
    ensure_planned(session, now, settings.timezone)
    return asdict(report)


async def on_sweep(d: Delivery) -> dict[str, Any]:
    result = await d.store.run(lambda s: run_sweep(s, d.now, d.settings))
    d.scheduler.wake()  # the DMs it planned are due now
    return result


POSTS = {KIND: on_sweep}
