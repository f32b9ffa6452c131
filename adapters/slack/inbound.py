"""What an HTTP request from Slack must be before bolt sees it: signed, well formed, and new.

- Signed: Slack's HMAC-SHA256 over `v0:<timestamp>:<body>` with the signing secret, at most 5 minutes old
  (the check bolt makes too). Anything else gets 401.
- Well formed: UTF-8, a form or JSON object bolt can read, and the fields copbot's listeners use present
  with the right types (a slash command's user and channel, an interaction's `type`, `user.id` and
  `actions`, an event's `event` object...). Anything else gets 400 with a short reason naming the field;
  nothing is run, and neither the body nor the reason's values are logged. aiohttp answers 413 to a body
  over its 1 MiB limit before it is read.
- New: a signed request can be replayed as it is for 5 minutes. Every request except an event (Slack
  retries those with the same `event_id`, which the adapter claims) is claimed by its signature, which
  is unique to its timestamp and body, so a repeat is acknowledged and ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from slack_bolt.request.async_request import AsyncBoltRequest

log = logging.getLogger(__name__)
MAX_AGE = 5 * 60  # seconds: Slack's own replay window for a signed request

Spec = tuple[tuple[str, type, bool], ...]  # (dotted field, type, required)

_INTERACTION: Spec = (
    ("user", dict, True),
    ("user.id", str, True),
    ("trigger_id", str, False),
    ("response_url", str, False),
    ("team", dict, False),
    ("channel", dict, False),
    ("container", dict, False),
    ("message", dict, False),
    ("view", dict, False),
)
_EVENT_FIELDS = ("user", "channel", "text", "ts", "thread_ts", "channel_type", "tab", "bot_id", "subtype")
SHAPES: dict[str, Spec] = {
    "url_verification": (("challenge", str, True),),
    "event_callback": (
        ("event_id", str, True),
        ("event", dict, True),
        ("event.type", str, True),
        *((f"event.{name}", str, False) for name in _EVENT_FIELDS),
    ),
    "block_actions": (*_INTERACTION, ("actions", list, True)),
    "view_submission": (
        *_INTERACTION,
        ("view", dict, True),
        ("view.state", dict, False),
        ("view.private_metadata", str, False),
        ("view.blocks", list, False),
    ),
    "view_closed": (*_INTERACTION, ("view", dict, True)),
    "shortcut": (*_INTERACTION, ("callback_id", str, True)),
    "message_action": (
        *_INTERACTION,
        ("callback_id", str, True),
        ("message", dict, True),
        ("channel", dict, True),
    ),
}
SLASH_COMMAND = ("command", "user_id", "channel_id")
_TYPE_NAMES: dict[type, str] = {dict: "an object", list: "a list", str: "a string"}


@dataclass(frozen=True)
class Answer:
    """The HTTP answer given here, without bolt: a refusal, or Slack's SSL check acknowledged."""

    status: int
    reason: str


def _field(body: dict[str, Any], dotted: str) -> tuple[bool, Any]:
    value: Any = body
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def shape_problem(body: Any) -> str | None:
    """What is wrong with a parsed Slack body, naming the field; None when copbot can work with it."""
    if not isinstance(body, dict) or not body:
        return "the body is not a Slack form or JSON object"
    kind = body.get("type")
    if kind is None:
        if "ssl_check" in body:
            return None
        if "command" not in body:
            return "the request has no type (and is not a slash command)"
        missing = [name for name in SLASH_COMMAND if not isinstance(body.get(name), str) or not body[name]]
        return f"the slash command has no {', '.join(missing)}" if missing else None
    if not isinstance(kind, str):
        return "type is not a string"
    for dotted, expected, required in SHAPES.get(kind, ()):
        found, value = _field(body, dotted)
        if not found or value is None:
            if required:
                return f"{dotted} is missing"
            continue
        if not isinstance(value, expected):
            return f"{dotted} is not {_TYPE_NAMES[expected]}"
    if kind == "block_actions" and not all(isinstance(a, dict) for a in body["actions"]):
        return "actions is not a list of objects"
    return None


class Inbound:
    """Checks requests for one signing secret."""

    def __init__(self, signing_secret: str, clock: Callable[[], float] = time.time) -> None:
        self.secret, self.clock = signing_secret.encode(), clock

    def signed(self, raw: bytes, headers: Mapping[str, str]) -> bool:
        """Slack's check, over the raw bytes (slack_sdk's SignatureVerifier decodes the body first, so it
        cannot tell a correctly signed body that is not UTF-8, which is malformed, from a forged one)."""
        timestamp = headers.get("X-Slack-Request-Timestamp", "")
        signature = headers.get("X-Slack-Signature", "")
        if not timestamp.isascii() or not timestamp.isdigit() or abs(self.clock() - int(timestamp)) > MAX_AGE:
            return False
        digest = hmac.new(self.secret, b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
        return hmac.compare_digest(f"v0={digest}", signature)

    def check(self, raw: bytes, headers: Mapping[str, str], query: str) -> AsyncBoltRequest | Answer:
        """The request for bolt, or the answer to give instead (401 unsigned or stale, 400 malformed)."""
        if not self.signed(raw, headers):
            if parse_qs(raw.decode("utf-8", "replace")).get("ssl_check") == ["1"]:
                return Answer(200, "")  # Slack checks the certificate without signing (bolt answers the same)
            log.info("Slack: refused a request with a missing, wrong or stale signature")
            return Answer(401, "invalid request")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return self._malformed("the body is not UTF-8 text")
        try:
            request = AsyncBoltRequest(body=text, query=query, headers=dict(headers))
        except ValueError:  # json.JSONDecodeError included
            return self._malformed("the body (or its payload field) is not valid JSON")
        except Exception:  # noqa: BLE001 - bolt reads fields while building it: any failure is a bad body
            return self._malformed("the body is not a Slack form or JSON object")
        problem = shape_problem(request.body)
        return self._malformed(problem) if problem else request

    @staticmethod
    def _malformed(reason: str) -> Answer:
        log.info("Slack: refused a malformed request: %s", reason)  # the reason names fields, never values
        return Answer(400, f"malformed Slack request: {reason}")

    @staticmethod
    def replay_key(request: AsyncBoltRequest) -> str | None:
        """What to claim so a replay is ignored: the signature, for everything but events and checks."""
        body = request.body
        if body.get("type") in ("event_callback", "url_verification") or "ssl_check" in body:
            return None
        signature = (request.headers.get("x-slack-signature") or [""])[0]
        return f"signed:{signature.removeprefix('v0=')}"[:100] if signature else None


class WithoutBodies(logging.Filter):
    """Keeps request bodies (message text, user ids) out of bolt's log lines: slack_bolt logs the whole
    body of a request whose signature fails (`RequestVerification._debug_log_error`, at INFO) and of one a
    middleware left unanswered. Such a line keeps its first part and says the body was left out."""

    MARKERS = (", body: ", "for the request (", "request body: ", "Request body: ")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cut = min((i for i in (message.find(m) for m in self.MARKERS) if i >= 0), default=-1)
        if cut >= 0:
            record.msg, record.args = message[:cut] + " (request body not logged)", ()
        return True


def quiet_bolt_logs(logger: logging.Logger) -> None:
    """Add the filter to bolt's base logger (once); bolt copies it to each logger it makes from that base."""
    if not any(isinstance(f, WithoutBodies) for f in logger.filters):
        logger.addFilter(WithoutBodies())
