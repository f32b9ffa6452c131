"""Files the bot writes for a member (the console saves exports and calendar files in the data folder).

Each member gets one folder, `<data folder>/exports/<token>/`, where the token is a keyed hash (HMAC-SHA256)
of their platform identity. The key is random, made once and kept beside the folders, so a token can't be
worked out from a member's name or id: one member can't find another's files, and two members never share
a file name. `me forget` deletes the member's folder.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import shutil
from pathlib import Path

from bot.messages import Member

KEY_FILE = ".folder-key"
TOKEN_LENGTH = 24  # hex characters: 96 bits


def exports_dir(data_dir: Path) -> Path:
    """Where the console saves the files replies carry (under COPBOT_DATA_DIR)."""
    return data_dir / "exports"


def _key(exports: Path) -> bytes:
    """The folder key, made on first use. Two processes racing to make it agree on one (a hard link is
    atomic and fails when the name exists); the key file is readable only by its owner."""
    path = exports / KEY_FILE
    if path.exists():
        return path.read_bytes()
    exports.mkdir(parents=True, exist_ok=True)
    draft = exports / f"{KEY_FILE}.{secrets.token_hex(8)}"
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(secrets.token_bytes(32))
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_bytes()


def member_token(exports: Path, member: Member) -> str:
    """The member's own token: the same each time for them, unguessable for anyone else.

    Where the data folder can't be written (a read-only deployment that never saves files), a random
    token is used: still unique and unguessable, only not the same next time.
    """
    try:
        key = _key(exports)
    except OSError:
        return secrets.token_hex(TOKEN_LENGTH // 2)
    identity = f"{member.platform}\x00{member.user_id}".encode()
    return hmac.new(key, identity, hashlib.sha256).hexdigest()[:TOKEN_LENGTH]


def member_folder(exports: Path, member: Member) -> Path:
    """The folder the console saves this member's files in."""
    return exports / member_token(exports, member)


def forget_files(exports: Path, member: Member) -> int:
    """Delete every file saved for the member; returns how many there were."""
    if not (exports / KEY_FILE).exists():
        return 0  # no key, so no folder was ever made
    folder = member_folder(exports, member)
    if not folder.is_dir():
        return 0
    count = sum(1 for p in folder.rglob("*") if p.is_file())
    shutil.rmtree(folder)
    return count
