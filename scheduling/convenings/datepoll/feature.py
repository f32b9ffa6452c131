"""Finding a date for a network's convening: proposed slots, members' marks, one confirmed."""

from bot.feature import Feature, PrivacyHook
from scheduling.convenings.datepoll import models, service
from scheduling.convenings.datepoll.commands import datepoll_group

FEATURE = Feature(
    name="datepoll",
    groups=(datepoll_group,),
    tables=(models,),
    privacy=(PrivacyHook("date_polls", service.export_member, service.forget_member),),
    uses=("networks", "convenings"),
)
