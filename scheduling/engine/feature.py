"""The scheduling engine as a feature: the `schedule` commands, one-off notices, and (only with the demo
clock) the `clock` commands."""

from bot.feature import Feature, PrivacyHook
from scheduling.engine import models, notices, privacy
from scheduling.engine.commands import clock_group, schedule_group

FEATURE = Feature(
    name="schedule",
    groups=(schedule_group,),
    demo_groups=(clock_group,),
    tables=(models,),
    posts={notices.KIND: notices.on_notice},
    privacy=(PrivacyHook("messages", privacy.export_member, privacy.forget_member),),
)
