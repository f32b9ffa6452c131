"""Review and records through Slack (signed HTTP to the app, a fake Slack Web API on 127.0.0.1): the
owner's review DM carries the three buttons and pressing one answers it; an admin's records-request
bundle arrives as a file, the same file again for the same request."""

from __future__ import annotations

from pathlib import Path

import tests.fake_slack as fs
from tests.test_slack_adapter import slack_world, utc


async def test_review_dm_buttons_and_a_records_bundle_through_slack(
    database_url: str, tmp_path: Path
) -> None:
    async with slack_world(database_url, tmp_path) as slack:
        await slack.cop(
            'practice share --title "Budget town halls" --what "Hearings online." --attribution anonymous',
            user="U0BOB",
            name="bob",
        )
        await slack.cop("review settings --every-days 30")
        assert "owners have 14 days to answer" in slack.last_response()["text"]
        await slack.run_until(utc(2026, 3, 22, 13))
        assert [p for p in slack.fake.posts() if p["channel"] == "D0BOB"] == []
        await slack.run_until(utc(2026, 3, 23, 13))
        [dm] = [p for p in slack.fake.posts() if p["channel"] == "D0BOB"]
        assert 'Is your practice P1 "Budget town halls" still true?' in dm["text"]
        buttons = [e for b in dm["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert [b["text"]["text"] for b in buttons] == ["Still true", "Update", "Retire"]
        await slack.send(
            fs.block_action(
                buttons[1]["value"],
                user="U0BOB",
                name="bob",
                channel="D0BOB",
                response_url=slack.fake.response_url(),
            )
        )
        await slack.settle()
        asked, answered = [
            p["text"] for p in slack.fake.posts() if p["channel"] == "D0BOB"
        ]  # answered in the DM
        assert "P1 (Budget town halls) is marked reviewed in March 2026" in answered
        assert "practice edit P1" in answered
        await slack.run_until(utc(2026, 4, 10, 13))
        assert len([p for p in slack.fake.posts() if p["channel"] == "D0BOB"]) == 2  # answered: asked once
        assert not any("Review needed" in p["text"] for p in slack.fake.posts())  # and no escalation
        # The admin's records request: the bundle is uploaded as one file, the same file both times.
        for _ in range(2):
            await slack.cop("records export --from-day 2026-02-01 --to-day 2026-02-28")
        uploads = slack.fake.called("files.getUploadURLExternal")
        assert len(uploads) == 2 and uploads[0] == uploads[1]
        assert uploads[0]["filename"].startswith("records-request-") and uploads[0]["filename"].endswith(
            ".zip"
        )
        assert len(slack.fake.called("files.completeUploadExternal")) == 2
