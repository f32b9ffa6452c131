"""The page at /slack/install (OAuth mode): what copbot will be allowed to do, in plain words, and the
"Add to Slack" link to Slack's own approval page (at the API's host, so slack-gov.com for GovSlack).

Bolt's OAuth flow still issues the state and its cookie and builds the authorize link; this module only
draws the page around them. Every scope the app asks for (render.BOT_SCOPES) must be described here: a
test checks it, so a new scope cannot be added without telling the installer why.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

# What each scope lets copbot do, for a city clerk deciding whether to approve.
SCOPE_WORDS: dict[str, str] = {
    "commands": "Add the /cop command, so members can type copbot's commands in any channel or message.",
    "app_mentions:read": "See messages that mention @copbot, in channels it has been invited to.",
    "channels:history": (
        "Read messages in public channels it has been invited to; it keeps only the replies in the "
        "monthly forum's own thread."
    ),
    "chat:write": "Post as copbot: answers to members, the forum's thread, reminders and announcements.",
    "files:write": "Upload files a member asks for, such as calendar files and exports.",
    "im:history": "Read the direct messages members send to copbot.",
    "im:write": "Start a direct message with a member, for reminders, invitations and the weekly digest.",
    "links:read": "Notice links to copbot's own web pages when someone posts them.",
    "links:write": "Show a short preview under those links (never of private or anonymous details).",
    "users:read": "See members' names and time zones, so names and times show the way each member expects.",
}

WILL_NOT = (
    "read private channels, or direct messages between people;",
    "post as you, or as anyone but copbot;",
    "see email addresses or phone numbers.",
)

_env = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def install_page(authorize_url: str, scopes: tuple[str, ...], slack_host: str) -> str:
    """The page's HTML; `authorize_url` is bolt's link with its state, `slack_host` where it goes."""
    missing = [s for s in scopes if s not in SCOPE_WORDS]
    if missing:  # caught by the tests: a scope nobody explained to the installer
        raise ValueError(f"no plain words for the Slack scope(s) {', '.join(missing)}")
    return _env.get_template("install.html").render(
        authorize_url=authorize_url,
        abilities=[SCOPE_WORDS[s] for s in scopes],
        will_not=WILL_NOT,
        slack_host=slack_host,
    )
