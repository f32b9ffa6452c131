"""Every table's metadata in one place, for migrations and for the drift test.

The tables are the ones the app's features declare (`Feature.tables`): importing the feature list imports
their model modules, which registers the tables on SQLModel's metadata. No feature is named here.
"""

from __future__ import annotations

from sqlmodel import SQLModel

from bot.app import FEATURES

TABLE_MODULES = tuple(module for feature in FEATURES for module in feature.tables)
metadata = SQLModel.metadata
