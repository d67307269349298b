"""Session tokens and the sliding-window limiter, as pure functions (no HTTP)."""

from __future__ import annotations

import pytest

from docent.settings import Site, WidgetSettings
from service.rate_limit import SlidingWindowLimiter, retry_after_header
from service.widget_tokens import (
    TokenClaims,
    TokenError,
    WidgetGuard,
    allowed_origins,
    mint_token,
    normalize_origin,
    verify_token,
)

SECRET = b"k" * 32
CLAIMS = TokenClaims("docs", "https://docs.example", "sess", 1_000)


def test_token_round_trip_returns_claims() -> None:
    """A minted token verifies to the same claims before it expires."""
    assert verify_token(SECRET, mint_token(SECRET, CLAIMS), now=999) == CLAIMS


@pytest.mark.parametrize("mangle", [
    lambda t: t.replace("v1.", "v2.", 1),
    lambda t: t[:-2] + ("xx" if not t.endswith("xx") else "yy"),
    lambda t: t.split(".")[0] + "." + t.split(".")[1][:-3] + "abc." + t.split(".")[2],
    lambda t: "garbage",
    lambda t: "v1.!!!.???",
])
def test_token_tampered_is_refused(mangle: object) -> None:
    """Any change to version, payload or signature makes the token invalid."""
    token = mint_token(SECRET, CLAIMS)
    with pytest.raises(TokenError):
        verify_token(SECRET, mangle(token), now=0)  # type: ignore[operator]


def _variants(token: str) -> list[str]:
    """Spellings a lenient base64 decoder reads as the same token."""
    version, payload, mac = token.split(".")
    last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # 43 characters carry 258 bits for a 256-bit MAC: the last one's low 2 bits are spare.
    spare = last[(last.index(mac[-1]) & ~3) + ((last.index(mac[-1]) + 1) & 3)]
    return [
        token + "=", token + "==", token + "!", token + "~~",            # padding and junk appended
        f"{version}.{payload}.{mac[:10]}!{mac[10:]}",                    # junk inserted in the MAC
        f"{version}.{payload[:5]}*{payload[5:]}.{mac}",                  # ... and in the payload
        f"{version}.{payload}.{mac[:-1]}{spare}",                         # non-canonical last character
        f"{version}.{payload}.{mac}".replace("-", "+").replace("_", "/"),  # the other alphabet
        f"{version}.{payload}= .{mac}",
    ]


def test_token_variants_are_refused() -> None:
    """Only the exact minted spelling verifies: appended, inserted or padding characters, a
    non-canonical last character or the standard alphabet all make it invalid."""
    token = mint_token(SECRET, CLAIMS)
    variants = [v for v in _variants(token) if v != token]
    assert len(variants) >= 8
    for variant in variants:
        with pytest.raises(TokenError, match="Invalid|Malformed"):
            verify_token(SECRET, variant, now=0)
    assert verify_token(SECRET, token, now=0) == CLAIMS


def test_token_other_secret_is_refused() -> None:
    """A token signed with another key (another deployment) is refused."""
    with pytest.raises(TokenError, match="Invalid"):
        verify_token(b"other" * 8, mint_token(SECRET, CLAIMS), now=0)


def test_token_expired_refused_unless_within_grace() -> None:
    """Expiry is enforced; the renewal path may accept a recently expired token."""
    token = mint_token(SECRET, CLAIMS)
    with pytest.raises(TokenError, match="expired"):
        verify_token(SECRET, token, now=1_001)
    assert verify_token(SECRET, token, now=1_500, grace_s=600).session_id == "sess"


def test_guard_mint_keeps_session_only_for_same_site_and_origin() -> None:
    """Renewal carries the session over for the same site and origin, never across them."""
    guard = WidgetGuard(WidgetSettings(sites=[Site(site_id="aaa", allowed_origins=["https://a.example"]),
                                              Site(site_id="bbb", allowed_origins=["https://a.example"])]))
    first, claims = guard.mint(guard.sites["aaa"], "https://a.example", None, now=100)
    _, renewed = guard.mint(guard.sites["aaa"], "https://a.example", first, now=5_000)
    _, other_site = guard.mint(guard.sites["bbb"], "https://a.example", first, now=5_000)
    assert renewed.session_id == claims.session_id and other_site.session_id != claims.session_id
    assert renewed.expires_at == 5_000 + guard.ttl_s


def test_origins_normalized_and_unioned_for_cors() -> None:
    """Origins compare case-insensitively without trailing slashes; CORS gets their union."""
    assert normalize_origin("HTTPS://Docs.Example.com:8443/") == "https://docs.example.com:8443"
    assert normalize_origin("not a url") == ""
    widget = WidgetSettings(sites=[Site(site_id="aaa", allowed_origins=["https://a.example/", "https://b.example"]),
                                   Site(site_id="bbb", allowed_origins=["https://A.example"])])
    assert allowed_origins(widget) == ["https://a.example", "https://b.example"]


def test_limiter_refuses_past_limit_and_slides() -> None:
    """N hits per window pass; the next waits until the oldest leaves the window."""
    now = [0.0]
    limiter = SlidingWindowLimiter(2, 60, clock=lambda: now[0])
    assert limiter.hit("k") is None and limiter.hit("k") is None
    now[0] = 10
    assert limiter.hit("k") == pytest.approx(50)
    assert limiter.hit("other") is None  # keys are independent
    now[0] = 60.5
    assert limiter.hit("k") is None


def test_retry_after_header_rounds_up_to_whole_seconds() -> None:
    """Retry-After never says 0 and never tells a client to come back too early."""
    assert retry_after_header(0.01) == "1" and retry_after_header(4.2) == "5"
