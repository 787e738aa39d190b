"""OpenID Connect for staff single sign-on, with Authlib: the provider's discovery document and
keys, the authorization request (code flow with PKCE S256, ``state`` and ``nonce``), the code
exchange and the ID token's verification (signature against the provider's JWKS, issuer,
audience, expiry against kiosk's clock, nonce, ``at_hash``).

Nothing here reads the request or the app: the views pass the settings, the callback's
parameters and ``now``. Errors carry a short reason code for the log, never a token or a claim.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import ClaimError, ExpiredTokenError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

#: How long discovery documents and key sets are reused before they are fetched again. A key
#: the cached set lacks (the provider rotated its keys) fetches the set again at once.
METADATA_SECONDS = 3600
#: Clock skew tolerated between kiosk and the provider, in seconds.
LEEWAY_SECONDS = 60


class SsoError(Exception):
    """A single sign-on that must be refused; ``reason`` is a short code safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Client:
    """kiosk as a client of one OpenID provider (from the SSO_* settings)."""

    issuer: str
    client_id: str
    client_secret: str
    scope: str
    redirect_uri: str
    timeout: float


@dataclass(frozen=True)
class Pending:
    """What the login's browser session keeps between the redirect and the callback."""

    state: str
    nonce: str
    code_verifier: str

    def as_dict(self) -> dict[str, str]:
        return {"state": self.state, "nonce": self.nonce, "code_verifier": self.code_verifier}

    @classmethod
    def from_dict(cls, data: object) -> Pending | None:
        if not isinstance(data, dict):
            return None
        state, nonce, verifier = (data.get(key) for key in ("state", "nonce", "code_verifier"))
        if not (isinstance(state, str) and isinstance(nonce, str) and isinstance(verifier, str)):
            return None
        if not (state and nonce and verifier):
            return None
        return cls(state=state, nonce=nonce, code_verifier=verifier)


_cache: dict[str, tuple[float, dict[str, Any]]] = {}
_cache_lock = threading.Lock()


def _session(client: Client) -> Any:
    return OAuth2Session(
        client_id=client.client_id,
        client_secret=client.client_secret,
        scope=client.scope,
        redirect_uri=client.redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",  # noqa: S106 - a method name
        default_timeout=client.timeout,
    )


def _get_json(client: Client, url: str, *, force: bool = False) -> dict[str, Any]:
    with _cache_lock:
        cached = _cache.get(url)
    if cached is not None and not force and time.monotonic() - cached[0] < METADATA_SECONDS:
        return cached[1]
    try:
        with _session(client) as http:
            response = http.get(url, withhold_token=True)
            response.raise_for_status()
            data = response.json()
    except Exception as exc:  # noqa: BLE001 - network, HTTP or JSON: the provider is unusable
        raise SsoError("provider_unreachable") from exc
    if not isinstance(data, dict):
        raise SsoError("provider_unreachable")
    with _cache_lock:
        _cache[url] = (time.monotonic(), data)
    return data


def clear_cache() -> None:
    """Forget every discovery document and key set (tests start providers on new ports)."""
    with _cache_lock:
        _cache.clear()


def metadata(client: Client) -> dict[str, Any]:
    """The provider's discovery document; its ``issuer`` must be the configured one exactly."""
    parts = urlsplit(client.issuer)
    if parts.scheme != "https" and parts.hostname not in ("127.0.0.1", "::1", "localhost"):
        raise SsoError("issuer_not_https")
    document = _get_json(client, client.issuer.rstrip("/") + "/.well-known/openid-configuration")
    if document.get("issuer") != client.issuer:
        raise SsoError("issuer_mismatch")
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(document.get(key), str):
            raise SsoError("discovery_incomplete")
    return document


def authorization_request(client: Client) -> tuple[str, Pending]:
    """The provider's login URL to send the browser to, and what to keep for the callback."""
    document = metadata(client)
    pending = Pending(
        state=generate_token(32), nonce=generate_token(32), code_verifier=generate_token(64)
    )
    with _session(client) as http:
        url, _state = http.create_authorization_url(
            document["authorization_endpoint"],
            state=pending.state,
            nonce=pending.nonce,
            code_verifier=pending.code_verifier,
        )
    return str(url), pending


def complete(
    client: Client, pending: Pending | None, arguments: Mapping[str, str], *, now: datetime
) -> dict[str, Any]:
    """Check the callback against the pending login, redeem the code and return the verified
    ID token's claims. Raises :class:`SsoError` for anything that is not a good login."""
    if pending is None:
        raise SsoError("no_pending_login")
    token = redeem(client, pending, arguments)
    access_token = token.get("access_token")
    return verify_id_token(
        client,
        token["id_token"],
        nonce=pending.nonce,
        access_token=access_token if isinstance(access_token, str) else None,
        now=now,
    )


def redeem(client: Client, pending: Pending, arguments: Mapping[str, str]) -> dict[str, Any]:
    """Check the callback's ``state`` (and ``iss``) and exchange its code, with the PKCE
    verifier, for the provider's tokens (not verified yet: see :func:`verify_id_token`)."""
    if not hmac.compare_digest(arguments.get("state", "").encode(), pending.state.encode()):
        raise SsoError("state_mismatch")
    if "error" in arguments:
        raise SsoError("provider_refused")
    document = metadata(client)
    # RFC 9207: a provider that names itself in the response must be the one asked.
    if "iss" in arguments and arguments["iss"] != document["issuer"]:
        raise SsoError("issuer_mismatch")
    code = arguments.get("code", "")
    if not code:
        raise SsoError("no_code")
    try:
        with _session(client) as http:
            token = http.fetch_token(
                document["token_endpoint"],
                grant_type="authorization_code",
                code=code,
                code_verifier=pending.code_verifier,
            )
    except Exception as exc:  # noqa: BLE001 - refused by the provider or unreachable
        raise SsoError("token_refused") from exc
    if not isinstance(token.get("id_token"), str):
        raise SsoError("no_id_token")
    return dict(token)


def verify_id_token(
    client: Client, id_token: str, *, nonce: str, access_token: str | None, now: datetime
) -> dict[str, Any]:
    """Verify an ID token's signature with the provider's keys and its claims: issuer, audience
    (this client), expiry and issue time against ``now``, nonce, and ``at_hash``."""
    document = metadata(client)
    algorithms = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [name for name in algorithms if name != "none"]
    try:
        try:
            keys = KeySet.import_key_set(_get_json(client, document["jwks_uri"]))  # type: ignore[arg-type]
            decoded = jwt.decode(id_token, keys, algorithms=algorithms)
        except InvalidKeyIdError:
            keys = KeySet.import_key_set(_get_json(client, document["jwks_uri"], force=True))  # type: ignore[arg-type]
            decoded = jwt.decode(id_token, keys, algorithms=algorithms)
    except (JoseError, ValueError) as exc:
        raise SsoError("bad_signature") from exc
    params: dict[str, Any] = {"nonce": nonce, "client_id": client.client_id}
    if access_token:
        params["access_token"] = access_token
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        {
            "iss": {"essential": True, "value": document["issuer"]},
            "aud": {"essential": True, "value": client.client_id},
            "sub": {"essential": True},
        },
        params,
    )
    try:
        claims.validate(now=int(now.timestamp()), leeway=LEEWAY_SECONDS)
    except JoseError as exc:
        raise SsoError(_reason(exc)) from exc
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise SsoError("no_subject")
    return dict(claims)


def _reason(error: JoseError) -> str:
    """A log-safe reason code for a claim that failed (the claim's name, not its value)."""
    if isinstance(error, ExpiredTokenError):
        return "expired"
    if isinstance(error, ClaimError) and error.claim.isidentifier():
        return f"bad_claim_{error.claim}"
    return "bad_claims"
