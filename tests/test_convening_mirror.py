"""Convenings mirrored on a platform calendar through the outbox: in step, retried, never doubled."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.config import Settings
from bot.messenger import DeliveryError, MirrorEvent
from tests.convening_world import digital_leaders, schedule, utc


@dataclass
class RecordingMirror:
    """A platform calendar (bot.messenger.EventMirror) that records what it is asked, and can fail."""

    platform: str = "chat"
    scopes: tuple[str, ...] = ("guild-1",)
    calls: list[tuple[str, str | None, MirrorEvent]] = field(default_factory=list)
    events: dict[str, MirrorEvent] = field(default_factory=dict)
    fail_next: int = 0

    def mirror_scopes(self) -> tuple[str, ...]:
        return self.scopes

    async def mirror_convening(
        self, scope_id: str, event: MirrorEvent, external_id: str | None
    ) -> str | None:
        if self.fail_next:
            self.fail_next -= 1
            raise DeliveryError("calendar said 503")
        self.calls.append((scope_id, external_id, event))
        key = external_id or f"e{len(self.events) + 1}"
        self.events[key] = event
        return key


async def test_created_moved_and_cancelled_in_step_and_never_doubled(settings: Settings) -> None:
    async with digital_leaders(settings) as cb:
        mirror = RecordingMirror()
        cb.app.add_messenger(mirror)  # type: ignore[arg-type]
        conv = await schedule(cb)
        await cb.app.scheduler.tick()
        [(scope, external, created)] = mirror.calls
        assert (scope, external, created.title, created.location) == (
            "guild-1",
            None,
            "Budget season",
            "https://meet.example/b",
        )
        assert created.starts_at == utc(2027, 3, 14, 15, 0) and "Digital Leaders" in created.description
        await cb.ok(f'convening move {conv} --to "March 21 2027 10:00 Central"', "cora")
        await cb.ok(f'convening edit {conv} --place "Room 4B"', "cora")
        await cb.app.scheduler.tick()
        assert len(mirror.calls) == 2  # two changes, one update: the older post is superseded
        moved = mirror.calls[1][2]
        assert (
            mirror.calls[1][1] == "e1"
            and moved.location == "Room 4B"
            and moved.starts_at == utc(2027, 3, 21, 15, 0)
        )
        await cb.ok(f"convening cancel {conv}", "cora")
        await cb.app.scheduler.tick()
        await cb.app.scheduler.tick()
        assert len(mirror.calls) == 3 and mirror.events["e1"].cancelled


async def test_a_failed_sync_is_retried_by_the_outbox(settings: Settings) -> None:
    async with digital_leaders(settings) as cb:
        mirror = RecordingMirror(fail_next=1)
        cb.app.add_messenger(mirror)  # type: ignore[arg-type]
        await schedule(cb)
        report = await cb.app.scheduler.tick()
        assert report.retrying == 1 and mirror.calls == []
        await cb.run_until(utc(2027, 3, 1, 12, 5))  # past the first backoff
        assert [c[1] for c in mirror.calls] == [None] and len(mirror.events) == 1


async def test_a_series_is_mirrored_each_and_its_cancellation_too(settings: Settings) -> None:
    async with digital_leaders(settings) as cb:
        mirror = RecordingMirror()
        cb.app.add_messenger(mirror)  # type: ignore[arg-type]
        reply = await cb.ok(
            'convening series digital-leaders --title "Budget circle" '
            '--rule "monthly on the first Tuesday at 10:00" --count 3',
            "cora",
        )
        await cb.app.scheduler.tick()
        assert len(mirror.events) == 3 and not any(e.cancelled for e in mirror.events.values())
        series = reply.text.split("series ")[1].split(",")[0]
        await cb.ok(f"convening series-cancel {series}", "cora")
        await cb.app.scheduler.tick()
        assert all(e.cancelled for e in mirror.events.values()) and len(mirror.calls) == 6


async def test_without_a_platform_calendar_nothing_is_mirrored_and_nothing_fails(settings: Settings) -> None:
    async with digital_leaders(settings) as cb:
        await schedule(cb)
        report = await cb.app.scheduler.tick()
        assert report.failed == 0 and await cb.count("convening_mirror") == 0
