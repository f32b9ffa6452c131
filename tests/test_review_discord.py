"""The review DM on Discord: the owner gets one DM with Still true / Update / Retire buttons through the
fake Discord, and pressing one answers the review (search then shows the review date)."""

from __future__ import annotations

from bot.config import Settings
from tests.fake_discord import FakeDiscord, option
from tests.test_discord_adapter import ask, fake, sqlite_settings, utc, world  # noqa: F401


async def test_the_owner_answers_the_review_dm_with_its_button(
    sqlite_settings: Settings,  # noqa: F811
    fake: FakeDiscord,  # noqa: F811
) -> None:
    async with world(sqlite_settings, fake) as w:
        share = (
            'practice share --title "Budget town halls" --what "Hearings online." --attribution named '
            "--region Ohio"
        )
        [saved] = await ask(fake, fake.slash_command("cop", [option("command", share)], user=fake.member))
        assert "Saved P1" in saved.content + str(saved.embeds)
        await w.ok("review settings --every-days 30")
        await w.run_until(utc(2027, 3, 30, 13))
        assert fake.dm_messages(fake.member) == []
        await w.run_until(utc(2027, 4, 3, 13))
        [dm] = fake.dm_messages(fake.member)
        assert 'Is your practice P1 "Budget town halls" still true?' in dm["content"]
        buttons = {b["label"]: b for row in dm["components"] for b in row["components"]}
        assert list(buttons) == ["Still true", "Update", "Retire"]
        # Someone else pressing the owner's button is refused; the owner's press answers the review.
        [refused] = await ask(
            fake, fake.component(buttons["Still true"]["custom_id"], message=dm, user=fake.no_dm_user)
        )
        assert refused.ephemeral and "Only the owner of P1 or a coordinator" in refused.content
        [thanks] = await ask(
            fake, fake.component(buttons["Still true"]["custom_id"], message=dm, user=fake.member)
        )
        assert "P1 (Budget town halls) is marked reviewed in April 2027" in thanks.content
        await w.run_until(utc(2027, 4, 20, 13))
        assert len(fake.dm_messages(fake.member)) == 1
        [found] = await ask(fake, fake.slash_command("cop", [option("command", "practice search budget")]))
        assert "April 2027" in found.content + str(found.embeds)
