"""Every table's metadata in one place, for migrations and for the drift test.

Importing the model modules registers their tables on SQLModel's metadata.
"""

from __future__ import annotations

from sqlmodel import SQLModel

import bot.store.models  # noqa: F401
import content.practices.models  # noqa: F401
import content.resources.models  # noqa: F401
import scheduling.models  # noqa: F401
import scheduling.convenings_models  # noqa: F401
import scheduling.follow_up_models  # noqa: F401
import scheduling.date_poll_models  # noqa: F401
import scheduling.networks_models  # noqa: F401
import scheduling.practice_proposals  # noqa: F401
import scheduling.intro_models  # noqa: F401

metadata = SQLModel.metadata
