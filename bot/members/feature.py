"""Members: roles and the audit log, profiles and settings, their own data, who could not be reached."""

from dataclasses import replace

from bot.context import Context
from bot.feature import Feature, HomeSection, PrivacyHook
from bot.guide.home import run_section
from bot.members import guests, signin
from bot.members.privacy import CORE_HOOK, me
from bot.members.profile import profile_group
from bot.members.roles import audit, roles
from bot.members.unreachable import unreachable_group
from bot.messages import Choice, Reply
from bot.store import models


async def _settings(ctx: Context) -> Reply:
    """The settings a member changes most, one press away (the rest are named in the footer)."""
    reply = await run_section(ctx, "me show", [])
    reminders_on = any(
        label.startswith("Reminders") and value.startswith("on") for label, value in reply.fields
    )
    toggle = (
        Choice("Turn DM reminders off", "me reminders off")
        if reminders_on
        else Choice("Turn DM reminders on", "me reminders on", style="primary")
    )
    web = Choice("Sign in on the web", "me web")  # a one-time link by DM (bot/members/signin.py)
    return replace(reply, choices=reply.choices + (toggle, web))


FEATURE = Feature(
    name="members",
    groups=(roles, audit, me, profile_group, unreachable_group, signin.signin_group, signin.web),
    tables=(models, signin, guests),
    privacy=(CORE_HOOK, PrivacyHook("web sign-in", signin.export, signin.forget)),
    home=(HomeSection(90, "Your settings", _settings),),
)
