"""Slack, Discord and Teams in one process against one store, started the way `copbot serve` starts them."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from adapters.runtime import start_platforms
from bot.app import build_app
from bot.config import load_settings
from tests import fake_slack as fs
from tests import fake_teams as ft
from tests.fake_discord import FakeDiscord, option, subcommand

ANA = "aaaaaaaa-0000-4000-8000-00000000a0a0"


@pytest.mark.usefixtures("quick_discord_ready")
async def test_a_practice_shared_in_teams_is_found_from_slack_and_discord(
    tmp_path: Path, database_url: str
) -> None:
    slack = await fs.FakeSlack().start()
    slack.add_user("U0ANA", "Ana")
    async with FakeDiscord() as discord_fake, ft.FakeTeams() as teams_fake:
        teams_user = teams_fake.add_user(ANA, "Ana Teams")
        settings = load_settings(
            _env_file=None,
            database_url=database_url,
            data_dir=tmp_path,
            port=0,
            slack_bot_token=fs.BOT_TOKEN,
            slack_signing_secret=fs.SIGNING_SECRET,
            slack_api_base_url=slack.base_url,
            discord_token=discord_fake.token,
            discord_guild_ids=str(discord_fake.guild_id),
            discord_api_base_url=discord_fake.api_base,
            discord_gateway_url=discord_fake.gateway_url,
            **teams_fake.settings(),
        )
        app = build_app(settings)
        running = await start_platforms(app)
        try:
            assert set(running.adapters) == {"slack", "discord", "teams"} and running.http is not None
            assert set(app.scheduler.messengers) == {"slack", "discord", "teams"}
            share = teams_fake.activity(
                teams_user,
                'practice share --title "Budget office hours" --what "Weekly office hours for department '
                'heads during budget season." --attribution named',
            )
            url = f"http://127.0.0.1:{running.port}/api/messages"
            assert await teams_fake.deliver(url, share) == 200
            await running.adapters["teams"].drain()  # type: ignore[attr-defined]
            assert "Saved P1" in teams_fake.texts("reply")[-1]

            search = fs.slash_command("practice search office hours", response_url=slack.response_url())
            async with aiohttp.ClientSession() as http:
                async with http.post(
                    f"http://127.0.0.1:{running.port}/slack/events",
                    data=search.body.encode(),
                    headers={"Content-Type": search.content_type, **fs.sign(search.body)},
                ) as r:
                    assert r.status == 200
            await running.adapters["slack"].drain()  # type: ignore[attr-defined]
            found = json.dumps(slack.responses[-1])
            assert "Budget office hours" in found and "Ana Teams" in found  # credited by the Teams name

            iid = await discord_fake.send_interaction(
                discord_fake.slash_command(
                    "practice", [subcommand("search", option("query", "budget season"))]
                )
            )
            [answer] = await discord_fake.wait_for_replies(iid)
            assert "Budget office hours" in answer.content + json.dumps(answer.embeds)
        finally:
            await running.stop()
            app.close()
            await slack.stop()
