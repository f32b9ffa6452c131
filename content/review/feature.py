"""Practice review: owners confirm their practices are still true, on an interval and on civic events."""

from datetime import datetime

from sqlmodel import Session

from bot.feature import Feature, PrivacyHook, StartOptions, StartStep
from content.review import models, posts, service
from content.review.commands import review


def _prepare(options: StartOptions) -> StartStep:
    tz = options.settings.timezone

    def apply(session: Session, now: datetime) -> None:
        posts.ensure_planned(session, now, tz)

    return apply


FEATURE = Feature(
    name="review",
    groups=(review,),
    tables=(models,),
    privacy=(PrivacyHook("review", service.export_member, service.forget_member),),
    posts=posts.POSTS,
    prepare=_prepare,
    uses=("practices",),
)
