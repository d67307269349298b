"""Which link targets Docent will render: the one predicate shared by ingest and tests.

The widget and the console apply the same rule in JavaScript when they render a
citation (``safeUrl`` in ``service/static/widget.js``); keep the two in step.
"""

from __future__ import annotations

import re

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
# Browsers drop leading/trailing C0 controls and spaces and every tab or newline before
# they read a scheme ("java\tscript:" is javascript:). Removing all of them, and DEL,
# anywhere is stricter than any browser, so nothing a browser would run can pass.
_IGNORED = re.compile(r"[\x00-\x20\x7f]")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")  # anchored by match(): linear time


def safe_url(url: str) -> bool:
    """True for http, https and mailto URLs and for relative URLs (no scheme).

    Relative includes ``/path``, ``page#anchor``, ``?q`` and ``//host/path``: a
    scheme-relative URL takes the page's own scheme (http or https), so it is no
    riskier than the absolute http(s) URLs that are allowed anyway. Anything with
    another scheme (``javascript:``, ``data:``, ``vbscript:``, ``file:``...) is refused,
    judged after removing the control characters and whitespace browsers ignore.
    """
    match = _SCHEME.match(_IGNORED.sub("", url))
    return match is None or match.group(1).lower() in SAFE_SCHEMES
