"""Shared practices: what members tried, found by search, with the credit each author chose."""

from sqlalchemy import select
from sqlmodel import Session, col

from bot.context import Context
from bot.feature import Feature, HomeSection, PrivacyHook
from bot.messages import Choice, Reply
from content.practices import models, proposals, service
from content.practices.commands import practice_item, practices
from content.practices.models import Practice, Status


async def _recent(ctx: Context) -> Reply:
    def load(session: Session) -> Reply:
        recent = list(
            session.execute(
                select(Practice)
                .where(col(Practice.status) == Status.ACTIVE.value)
                .order_by(col(Practice.created_at).desc())
                .limit(3)
            ).scalars()
        )
        items = tuple(practice_item(v) for v in service.views(session, recent))
        return Reply(
            "" if items else "No practices shared yet. Share one: practice share",
            items=items,
            choices=(Choice("Share a practice", "practice share"),),
        )

    return await ctx.store.run(load)


FEATURE = Feature(
    name="practices",
    groups=(practices, proposals.proposals),
    tables=(models,),
    privacy=(
        PrivacyHook("practices", service.export_member, service.forget_member),
        PrivacyHook("practice_proposals", proposals.export_member, proposals.forget_member),
    ),
    home=(HomeSection(40, "Recent practices", _recent),),
    suggest={
        "tag": service.suggest_tags,
        "practice": service.suggest_practices,
        "retired-practice": service.suggest_retired_practices,
        "proposal": proposals.suggest_proposals,
    },
)
