"""The four everyday sentences that used to be refused ("No closing quotation"), for every adapter's test."""

from __future__ import annotations

from bot.app import App

PROPOSE = "forum propose Keeping staff when we can't hire"
REPLY = "forum reply We didn't stop hiring; we ran office hours."
ENDORSE = "practice endorse P1 we didn't try it"
SEARCH = "practice search mayor's office"
LINES = (PROPOSE, REPLY, ENDORSE, SEARCH)

ANSWERS = (
    "Proposed T1: Keeping staff when we can't hire",
    "Posted in the forum thread of",
    "Thanks: you endorsed P1",
    'No practices found for "mayor\'s office"',
)

STORED = {
    "topic": ["Keeping staff when we can't hire"],
    "reply": ["We didn't stop hiring; we ran office hours."],
    "note": ["we didn't try it"],
}


async def stored(app: App) -> dict[str, list[str]]:
    """The texts those sentences left in the store, as kept."""
    from sqlalchemy import text

    def load(session) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
        def column(sql: str) -> list[str]:
            return [row[0] for row in session.execute(text(sql))]

        return {
            "topic": column("SELECT text FROM forum_topic ORDER BY id"),
            "reply": column("SELECT text FROM forum_reply ORDER BY id"),
            "note": column("SELECT note FROM practice_endorsement ORDER BY id"),
        }

    return await app.store.run(load)
