"""`copbot teams manifest`: the Teams app package (a zip of manifest.json and two icons) an administrator
uploads in the Teams admin centre (or a member sideloads in a test tenant).

Only what the features use: a bot in personal, team and group-chat scopes (`identity` to know who
writes, `messageTeamMembers` for reminders in personal chats) and one resource-specific permission,
ChannelMessage.Read.Group, so replies in the forum's thread reach the bot without mentioning it (a team
owner grants it when adding the app to a team). The suggested command list (Teams shows up to ten) is
picked from the registry: the most useful commands any member may run; `help` lists the rest.
"""

from __future__ import annotations

import io
import json
import math
import re
import struct
import zipfile
import zlib
from typing import Any

from bot.commands import CommandRegistry
from bot.permissions import Role

MANIFEST_VERSION = "1.17"
SCHEMA = (
    f"https://developer.microsoft.com/en-us/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
)
SCOPES = ["personal", "team", "groupChat"]
ACCENT = (0x2C, 0x4A, 0x6E)
# Most useful first; only those the registry has and any member may run are listed.
SUGGESTED = (
    "help",
    "home",
    "search",
    "practice share",
    "practice search",
    "forum next",
    "convening list",
    "resource search",
    "network list",
    "me show",
)
MAX_COMMANDS = 10
TITLE_MAX, DESCRIPTION_MAX = 32, 128


def suggested_commands(registry: CommandRegistry) -> list[dict[str, str]]:
    found = []
    for path in SUGGESTED:
        cmd = registry.commands.get(path)
        if cmd is None or cmd.role > Role.MEMBER:
            continue
        found.append({"title": path[:TITLE_MAX], "description": (cmd.summary or path)[:DESCRIPTION_MAX]})
    return found[:MAX_COMMANDS]


def manifest(
    registry: CommandRegistry,
    *,
    app_id: str,
    website: str,
    privacy_url: str = "",
    terms_url: str = "",
    name: str = "copbot",
    version: str = "1.0.0",
) -> dict[str, Any]:
    if not app_id:
        raise ValueError("TEAMS_APP_ID is needed: the manifest names the bot by its Microsoft App ID")
    for label, url in (("--website", website), ("--privacy-url", privacy_url), ("--terms-url", terms_url)):
        if url and not url.startswith("https://"):
            raise ValueError(f"{label} must be an https address, for example https://copbot.example.gov")
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise ValueError(f"--app-version must be three numbers such as 1.2.0, not {version!r}")
    if not website:
        raise ValueError(
            "--website is needed (or COPBOT_PUBLIC_URL): Teams shows it as the app's website, "
            "for example --website https://copbot.example.gov"
        )
    commands = suggested_commands(registry)
    return {
        "$schema": SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": app_id,
        "developer": {
            "name": name,
            "websiteUrl": website,
            "privacyUrl": privacy_url or website,
            "termsOfUseUrl": terms_url or website,
        },
        "name": {"short": name[:30], "full": f"{name}: community of practice"[:100]},
        "description": {
            "short": "Forum, convenings, resources and shared practices for a community of practice."[:80],
            "full": (
                "Runs a community of practice for public-sector leaders: a monthly open forum, convenings "
                "with RSVP and reminders, curated resources, and practices members share and find. Mention "
                "@" + name + " in a channel with a command, or chat with it directly; say help to see "
                "everything you can do."
            ),
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": "#{:02X}{:02X}{:02X}".format(*ACCENT),
        "bots": [
            {
                "botId": app_id,
                "scopes": SCOPES,
                "supportsFiles": False,
                "isNotificationOnly": False,
                "commandLists": [{"scopes": SCOPES, "commands": commands}],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [],
        "webApplicationInfo": {"id": app_id, "resource": f"api://botid-{app_id}"},
        "authorization": {
            "permissions": {
                "resourceSpecific": [{"name": "ChannelMessage.Read.Group", "type": "Application"}]
            }
        },
    }


def package(manifest_json: dict[str, Any]) -> bytes:
    """The zip Teams takes: manifest.json, color.png (192×192) and outline.png (32×32, white on clear)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", json.dumps(manifest_json, indent=2))
        z.writestr("color.png", icon(192, ACCENT, (255, 255, 255, 255)))
        z.writestr("outline.png", icon(32, None, (255, 255, 255, 255)))
    return out.getvalue()


def icon(size: int, background: tuple[int, int, int] | None, ink: tuple[int, int, int, int]) -> bytes:
    """A PNG: a ring open on the right (a "c") in `ink`, on `background` (None: transparent)."""
    back = (*background, 255) if background else (0, 0, 0, 0)
    centre, outer, inner = (size - 1) / 2, size * 0.36, size * 0.22
    rows = []
    for y in range(size):
        row = bytearray([0])  # filter: none
        for x in range(size):
            dx, dy = x - centre, y - centre
            r = math.hypot(dx, dy)
            opening = dx > 0 and abs(dy) < size * 0.12
            row += bytes(ink if inner <= r <= outer and not opening else back)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )
