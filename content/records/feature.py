"""Public records: a records policy with retention, legal holds, approved dispositions, request exports."""

from bot.feature import Feature, PrivacyHook
from content.records import models, service
from content.records.commands import records

FEATURE = Feature(
    name="records",
    groups=(records,),
    tables=(models,),
    privacy=(PrivacyHook("records", service.export_member, service.forget_member),),
    uses=("practices", "forum", "convenings", "after", "networks"),
)
