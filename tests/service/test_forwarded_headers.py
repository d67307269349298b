"""X-Forwarded-For is believed only from DOCENT_TRUSTED_PROXIES, in both `docent serve` paths.

Real `docent serve` processes on loopback. The per-address limit is 60/min: with nobody
trusted, 70 requests that each claim another address share the peer's bucket, and 429s
appear; with 127.0.0.1 trusted, the forwarded address is the bucket.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

from docent.embedder import Embedder
from docent.settings import Settings
from tests.service.live_server import docent_serve, free_port

# An invalid body: the caller's identity and limits are checked first, then 422.
BAD_SEARCH = {"not_a_field": True}


def _statuses(url: str, forwarded_for: list[str]) -> list[int]:
    with httpx.Client(base_url=url, timeout=10) as client:
        return [client.post("/v1/search", json=BAD_SEARCH, headers={"X-Forwarded-For": ip}).status_code
                for ip in forwarded_for]


def _addresses(n: int) -> list[str]:
    return [f"203.0.113.{i % 250 + 1}" if i < 250 else f"198.51.100.{i % 250 + 1}" for i in range(n)]


def test_forwarded_for_from_an_untrusted_peer_is_ignored(tmp_path: Path, models_cache: Path,
                                                         embedder: Embedder) -> None:
    """Default settings: 70 requests with 70 different X-Forwarded-For values get 60 answers, then 429s."""
    with docent_serve(tmp_path, models_cache, {}) as server:
        statuses = _statuses(server.url, _addresses(70))
    assert statuses[:60] == [422] * 60
    assert statuses[60:] == [429] * 10


def test_forwarded_for_from_a_trusted_proxy_names_the_client(tmp_path: Path, models_cache: Path,
                                                             embedder: Embedder) -> None:
    """DOCENT_TRUSTED_PROXIES=127.0.0.1: each forwarded address has its own bucket, and one
    forwarded address is limited like a peer."""
    with docent_serve(tmp_path, models_cache, {"DOCENT_TRUSTED_PROXIES": "127.0.0.1,10.0.0.0/8"}) as server:
        distinct = _statuses(server.url, _addresses(70))
        same = _statuses(server.url, ["192.0.2.7"] * 61)
    assert distinct == [422] * 70
    assert same[:60] == [422] * 60 and same[60] == 429


def test_several_workers_ignore_forwarded_for_too(tmp_path: Path, models_cache: Path, embedder: Embedder) -> None:
    """`docent serve --workers 2` (the factory path) applies the same options in each worker:
    forwarded headers ignored, and its header deadline closes an idle connection."""
    env = {"QDRANT_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens: not ready, still serving
           "DOCENT_WIDGET__RATE_PER_MINUTE_IP": "10", "DOCENT_SERVER__HEADER_TIMEOUT_S": "2"}
    with docent_serve(tmp_path, models_cache, env, "--workers", "2") as server:
        statuses = _statuses(server.url, _addresses(70))
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as idle:
            started = time.monotonic()
            assert idle.recv(1) == b""  # closed by the server, not by our 10 s timeout
            waited = time.monotonic() - started
    # Each worker counts on its own: at most 2 x 10 get through, whatever the header says.
    assert statuses.count(429) >= 50 and set(statuses) <= {422, 429}
    assert waited < 6


def test_trusted_proxies_setting_parses_lists_and_rejects_junk(monkeypatch: pytest.MonkeyPatch) -> None:
    """DOCENT_TRUSTED_PROXIES is comma separated (or a JSON list) IPs and CIDRs; junk fails at start-up."""
    monkeypatch.setenv("DOCENT_TRUSTED_PROXIES", " 127.0.0.1, 10.0.0.0/8 ,::1")
    assert Settings(_env_file=None).trusted_proxies == ["127.0.0.1", "10.0.0.0/8", "::1"]
    monkeypatch.setenv("DOCENT_TRUSTED_PROXIES", '["172.30.80.10"]')
    assert Settings(_env_file=None).trusted_proxies == ["172.30.80.10"]
    monkeypatch.setenv("DOCENT_TRUSTED_PROXIES", "")
    assert Settings(_env_file=None).trusted_proxies == []
    monkeypatch.setenv("DOCENT_TRUSTED_PROXIES", "proxy.internal")
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        Settings(_env_file=None)
