"""The coordinators' figures: `stats` through the console harness and Slack, and its CSV; the web
dashboard is in tests/test_web_pages.py (a real browser, axe-core)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

from bot.app import build_app
from bot.config import Settings
from bot.messages import Chart
from tests.community_year import seed_year
from tests.fakes import FakeClock
from tests.harness import Harness
from tests.test_slack_adapter import slack_world

END = datetime(2026, 12, 15, 12, tzinfo=UTC)


def table(chart: Chart) -> dict[str, dict[str, str]]:
    rows = chart.rows()
    return {r[0]: dict(zip(rows[0][1:], r[1:], strict=True)) for r in rows[1:]}


async def test_the_figures_count_what_the_community_did(settings: Settings) -> None:
    app = build_app(settings, clock=FakeClock(datetime(2026, 12, 20, tzinfo=UTC)))
    try:
        seeded = await app.store.run(lambda s: seed_year(s, members=40, end=END))
        bot = Harness(app)
        reply = await bot.ok("stats --since 2026-01 --until 2026-12")
        charts = {c.title: c for c in reply.charts}
        assert len(charts) == 6 and "January 2026 to December 2026" in reply.text
        practices = table(charts["Practices shared per month, by framework"])
        for key, count in seeded.practices_by_month.items():
            month = datetime.strptime(key, "%Y-%m").strftime("%b %Y")
            # a practice counts once per framework, and those without one under "none"
            assert sum(int(v) for v in practices[month].values()) == count, month
        forum = table(charts["Forum participation per occurrence"])
        assert {slot: int(row["Members who replied"]) for slot, row in forum.items()} == seeded.repliers
        convenings = charts["Convenings: going against attending"]
        going, came = convenings.series
        assert sorted(going.values) == sorted(float(n) for n in seeded.going.values())
        assert sum(came.values) == sum(seeded.attended.values())
        reminders = charts["Reminders sent, late, dropped and failed"]
        totals = {s.name: sum(s.values) for s in reminders.series}
        assert totals["Sent on time"] + totals["Sent late"] == seeded.reminders["sent"]
        assert totals["Sent late"] > 0 and totals["Dropped"] == seeded.reminders["skipped"]
        assert totals["Failed"] == seeded.reminders["failed"]
        active = table(charts["Members active per month"])
        assert all(0 < int(row["Active members"]) <= 40 for row in active.values())
        assert "Members active per month:" in reply.plain_text()  # every chart is also its table in text

        with_csv = await bot.ok("stats --csv")
        (attachment,) = with_csv.attachments
        rows = list(csv.DictReader(io.StringIO(attachment.content.decode())))
        assert {r["chart"] for r in rows} == set(charts)
        assert attachment.filename == "copbot-figures-2026-01-to-2026-12.csv"
    finally:
        app.close()


async def test_stats_is_for_coordinators_and_names_a_bad_month(settings: Settings) -> None:
    app = build_app(settings)
    try:
        bot = Harness(app)
        assert "coordinator" in await bot.fails("stats", "ana")
        bad = await bot.fails("stats --since 2026-13")
        assert "--since" in bad and "2026-03" in bad
        backwards = await bot.fails("stats --since 2026-06 --until 2026-01")
        assert "after --until" in backwards and "Example: stats --since" in backwards
        empty = await bot.ok("stats")
        assert "(nothing in this period)" in empty.plain_text()
    finally:
        app.close()


async def test_slack_shows_each_chart_as_its_table(database_url: str, tmp_path: Path) -> None:
    async with slack_world(database_url, tmp_path) as slack:
        await slack.app.store.run(
            lambda s: seed_year(s, members=12, end=datetime(2026, 1, 15, 12, tzinfo=UTC))
        )
        await slack.cop("stats")
        blocks = json.dumps(slack.last_response()["blocks"])
        assert "Members active per month" in blocks and "```" in blocks and "Active members" in blocks
