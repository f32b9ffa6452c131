"""The community's figures for coordinators: the `stats` command and the web dashboard it feeds."""

from bot.feature import Feature
from content.stats.commands import stats_group

FEATURE = Feature(
    name="stats",
    groups=(stats_group,),
    uses=("practices", "resources", "forum", "convenings", "after"),
)
