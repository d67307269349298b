"""Public widget security: short-lived signed session tokens, origin checks, rate limits.

The widget's page holds no secret. Its public site id only lets an allowed origin
mint a session token; the token only ever grants public visibility, expires after
``widget.token_ttl_s``, and is rate limited per session and per IP. Tokens are
``v1.<payload>.<mac>`` with an HMAC-SHA256 over the payload (stdlib only), so any
process holding the same ``widget.token_secret`` can verify them without a store (with
``DOCENT_REDIS_URL`` and no secret set, workers share one random key through Redis).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fastapi import Request

from docent.errors import ForbiddenError, ForgedTokenError, UnauthorizedError
from docent.settings import Site, WidgetSettings
from service.rate_limit import client_address, enforce
from service.shared_state import SharedSecret, SharedState, build_limiter

if TYPE_CHECKING:
    from service.runtime import Runtime

_VERSION = "v1"
# An expired token may still hand its session (and so its conversations) to a new one
# for this long; after that the tab starts afresh.
RENEW_GRACE_S = 24 * 3600


class TokenError(ValueError):
    """A token that is malformed, forged or expired; the message is safe to show."""


class TokenExpiredError(TokenError):
    """A genuine token past its expiry (not a failed authentication: the widget re-mints)."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verified token says: which site, from which origin, which browser session."""

    site_id: str
    origin: str
    session_id: str
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    """Strict: only the canonical unpadded urlsafe form ``_b64`` writes decodes.

    The lenient decoder dropped characters outside the alphabet and accepted padding,
    so one token had many spellings that all verified (and each was its own bucket).
    """
    data = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    if _b64(data) != text:
        raise ValueError("not canonical base64url")
    return data


def mint_token(secret: bytes, claims: TokenClaims) -> str:
    """Sign ``claims`` into a compact token."""
    payload = _b64(json.dumps({"s": claims.site_id, "o": claims.origin, "i": claims.session_id,
                               "e": claims.expires_at}, separators=(",", ":")).encode())
    signing_input = f"{_VERSION}.{payload}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


def verify_token(secret: bytes, token: str, now: float, *, grace_s: float = 0) -> TokenClaims:
    """The claims of a genuine token that expired no more than ``grace_s`` ago; else TokenError."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != _VERSION:
        raise TokenError("Malformed session token.")
    expected = hmac.new(secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    try:
        genuine = hmac.compare_digest(expected, _unb64(parts[2]))
        data = json.loads(_unb64(parts[1])) if genuine else None
        claims = TokenClaims(str(data["s"]), str(data["o"]), str(data["i"]), int(data["e"])) if data else None
    except (ValueError, KeyError, TypeError):  # bad base64/JSON: same answer as a bad signature
        claims = None
    if claims is None:
        raise TokenError("Invalid session token.")
    if claims.expires_at + grace_s < now:
        raise TokenExpiredError("Session token expired; request a new one from POST /v1/widget/session.")
    return claims


def normalize_origin(origin: str) -> str:
    """``scheme://host[:port]`` in lower case, so configured origins compare reliably."""
    parts = urlsplit(origin.strip().rstrip("/"))
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}" if parts.scheme and parts.netloc else ""


def allowed_origins(widget: WidgetSettings) -> list[str]:
    """Every origin some site allows: the CORS allow-list (the per-site check is server-side)."""
    return sorted({o for site in widget.sites for o in map(normalize_origin, site.allowed_origins) if o})


class WidgetGuard:
    """Mints and checks session tokens, and applies the widget's rate limits."""

    def __init__(self, widget: WidgetSettings, shared: SharedState | None = None) -> None:
        # The token key: the configured one; else with Redis (several workers) one random
        # key shared through it; else a random key per process (tokens die with it).
        self._secret: bytes | SharedSecret = (
            widget.token_secret.encode() if widget.token_secret
            else SharedSecret(shared, "widget:token-secret") if shared is not None
            else secrets.token_bytes(32))
        self.ttl_s = widget.token_ttl_s
        self.sites = {site.site_id: site for site in widget.sites}
        self.origins = set(allowed_origins(widget))
        # Anonymous budgets: while Redis is down they refuse (429) rather than go uncounted.
        self.per_token = build_limiter(shared, "widget-session", widget.rate_per_minute_token, on_outage="closed")
        self.per_ip = build_limiter(shared, "ip", widget.rate_per_minute_ip, on_outage="closed")

    @property
    def secret(self) -> bytes:
        """The HMAC key tokens are signed with (the same in every worker when shared)."""
        return self._secret if isinstance(self._secret, bytes) else self._secret.get()

    @staticmethod
    def allows(site: Site, origin: str, request: Request) -> bool:
        """An origin on the site's allow-list, or this server's own pages (the demo and /docs).

        Own pages are trusted on any host and port the server is reached at, so the
        demo works behind a port mapping without listing it.
        """
        normal = normalize_origin(origin)
        own = urlsplit(str(request.base_url)).netloc.lower()
        return normal in map(normalize_origin, site.allowed_origins) or urlsplit(normal).netloc == own

    def site_for(self, site_id: str, request: Request) -> Site:
        """The site, if the request's Origin may use it; 403 otherwise (same answer for unknown ids)."""
        site = self.sites.get(site_id)
        origin = request.headers.get("origin")
        if not origin:
            raise ForbiddenError("An Origin header is required to start a widget session.")
        if site is None or not self.allows(site, origin, request):
            raise ForbiddenError(f"Origin {origin} may not use the widget of site {site_id!r}.")
        return site

    def mint(self, site: Site, origin: str, previous: str | None, now: float) -> tuple[str, TokenClaims]:
        """A fresh token; a genuine previous token of the same site and origin keeps its session."""
        session_id = ""
        if previous:
            try:
                old = verify_token(self.secret, previous, now, grace_s=RENEW_GRACE_S)
                if old.site_id == site.site_id and old.origin == normalize_origin(origin):
                    session_id = old.session_id
            except TokenError:
                pass  # a stale or foreign token just means a new session
        claims = TokenClaims(site.site_id, normalize_origin(origin), session_id or secrets.token_urlsafe(12),
                             int(now) + self.ttl_s)
        return mint_token(self.secret, claims), claims

    limit = staticmethod(enforce)

    def admit(self, request: Request, token: str | None) -> str:
        """Check a public (non-staff) request; return the scope its conversations live in.

        - A widget token must be genuine, unexpired, and used from its own origin.
        - A browser request without a token must come from this server's origin or
          an allowed one, so other pages cannot drive the API from a visitor's browser.
        - Requests with neither token nor Origin are server-to-server API calls
          (``docent ask --url``, scripts). They need no token, but share the per-address
          limit: leaving out the Origin header must not lift the rate limit.
        """
        origin = request.headers.get("origin")
        ip = client_address(request)
        if token:
            try:
                claims = verify_token(self.secret, token, time.time())
            except TokenExpiredError as exc:
                raise UnauthorizedError(str(exc), challenge="Bearer") from None
            except TokenError as exc:
                raise ForgedTokenError(str(exc)) from None
            if origin and normalize_origin(origin) != claims.origin:
                raise ForbiddenError("This session token belongs to another origin.")
            site = self.sites.get(claims.site_id)
            if site is None or not self.allows(site, claims.origin, request):
                # The site was removed or the origin withdrawn since the token was minted.
                raise ForbiddenError("This origin may no longer use the widget.")
            self.limit(self.per_ip, ip, "address")
            # Keyed on the signed session, not the token's text: a renewed token keeps its
            # session's budget, and no spelling of a token can start a fresh one.
            scope = f"widget:{claims.site_id}:{claims.session_id}"
            self.limit(self.per_token, scope, "session")
            return scope
        if origin:
            own = urlsplit(str(request.base_url)).netloc.lower()
            if urlsplit(normalize_origin(origin)).netloc != own and normalize_origin(origin) not in self.origins:
                raise ForbiddenError(f"Origin {origin} may not call this API from a browser.")
        self.limit(self.per_ip, ip, "address")
        return "public"


def widget_guard(runtime: Runtime) -> WidgetGuard:
    """The runtime's guard, built on first use (the secret and counters live as long as the runtime)."""
    return runtime.widget_guard


def admit_public(request: Request, runtime: Runtime, token: str | None) -> str:
    """For ``deps.get_caller``: admit a non-staff caller and return its conversation scope."""
    return widget_guard(runtime).admit(request, token)
