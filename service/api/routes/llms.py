"""Docs for machines: /llms.txt, /llms-full.txt and /docs/{path}.md (public pages only).

Sync routes, like the HTML pages: reading and joining pages runs in the threadpool.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from docent.errors import NotFoundError
from service.api.deps import RuntimeDep
from service.docs_markdown import llms_full_txt, llms_txt, page_markdown, site_name
from service.source_pages import find_public_page, public_documents

router = APIRouter(tags=["docs"])
_MARKDOWN = "text/markdown; charset=utf-8"
_TEXT: dict[int | str, dict[str, Any]] = {200: {"content": {"text/plain": {}}, "description": "Markdown (text/plain)."}}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/llms.txt", response_class=PlainTextResponse, responses=_TEXT)
def llms_index(request: Request, runtime: RuntimeDep) -> PlainTextResponse:
    """An index of the public pages with one-line descriptions (llmstxt.org)."""
    docs = public_documents(runtime.settings, runtime.visibility)
    return PlainTextResponse(llms_txt(docs, name=site_name(docs), base=_base(request)))


@router.get("/llms-full.txt", response_class=PlainTextResponse, responses=_TEXT)
def llms_full(request: Request, runtime: RuntimeDep) -> PlainTextResponse:
    """Every public page as Markdown, in one file."""
    docs = public_documents(runtime.settings, runtime.visibility)
    return PlainTextResponse(llms_full_txt(docs, name=site_name(docs), base=_base(request)))


@router.get("/docs/{path:path}.md", response_class=PlainTextResponse,
            responses={**_TEXT, 404: {"description": "No public page at this address."}})
def page_md(path: str, runtime: RuntimeDep) -> PlainTextResponse:
    """One public page as Markdown; internal, missing and unreadable pages are 404 alike."""
    doc = find_public_page(runtime.settings, path, runtime.visibility)
    if doc is None:
        raise NotFoundError("No public page at this address.")
    return PlainTextResponse(page_markdown(doc), media_type=_MARKDOWN)
