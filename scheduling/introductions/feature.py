"""Peer introductions within a network: opt in, rounds of pairs, and whether they met."""

from bot.feature import Feature, PrivacyHook
from scheduling.introductions import models, service
from scheduling.introductions.commands import intro_group

FEATURE = Feature(
    name="introductions",
    groups=(intro_group,),
    tables=(models,),
    privacy=(PrivacyHook("introductions", service.export_member, service.forget_member),),
    posts=service.POSTS,
    uses=("networks",),
)
