"""The monthly open forum."""

from bot.context import Context
from bot.feature import Feature, HomeSection, PrivacyHook
from bot.guide.home import run_section
from bot.messages import Reply
from scheduling.forum import models, service, suggest
from scheduling.forum.commands import forum_group, thread_reply


async def _next_forum(ctx: Context) -> Reply:
    return await run_section(ctx, "forum next", ["--count", "1"])


FEATURE = Feature(
    name="forum",
    groups=(forum_group,),
    tables=(models,),
    privacy=(PrivacyHook("forum", service.export_member, service.forget_member),),
    posts=service.POSTS,
    home=(HomeSection(10, "Next open forum", _next_forum),),
    on_thread_message=thread_reply,
    suggest={
        "topic": suggest.suggest_topics,
        "reply": suggest.suggest_replies,
        "capture-request": suggest.suggest_capture_requests,
    },
    uses=("practices", "resources"),
)
