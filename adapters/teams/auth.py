"""Tokens both ways: the bot's own token for the Bot Connector (and Graph), and the check of the token on
every incoming activity (Bot Framework's "Authenticate requests from the Bot Connector service").

Incoming: `Authorization: Bearer <JWT>` signed RS256 by a key the Bot Framework publishes (its OpenID
metadata names the JWKS); the token's issuer is the cloud's Bot Framework issuer, its audience this bot's
app id, it is within its lifetime (5 minutes' leeway for clock skew), the key is endorsed for `msteams`
when the key lists endorsements, and its `serviceurl` claim is the activity's serviceUrl. Anything else is
401. Keys are kept for a day and fetched again at once for an unknown key id (at most every 5 minutes).

Outgoing: OAuth 2.0 client credentials at {login}/{tenant}/oauth2/v2.0/token, with the client secret or a
certificate (a client assertion signed with its private key), kept until five minutes before they expire.
Neither the secret nor the key is ever logged.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from adapters.teams.cloud import Cloud

log = logging.getLogger(__name__)
LEEWAY = 300
KEYS_TTL = 24 * 3600.0
REFETCH_AFTER = 300.0
TOKEN_MARGIN = 300.0
CHANNEL = "msteams"


class Unauthorized(Exception):
    """An incoming request whose token is missing or not good; the message says why (for the log)."""


class TokenError(Exception):
    """The login endpoint did not give the bot a token; the message names the setting to check."""


@dataclass
class _Token:
    value: str
    expires: float


class Certificate:
    """A certificate credential: the app proves itself with a JWT signed by the certificate's private key
    (Entra's "client assertion"), naming the certificate by its SHA-256 thumbprint (`x5t#S256`)."""

    def __init__(self, pem: bytes) -> None:
        try:
            self.key = serialization.load_pem_private_key(pem, password=None)
            cert = x509.load_pem_x509_certificate(pem)
        except (ValueError, TypeError):
            raise TokenError(
                "TEAMS_APP_CERTIFICATE must be a PEM file holding the unencrypted private key and the "
                "certificate uploaded to the app registration"
            ) from None
        digest = cert.fingerprint(hashes.SHA256())
        self.thumbprint = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    @classmethod
    def from_file(cls, path: str) -> Certificate:
        try:
            return cls(Path(path).read_bytes())
        except OSError as exc:
            raise TokenError(f"TEAMS_APP_CERTIFICATE: cannot read {path} ({exc.strerror})") from None

    def assertion(self, app_id: str, token_url: str) -> str:
        now = int(time.time())
        claims = {
            "aud": token_url,
            "iss": app_id,
            "sub": app_id,
            "jti": str(uuid.uuid4()),
            "nbf": now,
            "exp": now + 600,
        }
        return jwt.encode(claims, self.key, algorithm="PS256", headers={"x5t#S256": self.thumbprint})  # type: ignore[arg-type]


class BotTokens:
    """The bot's access tokens, one per scope, from client credentials (a secret or a certificate)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        cloud: Cloud,
        app_id: str,
        secret: str,
        tenant: str,
        certificate: Certificate | None = None,
    ) -> None:
        self.session, self.cloud = session, cloud
        self._app_id, self._secret, self._tenant = app_id, secret, tenant
        self._certificate = certificate
        self._tokens: dict[str, _Token] = {}
        self._lock = asyncio.Lock()

    @property
    def token_url(self) -> str:
        return f"{self.cloud.login_url}/{self._tenant}/oauth2/v2.0/token"

    async def get(self, scope: str | None = None) -> str:
        scope = scope or self.cloud.bot_scope
        async with self._lock:
            held = self._tokens.get(scope)
            if held is not None and held.expires - TOKEN_MARGIN > time.monotonic():
                return held.value
            form = {"grant_type": "client_credentials", "client_id": self._app_id, "scope": scope}
            if self._certificate is not None:
                form["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
                form["client_assertion"] = self._certificate.assertion(self._app_id, self.token_url)
            else:
                form["client_secret"] = self._secret
            try:
                async with self.session.post(self.token_url, data=form) as response:
                    body = await response.json(content_type=None)
                    status = response.status
            except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError) as exc:
                raise TokenError(f"could not reach the login endpoint ({exc.__class__.__name__})") from None
            if status != 200 or not isinstance(body, dict) or "access_token" not in body:
                code = body.get("error", status) if isinstance(body, dict) else status
                raise TokenError(
                    f"the login endpoint refused the bot's credentials ({code}); check TEAMS_APP_ID, "
                    "TEAMS_APP_PASSWORD, TEAMS_TENANT_ID and TEAMS_CLOUD"
                )
            token = _Token(str(body["access_token"]), time.monotonic() + float(body.get("expires_in", 3600)))
            self._tokens[scope] = token
            return token.value

    def forget(self, scope: str | None = None) -> None:
        """A token the service refused (401): get a new one next time."""
        self._tokens.pop(scope or self.cloud.bot_scope, None)


class Verifier:
    """Checks the Bot Framework's token on an incoming activity."""

    def __init__(self, session: aiohttp.ClientSession, cloud: Cloud, app_id: str) -> None:
        self.session, self.cloud, self.app_id = session, cloud, app_id
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched = 0.0
        self._lock = asyncio.Lock()

    async def _refresh(self, *, unknown_kid: bool) -> None:
        async with self._lock:
            age = time.monotonic() - self._fetched
            if self._keys and (age < REFETCH_AFTER or (not unknown_kid and age < KEYS_TTL)):
                return
            try:
                async with self.session.get(self.cloud.openid_metadata_url) as response:
                    metadata = await response.json(content_type=None)
                async with self.session.get(str(metadata["jwks_uri"])) as response:
                    found = await response.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError, KeyError, TypeError, json.JSONDecodeError) as exc:
                log.warning(
                    "Teams: could not fetch the Bot Framework's signing keys (%s)", type(exc).__name__
                )
                return
            self._keys = {
                str(k["kid"]): k for k in found.get("keys", []) if isinstance(k, dict) and "kid" in k
            }
            self._fetched = time.monotonic()

    async def _key(self, kid: str) -> dict[str, Any]:
        if not self._keys or time.monotonic() - self._fetched > KEYS_TTL:
            await self._refresh(unknown_kid=False)
        if kid not in self._keys:
            await self._refresh(unknown_kid=True)
        if kid not in self._keys:
            raise Unauthorized("unknown signing key")
        return self._keys[kid]

    async def verify(self, authorization: str | None, service_url: str | None) -> dict[str, Any]:
        """The token's claims, or Unauthorized. `service_url` None: the activity could not be read, so
        there is nothing to compare the token's serviceurl claim with (the request is refused anyway)."""
        scheme, _, raw = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise Unauthorized("no bearer token")
        raw = raw.strip()
        try:
            header = jwt.get_unverified_header(raw)
        except jwt.InvalidTokenError:
            raise Unauthorized("malformed token") from None
        if header.get("alg") != "RS256":
            raise Unauthorized("token not signed with RS256")
        jwk = await self._key(str(header.get("kid", "")))
        endorsements = jwk.get("endorsements")
        if isinstance(endorsements, list) and CHANNEL not in endorsements:
            raise Unauthorized("signing key not endorsed for msteams")
        try:
            key = jwt.PyJWK(jwk, algorithm="RS256").key
            claims: dict[str, Any] = jwt.decode(
                raw,
                key,
                algorithms=["RS256"],
                audience=self.app_id,
                issuer=self.cloud.issuer,
                leeway=LEEWAY,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"token refused ({type(exc).__name__})") from None
        claimed = str(claims.get("serviceurl") or claims.get("serviceUrl") or "")
        if service_url is not None and claimed and claimed.rstrip("/") != service_url.rstrip("/"):
            raise Unauthorized("serviceUrl does not match the token")
        return claims
