"""A widget session's rate limit cannot be escaped by respelling its token (HTTP, no browser)."""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi.testclient import TestClient

from service.runtime import Runtime
from tests.widget.conftest import ANSWERABLE, SITE
from tests.widget.test_widget_tokens import _variants

Api = Callable[..., tuple[TestClient, Runtime]]
OK_ORIGIN = {"Origin": "http://testserver"}


def _chat(client: TestClient, token: str) -> int:
    return client.post("/v1/chat", json={"message": ANSWERABLE},
                       headers={"Authorization": f"Bearer {token}", **OK_ORIGIN}).status_code


def test_token_variants_are_401_and_share_no_new_budget(api: Api) -> None:
    """Past the per-session limit, respelled tokens are 401 (not a fresh bucket), and a renewed
    token of the same session is still limited: the bucket is the session, not the string."""
    client, _ = api(rate_per_minute_token=2)
    token = client.post("/v1/widget/session", json={"site_id": SITE}, headers=OK_ORIGIN).json()["token"]
    assert [_chat(client, token) for _ in range(3)] == [200, 200, 429]
    # (a token without "-" or "_" has no other-alphabet spelling: that "variant" is the token itself)
    assert {_chat(client, variant) for variant in _variants(token) if variant != token} == {401}
    time.sleep(1.01 - time.time() % 1)  # expiry has 1 s resolution: renew in the next second for a new string
    renewed = client.post("/v1/widget/session", json={"site_id": SITE, "previous_token": token},
                          headers=OK_ORIGIN).json()["token"]
    assert renewed != token and _chat(client, renewed) == 429
