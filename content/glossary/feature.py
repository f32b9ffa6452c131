"""The glossary: a shared vocabulary from content/glossary/terms, `define`, and synonyms for search."""

from datetime import datetime

from sqlmodel import Session

from bot.feature import Feature, PrivacyHook, StartOptions, StartStep
from content.glossary import models, service
from content.glossary.commands import define_group, glossary


def _prepare(options: StartOptions) -> StartStep:
    """Read and check the glossary files (against the catalog files) before the database is opened."""
    terms = service.read_glossary(options.glossary_dir, options.catalog_dir)

    def apply(session: Session, now: datetime) -> None:
        service.sync_glossary(session, terms, now)

    return apply


FEATURE = Feature(
    name="glossary",
    groups=(define_group, glossary),
    tables=(models,),
    privacy=(PrivacyHook("glossary", service.export_member, service.forget_member),),
    suggest={"term": service.suggest_terms},
    prepare=_prepare,
    synonyms=service.synonyms,
    uses=("resources",),
)
