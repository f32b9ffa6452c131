"""Shared practices: what members tried, found by search, with the credit each author chose."""

from sqlalchemy import select
from sqlmodel import Session, col

from bot.context import Context
from bot.feature import Feature, HomeSection, PrivacyHook
from bot.messages import Choice, Item, Reply
from bot.words import counted
from content.practices import models, proposals, service
from content.practices.commands import practice_item, practices
from content.practices.models import Practice, Status
from content.practices.service import practice_ref


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


async def _preview(ctx: Context, page: str) -> Reply | None:
    """/practices/12 pasted in a channel: the practice's title, a short excerpt and its credit, exactly as
    its author chose (anonymous names nobody). Retired practices and unknown ids do not unfurl."""
    if not page.isdigit():
        return None

    def load(session: Session) -> Reply | None:
        p = session.get(Practice, int(page))
        if p is None or p.status != Status.ACTIVE.value:
            return None
        view = service.views(session, [p])[0]
        facts = [("Shared by", service.attribution_text(p))]
        if view.tags:
            facts.append(("Tags", ", ".join(view.tags)))
        facts.append(("Endorsed by", counted(view.endorsements, "member")))
        what = " ".join(p.what.split())
        excerpt = what if len(what) <= 280 else what[:279].rsplit(" ", 1)[0] + "…"
        item = Item(title=p.title, body=excerpt, fields=tuple(facts), ref=practice_ref(p.id or 0))
        return Reply(p.title, items=(item,))

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
    previews={"practices": _preview},
    suggest={
        "tag": service.suggest_tags,
        "practice": service.suggest_practices,
        "retired-practice": service.suggest_retired_practices,
        "proposal": proposals.suggest_proposals,
    },
)
