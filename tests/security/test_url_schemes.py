"""Only http(s), mailto and relative URLs count as safe, whatever browsers would ignore in them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time

import pytest

from docent.urls import safe_url
from tests.conftest import REPO

ALLOWED = [
    "https://docs.example.com/guide/proxies#socks5",
    "http://docs.example.com/",
    "HTTPS://DOCS.EXAMPLE.COM/",
    "mailto:support@example.com",
    "/docs/guide/proxies#socks5",
    "guide/proxies.md",
    "../reference/config",
    "#anchor",
    "?q=1",
    "",
    "//docs.example.com/page",  # scheme-relative: the page's own http(s)
    "/docs/a:b",  # a colon after a slash is no scheme
    "guide/a:b",
    "javascript%3Aalert(1)",  # percent-encoding is never decoded into a scheme
    "  https://docs.example.com/  ",
]

REFUSED = [
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "java\rscript:alert(1)",
    "\x00javascript:alert(1)",
    " \x01 javascript:alert(1)",
    "javascript\x7f:alert(1)",
    "jav ascript:alert(1)",
    "vbscript:msgbox(1)",
    "data:text/html,<script>alert(1)</script>",
    "file:///etc/passwd",
    "blob:https://docs.example.com/uuid",
    "ftp://example.com/",
    "web+docent:x",
    "a:b",
]


@pytest.mark.parametrize("url", ALLOWED)
def test_url_schemes_allows_http_mailto_and_relative(url: str) -> None:
    """http, https, mailto and scheme-less URLs pass."""
    assert safe_url(url)


@pytest.mark.parametrize("url", REFUSED)
def test_url_schemes_refuses_other_schemes_even_obfuscated(url: str) -> None:
    """javascript:, data:, file: and every other scheme fail, also with tabs, newlines or controls inside."""
    assert not safe_url(url)


def test_url_schemes_is_linear_on_long_input() -> None:
    """A 100 KB scheme-like string is judged at once (no backtracking)."""
    started = time.perf_counter()
    assert safe_url("a" * 100_000) and not safe_url("a" * 100_000 + ":")
    assert not safe_url("\t" * 100_000 + "javascript:x")
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("script", ["widget.js", "console.js"])
def test_url_schemes_same_rule_in_widget_and_console_js(script: str) -> None:
    """The JavaScript ``safeUrl`` that renders citations agrees with ``safe_url`` on every case above."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    source = (REPO / "service" / "static" / script).read_text(encoding="utf-8")
    match = re.search(r"^  function safeUrl\(url\) \{\n.*?\n  \}\n", source, re.S | re.M)
    assert match, f"{script} has no safeUrl"
    cases = ALLOWED + REFUSED
    program = match.group(0) + f"process.stdout.write(JSON.stringify({json.dumps(cases)}.map(safeUrl)));"
    out = subprocess.run([node, "-e", program], capture_output=True, text=True, timeout=30, check=True).stdout
    assert json.loads(out) == [safe_url(u) for u in cases]


def test_settings_refuse_unsafe_link_settings() -> None:
    """URLs from settings reach the widget as links too, so they pass the same rule."""
    import pydantic

    from docent.settings import Settings

    for bad in ({"chat": {"support_url": "javascript:alert(1)"}}, {"docs_base_url": "data:text/html,x"}):
        with pytest.raises(pydantic.ValidationError, match="http\\(s\\), mailto or relative"):
            Settings(_env_file=None, **bad)  # type: ignore[call-arg]
    assert Settings(_env_file=None, chat={"support_url": "https://help.example.com"}).chat.support_url  # type: ignore[call-arg]
