"""Slack and Discord in one process against one store, started the way `copbot run` starts them."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from adapters.runtime import start_platforms
from bot.app import build_app
from bot.config import load_settings
from tests import fake_slack as fs
from tests.fake_discord import FakeDiscord, option, subcommand


@pytest.mark.usefixtures("quick_discord_ready")
async def test_a_practice_shared_in_slack_is_found_from_discord_and_the_other_way(
    tmp_path: Path, database_url: str
) -> None:
    slack = await fs.FakeSlack().start()
    slack.add_user("U0ANA", "Ana")
    async with FakeDiscord() as discord_fake:
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
        )
        app = build_app(settings)
        running = await start_platforms(app)
        try:
            assert set(running.adapters) == {"slack", "discord"} and running.http is not None
            assert set(app.scheduler.messengers) == {"slack", "discord"}
            share = fs.slash_command(
                'practice share --title "Budget office hours" --what "Weekly office hours for '
                'department heads during budget season." --attribution named',
                response_url=slack.response_url(),
            )
            async with aiohttp.ClientSession() as http:
                async with http.post(
                    f"http://127.0.0.1:{running.port}/slack/events",
                    data=share.body.encode(),
                    headers={"Content-Type": share.content_type, **fs.sign(share.body)},
                ) as r:
                    assert r.status == 200
            await running.adapters["slack"].drain()  # type: ignore[attr-defined]
            assert "Saved P1" in slack.responses[-1]["text"]

            iid = await discord_fake.send_interaction(
                discord_fake.slash_command(
                    "practice", [subcommand("search", option("query", "office hours"))]
                )
            )
            [found] = await discord_fake.wait_for_replies(iid)
            assert "Budget office hours" in found.content + json.dumps(found.embeds)
            assert "Ana" in found.content + json.dumps(found.embeds)  # credited by the Slack name

            iid = await discord_fake.send_interaction(
                discord_fake.slash_command(
                    "cop",
                    [
                        option(
                            "command",
                            'practice share --title "Transit pass pilot" --what "Free passes for staff." '
                            "--attribution anonymous",
                        )
                    ],
                )
            )
            await discord_fake.wait_for_replies(iid)
            search = fs.slash_command("practice search transit", response_url=slack.response_url())
            async with aiohttp.ClientSession() as http:
                async with http.post(
                    f"http://127.0.0.1:{running.port}/slack/events",
                    data=search.body.encode(),
                    headers={"Content-Type": search.content_type, **fs.sign(search.body)},
                ) as r:
                    assert r.status == 200
            await running.adapters["slack"].drain()  # type: ignore[attr-defined]
            assert "Transit pass pilot" in slack.responses[-1]["text"]
        finally:
            await running.stop()
            app.close()
            await slack.stop()
