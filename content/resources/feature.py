"""Curated learning resources: the catalog files, search, ratings, interests and the digest."""

from datetime import datetime

from sqlmodel import Session

from bot.context import Context
from bot.feature import Feature, HomeSection, PrivacyHook, StartOptions, StartStep
from bot.guide.home import run_section
from bot.messages import Reply
from content.resources import digest_posts, models, service
from content.resources.catalog_sync import read_catalog, sync_catalog
from content.resources.commands import interests_group, resources
from content.resources.curation import curation


def _prepare(options: StartOptions) -> StartStep:
    """Read and check the catalog files before the database is opened: a CatalogError stops the start."""
    catalog = read_catalog(options.catalog_dir)

    def apply(session: Session, now: datetime) -> None:
        sync_catalog(session, catalog, options.catalog_dir, now)
        digest_posts.ensure_planned(session, now)

    return apply


async def _suggested(ctx: Context) -> Reply:
    return await run_section(ctx, "resource suggest", ["--count", "3"])


FEATURE = Feature(
    name="resources",
    groups=(resources, curation, interests_group),
    tables=(models,),
    privacy=(PrivacyHook("resources", service.export_member, service.forget_member),),
    posts=digest_posts.POSTS,
    home=(HomeSection(50, "Suggested resources", _suggested),),
    suggest={"resource": service.suggest_resources},
    prepare=_prepare,
    uses=("forum",),
)
