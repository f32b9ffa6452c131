"""Leadership-transition journeys: steps by DM from content/journeys, peers who made the same move, and
the handover of a leaving member."""

from datetime import datetime

from sqlmodel import Session

from bot.feature import Feature, PrivacyHook, StartOptions, StartStep
from scheduling.journeys import delivery, models, privacy, service
from scheduling.journeys.commands import mine, transition


def _prepare(options: StartOptions) -> StartStep:
    """Read and check the journey files (against the catalog files) before the database is opened."""
    journeys = service.read_journeys(options.journeys_dir, options.catalog_dir)

    def apply(session: Session, now: datetime) -> None:
        service.sync_journeys(session, journeys, now)

    return apply


FEATURE = Feature(
    name="journeys",
    groups=(mine, transition),
    tables=(models,),
    privacy=(PrivacyHook("journeys", privacy.export_member, privacy.forget_member),),
    posts=delivery.POSTS,
    prepare=_prepare,
    uses=("resources", "practices", "introductions"),
)
