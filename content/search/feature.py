"""`search`: practices and resources in one list."""

from bot.feature import Feature
from content.search.commands import everything

FEATURE = Feature(name="search", groups=(everything,), uses=("practices", "resources"))
