"""`help` and `home`: the commands that show a member what the other features offer."""

from bot.feature import Feature
from bot.guide.help import general
from bot.guide.home import home_group

FEATURE = Feature(name="guide", groups=(general, home_group))
