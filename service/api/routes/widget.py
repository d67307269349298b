"""The embeddable widget: GET /widget.js, POST /v1/widget/session, and its CORS policy."""

from __future__ import annotations

import time

from fastapi import APIRouter, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from docent.settings import WidgetSettings
from service.api.deps import RuntimeDep
from service.api.html import static_response
from service.api.schemas import ErrorBody, Handoff
from service.rate_limit import client_address
from service.widget_tokens import allowed_origins, widget_guard

router = APIRouter(tags=["widget"])


class WidgetSessionRequest(BaseModel):
    """The page's public site id, and its last token (to keep its conversations) if it has one."""

    model_config = ConfigDict(extra="forbid")
    site_id: str = Field(max_length=64)
    previous_token: str | None = Field(None, max_length=1024)


class WidgetSite(BaseModel):
    title: str
    greeting: str


class WidgetSession(BaseModel):
    token: str = Field(description="Send as `Authorization: Bearer <token>` on /v1/chat and /v1/feedback.")
    expires_at: int = Field(description="Unix time after which the token is refused.")
    site: WidgetSite
    support: Handoff


@router.get("/widget.js", include_in_schema=False)
def widget_js(request: Request) -> Response:
    """The widget script: plain JS, no build step, embedded with one <script> tag."""
    return static_response(request, "widget.js", "application/javascript; charset=utf-8")


@router.post("/v1/widget/session", response_model=WidgetSession,
             responses={403: {"model": ErrorBody}, 429: {"model": ErrorBody}})
def widget_session(body: WidgetSessionRequest, request: Request, runtime: RuntimeDep) -> WidgetSession:
    """Mint a short-lived session token for a site, if the request's Origin is on its allow-list."""
    guard = widget_guard(runtime)
    site = guard.site_for(body.site_id, request)
    guard.limit(guard.per_ip, client_address(request), "address")
    token, claims = guard.mint(site, request.headers["origin"], body.previous_token, time.time())
    chat = runtime.settings.chat
    return WidgetSession(token=token, expires_at=claims.expires_at,
                         site=WidgetSite(title=site.title, greeting=site.greeting),
                         support=Handoff(label=chat.support_label, url=chat.support_url))


def add_cors(app: FastAPI, widget: WidgetSettings) -> None:
    """Let allowed widget origins call the API from their pages; the per-site check is server-side.

    Only the headers the widget sends are allowed: ``X-API-Key`` is not, so no other
    origin can make a browser send a staff key. Retry-After is exposed for 429s.
    """
    app.add_middleware(CORSMiddleware, allow_origins=allowed_origins(widget), allow_credentials=False,
                       allow_methods=["GET", "POST"], allow_headers=["Authorization", "Content-Type"],
                       expose_headers=["Retry-After"], max_age=600)
