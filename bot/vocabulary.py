"""One vocabulary for what members choose from: the learning areas and sectors, with the words people also
use for them.

Practices' frameworks, resources' areas, the glossary's files and members' interests all name a learning
area by the same slug (AREAS). A member may type another common word for a choice ("government" for the
public sector, "RBA" for results-based accountability); the command parser maps it to the one stored value
(`canonical`). Spellings the bot itself used before (`customer-focused-leadership`) stay accepted the same
way, and stored rows were moved to the current spelling (migration 0022).
"""

from __future__ import annotations

from collections.abc import Collection

#: Learning-area slug -> title. A catalog or glossary file is named ``<slug>.yaml``.
AREAS: dict[str, str] = {
    "systems-thinking": "Systems Thinking",
    "adaptive-leadership": "Adaptive Leadership",
    "results-based-accountability": "Results-Based Accountability",
    "facilitative-leadership": "Facilitative Leadership",
    "leadership-transitions": "Leadership Transitions",
    "cross-sector-collaboration": "Cross-Sector Collaboration",
    "customer-focused-service": "Customer-Focused Service",
    "sustainable-leadership": "Sustainable Leadership",
    "networks-and-communities-of-practice": "Networks and Communities of Practice",
}

#: Other words for a learning area (typed as a slug: lower case, words joined by "-").
AREA_WORDS: dict[str, str] = {
    "customer-focused-leadership": "customer-focused-service",  # the practices' spelling until 0022
    "customer-focus": "customer-focused-service",
    "customer-service": "customer-focused-service",
    "citizen-centred-service": "customer-focused-service",
    "citizen-centered-service": "customer-focused-service",
    "user-centred-service": "customer-focused-service",
    "user-centered-service": "customer-focused-service",
    "systems": "systems-thinking",
    "systems-leadership": "systems-thinking",
    "adaptive": "adaptive-leadership",
    "rba": "results-based-accountability",
    "results-based-leadership": "results-based-accountability",
    "facilitation": "facilitative-leadership",
    "transitions": "leadership-transitions",
    "collaboration": "cross-sector-collaboration",
    "cross-sector": "cross-sector-collaboration",
    "sustainability": "sustainable-leadership",
    "networks": "networks-and-communities-of-practice",
    "communities-of-practice": "networks-and-communities-of-practice",
    "community-of-practice": "networks-and-communities-of-practice",
    "cop": "networks-and-communities-of-practice",
}

#: Other words for a sector.
SECTOR_WORDS: dict[str, str] = {
    "government": "public",
    "gov": "public",
    "govt": "public",
    "public-sector": "public",
    "local-government": "public",
    "state-government": "public",
    "federal-government": "public",
    "civil-service": "public",
    "private-sector": "private",
    "business": "private",
    "for-profit": "private",
    "corporate": "private",
    "industry": "private",
    "non-profit": "nonprofit",
    "not-for-profit": "nonprofit",
    "nonprofit-sector": "nonprofit",
    "ngo": "nonprofit",
    "charity": "nonprofit",
    "foundation": "philanthropy",
    "foundations": "philanthropy",
    "funders": "philanthropy",
    "university": "academic",
    "academia": "academic",
    "higher-education": "academic",
    "research": "academic",
}

_WORDS: dict[str, str] = AREA_WORDS | SECTOR_WORDS


def canonical(value: str, allowed: Collection[str]) -> str:
    """The allowed choice `value` (a slug) stands for: itself, or the choice it is another word for."""
    if value in allowed:
        return value
    meant = _WORDS.get(value)
    return meant if meant is not None and meant in allowed else value


def other_words(allowed: Collection[str]) -> dict[str, str]:
    """The other words accepted for these choices (for help and suggestions)."""
    return {word: meant for word, meant in _WORDS.items() if meant in allowed}
