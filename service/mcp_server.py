"""The MCP server: ``search_docs``, ``ask_docs`` and ``get_page``, over stdio and streamable HTTP.

Built with the official SDK's ``MCPServer`` (the protocol is the SDK's). The tools call
what the HTTP routes call: the retriever with the caller's access filter (POST /v1/search),
the one answer path ``runtime.answerer.answer`` (POST /v1/chat) and the /docs page lookup.

Who is asking is decided the way the API decides it:
- over HTTP (``/mcp`` in the app) every request goes through ``deps.get_caller`` before the
  SDK sees it: a staff key in ``X-API-Key`` or ``Authorization: Bearer``, the staff rate
  limit, the failed-sign-in throttle, the public per-address limit; a wrong key is a 401;
- over stdio (``docent mcp``) the key in ``DOCENT_MCP_STAFF_KEY`` is checked once at start.
Without a key a session sees public docs only.

HTTP runs stateless with JSON responses: each request stands alone (and is authenticated
alone), so several workers behind a load balancer need no shared session store.
"""

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated
from urllib.parse import urlsplit

from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from docent.errors import DocentError, UnauthorizedError
from docent.schema import Access
from service.api.deps import Caller, get_caller
from service.api.errors import headers_for, status_for
from service.api.views import record_turn
from service.docs_markdown import page_markdown
from service.runtime import Runtime
from service.source_pages import find_page

_CALLER = "docent_caller"  # where the HTTP endpoint leaves the checked caller, in the request state
INSTRUCTIONS = ("Answers from the product documentation. search_docs finds passages; ask_docs answers a "
                "question with [n] citations, or says the docs do not cover it and where to get help; "
                "get_page reads one page as Markdown.")


class DocHit(BaseModel):
    """One passage found by search_docs."""

    title: str
    section: str = Field(description="Headings from the page title down to the passage, joined by ' > '.")
    url: str = Field(description="The page URL with the section's #anchor.")
    text: str
    doc_path: str
    score: float


class SearchDocsResult(BaseModel):
    results: list[DocHit]


class Source(BaseModel):
    """A source cited in an answer as [marker]."""

    marker: int
    title: str
    section: str
    url: str


class AskDocsResult(BaseModel):
    answer: str = Field(description="The answer with [n] markers, or why the docs do not answer it.")
    answerable: bool
    citations: list[Source]
    abstain_reason: str | None = None
    handoff: str | None = Field(None, description="Where to get human help when the docs do not answer.")


def _absolute(url: str, base: str) -> str:
    return f"{base}{url}" if base and url.startswith("/") else url


def _section(heading_path: list[str]) -> str:
    return " > ".join(heading_path)


def _page_path(path: str) -> str:
    """``https://host/docs/a/b#x``, ``/docs/a/b.md`` or ``a/b`` -> ``a/b`` (or ``a/b.md``)."""
    parts = urlsplit(path.strip())
    rel = parts.path.lstrip("/")
    return rel[len("docs/"):] if rel.startswith("docs/") else rel.removeprefix("docs")


def _readable_page(runtime: Runtime, access: Access, rel: str) -> str | None:
    """The page at ``rel`` as Markdown if ``access`` may read it (the index's own rule), else None."""
    settings, policy = runtime.settings, runtime.visibility
    doc = find_page(settings, rel, policy)
    if doc is None and rel.endswith(".md"):  # an llms.txt link: /docs/a/b.md names the page a/b
        doc = find_page(settings, rel[:-3], policy)
    if doc is None or not access.allows(doc.visibility, doc.groups):
        return None
    return page_markdown(doc)


def build_server(runtime_of: Callable[[], Runtime], stdio_caller: Caller | None = None,
                 base_url: str = "") -> MCPServer:
    """The MCP server. ``stdio_caller`` is who a stdio session is (None: public); over HTTP the
    endpoint below puts each request's checked caller in its state. ``base_url`` makes doc
    links absolute on stdio (over HTTP they are made absolute with the request's own URL)."""
    server: MCPServer = MCPServer("docent", instructions=INSTRUCTIONS, log_level="WARNING")

    def who(ctx: Context) -> tuple[Caller, str]:
        request = ctx.request_context.request
        if isinstance(request, Request):
            # Fail closed: an HTTP request that did not pass the endpoint's check is public.
            caller = getattr(request.state, _CALLER, None) or Caller(Access.public(), "public")
            return caller, str(request.base_url).rstrip("/")
        return stdio_caller or Caller(Access.public(), "public"), base_url.rstrip("/")

    @server.tool()
    async def search_docs(query: Annotated[str, Field(min_length=1, max_length=2000)], ctx: Context,
                          top_k: Annotated[int, Field(ge=1, le=20)] = 5) -> SearchDocsResult:
        """Search the documentation; returns the best passages with title, section, URL and text."""
        runtime = runtime_of()
        caller, base = who(ctx)
        try:
            found = await asyncio.to_thread(runtime.retriever.search, query, caller.access, top_k)
        except DocentError as exc:
            raise ToolError(str(exc)) from None
        cap = runtime.settings.chat.max_result_chars
        return SearchDocsResult(results=[
            DocHit(title=str(h.payload.get("title", "")), section=_section(list(h.payload.get("heading_path") or [])),
                   url=_absolute(str(h.payload.get("url", "")), base), text=h.text[:cap], doc_path=h.doc_path,
                   score=h.score)
            for h in found.hits])

    @server.tool()
    async def ask_docs(question: Annotated[str, Field(min_length=1, max_length=100_000)],
                       ctx: Context) -> AskDocsResult:
        """Ask a question; the answer cites the docs as [n], or says they do not cover it and where to get help."""
        runtime = runtime_of()
        caller, base = who(ctx)
        limit = runtime.settings.chat.max_message_chars
        if len(question) > limit or not question.strip():
            raise ToolError(f"The question must have 1 to {limit} characters.")
        try:
            ans = await runtime.answerer.answer(question, [], caller.access)
        except DocentError as exc:
            raise ToolError(str(exc)) from None
        # Stored like a chat turn, so the console and the gap report see questions from MCP clients too.
        record_turn(runtime.conversations, caller.scope, runtime.conversations.new_id(), True, question, ans)
        chat = runtime.settings.chat
        return AskDocsResult(
            answer=ans.text, answerable=ans.answerable, abstain_reason=ans.abstain_reason,
            citations=[Source(marker=c.marker, title=c.title, section=_section(list(c.heading_path)),
                              url=_absolute(c.url, base)) for c in ans.citations],
            handoff=None if ans.answerable else f"{chat.support_label}: {chat.support_url}")

    @server.tool()
    async def get_page(path: Annotated[str, Field(min_length=1, max_length=1000)], ctx: Context) -> str:
        """Read one documentation page as Markdown, by its URL or path (e.g. /docs/getting-started/quickstart)."""
        runtime = runtime_of()
        caller, _ = who(ctx)
        text = await asyncio.to_thread(_readable_page, runtime, caller.access, _page_path(path))
        if text is None:
            # The same answer for missing and not-yours: a public session learns nothing of internal pages.
            raise ToolError("No page at this address.")
        return text

    return server


def stdio_caller(runtime: Runtime, key: str | None) -> Caller:
    """Who a stdio session is: public without a key, the key's staff identity with a valid one."""
    if not key:
        return Caller(Access.public(), "mcp")
    digest = hashlib.sha256(key.encode()).hexdigest()
    for staff in runtime.settings.auth.staff_keys:
        if hmac.compare_digest(staff.sha256, digest):
            access = Access.staff(frozenset(staff.groups), all_groups=staff.admin)
            return Caller(access, f"staff:{staff.name}", staff=True, admin=staff.admin)
    raise UnauthorizedError("DOCENT_MCP_STAFF_KEY is not a valid staff key.")


def _credentials(request: Request) -> tuple[str | None, HTTPAuthorizationCredentials | None]:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    bearer = HTTPAuthorizationCredentials(scheme=scheme, credentials=value.strip()) \
        if scheme.lower() == "bearer" and value.strip() else None
    return request.headers.get("x-api-key") or None, bearer


class HttpEndpoint:
    """The ASGI endpoint at ``/mcp``: checks the caller like any API route, then hands the
    request to the SDK's streamable-HTTP session manager, which runs inside ``running()``
    (the app's lifespan) with its own task group."""

    def __init__(self, runtime_of: Callable[[], Runtime], max_body_bytes: int) -> None:
        self.runtime_of = runtime_of
        self.server = build_server(runtime_of)
        self.max_body_bytes = max_body_bytes
        self.manager: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run a fresh session manager (one can run only once) for as long as the app runs."""
        # Host/Origin checks are the API's (deps.get_caller: own or allowed origins only),
        # so the SDK's localhost-only DNS-rebinding defaults would only refuse real hosts.
        self.server.streamable_http_app(
            stateless_http=True, json_response=True, max_request_body_size=self.max_body_bytes,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False))
        manager = self.server.session_manager
        async with manager.run():
            self.manager = manager
            try:
                yield
            finally:
                self.manager = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        manager = self.manager
        if scope["type"] != "http" or manager is None:
            await JSONResponse({"detail": "MCP is not running."}, status_code=503)(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            caller = get_caller(request, self.runtime_of(), *_credentials(request))
        except DocentError as exc:
            response = JSONResponse({"detail": str(exc)}, status_code=status_for(exc), headers=headers_for(exc))
            await response(scope, receive, send)
            return
        setattr(request.state, _CALLER, caller)  # the scope's state: the SDK's own Request reads the same
        await manager.handle_request(scope, receive, send)
