"""After a convening: attendance, notes, one commitment per member and its follow-ups."""

from bot.feature import Feature, PrivacyHook
from scheduling.convenings.after import models, service
from scheduling.convenings.after.commands import after_group

FEATURE = Feature(
    name="after",
    groups=(after_group,),
    tables=(models,),
    privacy=(PrivacyHook("follow_up", service.export_member, service.forget_member),),
    posts=service.POSTS,
    uses=("networks", "convenings", "practices"),
)
