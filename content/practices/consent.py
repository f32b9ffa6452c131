"""An author's consent to have their words saved as a practice, and how they are credited.

Used by a forum capture request and by a practice proposal alike: only the author answers, once.
"""

from __future__ import annotations

from enum import Enum

from bot.errors import ArgumentError, CommandError, NotAllowed
from bot.messages import Member
from bot.store.models import MemberRecord
from content.practices.models import Attribution


class Consent(str, Enum):
    NAMED = "named"
    ROLE = "role"
    ANONYMOUS = "anonymous"
    NO = "no"


def consent_answer(
    member: Member, author: MemberRecord, state: str, answer: Consent, role_description: str, command: str
) -> Attribution | None:
    """Check an author's answer to "may your words be saved as a practice?"; None means no.

    Only the author answers, once; role-only credit needs the words that describe them.
    """
    if author.key != member.key:
        raise NotAllowed("Only the person who wrote it can answer this request.")
    if state != "pending":
        raise CommandError(f"You already answered this ({state}).")
    if answer is Consent.NO:
        return None
    if answer is Consent.ROLE and not role_description.strip():
        raise ArgumentError(
            f"--role-description is needed for role-only credit, e.g. {command} role "
            '--role-description "a chief of staff in a large city"',
            "role_description",
        )
    return Attribution(answer.value)


def still_visible(attribution: Attribution, ref: str, where: str) -> str:
    """What an author credited by role or anonymously must know once saved: their words are still shown
    under their name `where` they wrote them, so anyone who saw them can tell whose the practice is."""
    if attribution is Attribution.NAMED:
        return ""
    return (
        f" Note: {where} is still visible under your name, word for word, so anyone who saw it can tell "
        f"this practice is yours. To reword the practice: practice edit {ref} --what "
        f'"your reworded text" (you can also edit or delete {where} itself).'
    )
