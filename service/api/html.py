"""HTML pages and static files for every route module: templates, CSP, gzip.

Pages are filled from small templates in ``service/static`` with values escaped by the
caller. Every page carries a strict Content-Security-Policy: scripts and styles from
this origin only.
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
TYPES = {"css": "text/css; charset=utf-8", "js": "application/javascript; charset=utf-8",
         "svg": "image/svg+xml", "html": "text/html; charset=utf-8"}
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


@lru_cache(maxsize=64)
def _load(path: str, _mtime_ns: int) -> tuple[bytes, bytes]:
    # Read and gzip once per file version: assets are served often and never change in between.
    raw = Path(path).read_bytes()
    return raw, gzip.compress(raw, 9, mtime=0)


def static_bytes(name: str) -> bytes:
    """A file from service/static (templates and assets)."""
    path = STATIC_DIR / name
    return _load(str(path), path.stat().st_mtime_ns)[0]


def static_response(request: Request, name: str, media_type: str) -> Response:
    """Serve a static file, gzipped when the client accepts it, cacheable for five minutes."""
    path = STATIC_DIR / name
    raw, packed = _load(str(path), path.stat().st_mtime_ns)
    headers = {"Cache-Control": "public, max-age=300", "Vary": "Accept-Encoding",
               "X-Content-Type-Options": "nosniff"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(packed, media_type=media_type, headers={**headers, "Content-Encoding": "gzip"})
    return Response(raw, media_type=media_type, headers=headers)


def fill(template: str, **values: str) -> str:
    """Put already-escaped HTML into ``{{name}}`` slots."""
    text = static_bytes(template).decode()
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def page(body: str, csp: str = CSP) -> HTMLResponse:
    """An HTML page with its Content-Security-Policy."""
    return HTMLResponse(body, headers={"Content-Security-Policy": csp})
