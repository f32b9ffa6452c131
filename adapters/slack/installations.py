"""Slack installed by OAuth in several workspaces: slack_sdk's installation and OAuth-state stores, kept in
copbot's database (tables slack_installation and oauth_state, bot/store/models.py).

Bolt's own OAuth flow (`/slack/install`, `/slack/oauth_redirect`) saves an installation here, and bolt's
authorize finds the bot token of the workspace (or Enterprise Grid org) a request comes from. Tokens are
kept only encrypted with Fernet under SLACK_TOKEN_KEY; a row holds no plaintext token. An installation names
no member (the installer's id is not kept), so no privacy hook is needed.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from sqlmodel import Session, col, delete, select

from bot.errors import StartError
from bot.store.db import Store
from bot.store.models import OAuthState, SlackGuestRoute, SlackInstallation

log = logging.getLogger(__name__)
STATE_SECONDS = 600  # an install must come back from Slack within this long
KEY_HELP = (
    "make one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)


def token_cipher(key: str) -> Fernet:
    """The cipher for bot tokens at rest. Raises StartError (one line) when the key is missing or unusable."""
    if not key:
        raise StartError(
            f"SLACK_TOKEN_KEY is required to keep Slack bot tokens encrypted in OAuth mode; {KEY_HELP}"
        )
    try:
        return Fernet(key.encode())
    except ValueError:
        raise StartError(
            f"SLACK_TOKEN_KEY is not a Fernet key (32 url-safe base64 bytes); {KEY_HELP}"
        ) from None


def authorize_url(api_base_url: str) -> str:
    """Slack's authorize page on the same host as the Web API: https://slack.com/oauth/v2/authorize, or
    https://slack-gov.com/oauth/v2/authorize for GovSlack."""
    parts = urlsplit(api_base_url)
    return f"{parts.scheme}://{parts.netloc}/oauth/v2/authorize"


class DbInstallationStore(AsyncInstallationStore):
    """One row per workspace (or org-wide Enterprise Grid install); a new install of the same one replaces it."""

    def __init__(self, store: Store, cipher: Fernet) -> None:
        self.store, self.cipher = store, cipher
        self._logger = log
        self._routes: dict[str, str] = {}  # guest workspace -> installation, as last written

    @property
    def logger(self) -> logging.Logger:
        return self._logger

    # ---- writing ------------------------------------------------------------------------------------------

    def _seal(self, token: str | None, refresh: str | None, expires_at: int | None) -> str:
        plain = json.dumps({"bot_token": token, "bot_refresh_token": refresh, "expires_at": expires_at})
        return self.cipher.encrypt(plain.encode()).decode()

    def _open(self, secret: str) -> dict[str, Any]:
        try:
            return dict(json.loads(self.cipher.decrypt(secret.encode())))
        except InvalidToken:
            log.error(
                "Slack: an installation's token cannot be decrypted with SLACK_TOKEN_KEY (was it changed?)"
            )
            return {}

    async def async_save(self, installation: Installation) -> None:
        await self.async_save_bot(installation.to_bot())

    async def async_save_bot(self, bot: Bot) -> None:
        enterprise, team = _keys(bot.enterprise_id, bot.team_id, bot.is_enterprise_install)
        secret = self._seal(bot.bot_token, bot.bot_refresh_token, bot.bot_token_expires_at)

        def save(s: Session) -> None:
            row = s.exec(_where(enterprise, team)).first() or SlackInstallation(
                enterprise_id=enterprise, team_id=team, secret=""
            )
            row.is_enterprise_install = bool(bot.is_enterprise_install)
            row.app_id = bot.app_id or ""
            row.team_name = bot.team_name or ""
            row.bot_id = bot.bot_id or ""
            row.bot_user_id = bot.bot_user_id or ""
            row.bot_scopes = ",".join(bot.bot_scopes or [])
            row.secret = secret
            row.installed_at = datetime.fromtimestamp(bot.installed_at, UTC)
            s.add(row)

        await self.store.run(save)
        log.info(
            "Slack: installed in %s %s",
            "organisation" if bot.is_enterprise_install else "workspace",
            team or enterprise,
        )

    # ---- reading ------------------------------------------------------------------------------------------

    async def _find(
        self, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None
    ) -> SlackInstallation | None:
        enterprise, team = _keys(enterprise_id, team_id, is_enterprise_install)
        return await self.store.run(lambda s: s.exec(_where(enterprise, team)).first())

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        row = await self._find(enterprise_id, team_id, is_enterprise_install)
        if row is None:
            return None
        secret = self._open(row.secret)
        if not secret.get("bot_token"):
            return None
        return Bot(
            app_id=row.app_id or None,
            enterprise_id=row.enterprise_id or None,
            team_id=row.team_id or None,
            team_name=row.team_name or None,
            bot_token=secret["bot_token"],
            bot_id=row.bot_id,
            bot_user_id=row.bot_user_id,
            bot_scopes=row.bot_scopes,
            bot_refresh_token=secret.get("bot_refresh_token"),
            bot_token_expires_at=secret.get("expires_at"),
            is_enterprise_install=row.is_enterprise_install,
            installed_at=row.installed_at.timestamp(),
        )

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        bot = await self.async_find_bot(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install
        )
        if bot is None or user_id is not None:  # no user tokens are kept
            return None
        return Installation(
            app_id=bot.app_id,
            enterprise_id=bot.enterprise_id,
            team_id=bot.team_id,
            team_name=bot.team_name,
            bot_token=bot.bot_token,
            bot_id=bot.bot_id,
            bot_user_id=bot.bot_user_id,
            bot_scopes=bot.bot_scopes,
            bot_refresh_token=bot.bot_refresh_token,
            bot_token_expires_at=bot.bot_token_expires_at,
            user_id="",
            is_enterprise_install=bot.is_enterprise_install,
            installed_at=bot.installed_at,
        )

    async def token_for(self, workspace: str) -> str | None:
        """The bot token for posting in `workspace`: its own installation's, or its org's when installed
        org-wide; for a workspace that has not installed copbot but whose members reached it as guests
        (Slack Connect), the installation they came through. With no workspace named (rows kept before
        they named one), the only installation's."""

        def installed(s: Session, ws: str) -> SlackInstallation | None:
            return s.exec(
                select(SlackInstallation)
                .where(
                    (col(SlackInstallation.team_id) == ws)
                    | (
                        (col(SlackInstallation.enterprise_id) == ws)
                        & col(SlackInstallation.is_enterprise_install)
                    )
                )
                .order_by(col(SlackInstallation.is_enterprise_install))
            ).first()

        def find(s: Session) -> SlackInstallation | None:
            if not workspace:
                rows = s.exec(select(SlackInstallation).limit(2)).all()
                return rows[0] if len(rows) == 1 else None
            row = installed(s, workspace)
            if row is None:
                route = s.exec(
                    select(SlackGuestRoute).where(col(SlackGuestRoute.guest_workspace) == workspace)
                ).first()
                row = installed(s, route.via_workspace) if route is not None else None
            return row

        row = await self.store.run(find)
        return self._open(row.secret).get("bot_token") if row is not None else None

    async def route_guests(self, guest_workspace: str, via_workspace: str) -> None:
        """Members of `guest_workspace` reached copbot through `via_workspace`'s installation (Slack
        Connect); written only when it changes."""
        if self._routes.get(guest_workspace) == via_workspace:
            return

        def save(s: Session) -> None:
            row = s.exec(
                select(SlackGuestRoute).where(col(SlackGuestRoute.guest_workspace) == guest_workspace)
            ).first() or SlackGuestRoute(guest_workspace=guest_workspace, via_workspace=via_workspace)
            row.via_workspace, row.seen_at = via_workspace, datetime.now(UTC)
            s.add(row)

        await self.store.run(save)
        self._routes[guest_workspace] = via_workspace

    # ---- removing -----------------------------------------------------------------------------------------

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        enterprise, team = _keys(enterprise_id, team_id, False)
        await self.store.run(
            lambda s: s.exec(  # type: ignore[call-overload]
                delete(SlackInstallation).where(
                    col(SlackInstallation.enterprise_id) == enterprise, col(SlackInstallation.team_id) == team
                )
            )
        )

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        if user_id is None:
            await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)


def _keys(
    enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None
) -> tuple[str, str]:
    """The row's key: an org-wide install is the org's, whichever of its workspaces a request names."""
    return (enterprise_id or "", "" if is_enterprise_install else team_id or "")


def _where(enterprise: str, team: str) -> Any:
    return select(SlackInstallation).where(
        col(SlackInstallation.enterprise_id) == enterprise, col(SlackInstallation.team_id) == team
    )


class DbOAuthStateStore(AsyncOAuthStateStore):
    """States issued to browsers starting an install, each consumed at most once before it expires."""

    def __init__(self, store: Store, clock: Callable[[], datetime], seconds: int = STATE_SECONDS) -> None:
        self.store, self.clock, self.seconds = store, clock, seconds
        self._logger = log

    @property
    def logger(self) -> logging.Logger:
        return self._logger

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(32)
        now = self.clock()

        def issue(s: Session) -> None:
            s.exec(delete(OAuthState).where(col(OAuthState.expires_at) < now))  # type: ignore[call-overload]
            s.add(OAuthState(state=state, expires_at=now + timedelta(seconds=self.seconds)))

        await self.store.run(issue)
        return state

    async def async_consume(self, state: str) -> bool:
        now = self.clock()

        def consume(s: Session) -> bool:
            result = s.exec(  # type: ignore[call-overload]
                delete(OAuthState).where(col(OAuthState.state) == state, col(OAuthState.expires_at) >= now)
            )
            return bool(result.rowcount)

        return await self.store.run(consume)
