"""Retrieval only: for staff tools and the evaluation."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter

from service.api.deps import CallerDep, RuntimeDep
from service.api.schemas import ErrorBody, SearchRequest, SearchResponse, SearchResult

router = APIRouter(prefix="/v1", tags=["search"])


@router.post("/search", response_model=SearchResponse, responses={503: {"model": ErrorBody}})
async def search(body: SearchRequest, runtime: RuntimeDep, caller: CallerDep) -> SearchResponse:
    """Hybrid search over the docs the caller may see."""
    t0 = time.perf_counter()
    found = await asyncio.to_thread(runtime.retriever.search, body.query, caller.access, body.top_k)
    cap = runtime.settings.chat.max_result_chars  # chunks indexed before the ingest cap can be megabytes
    results = [
        SearchResult(chunk_id=h.chunk_id, doc_path=h.doc_path, title=str(h.payload.get("title", "")),
                     heading_path=list(h.payload.get("heading_path") or []), url=str(h.payload.get("url", "")),
                     score=h.score, similarity=h.similarity, text=h.text[:cap])
        for h in found.hits
    ]
    return SearchResponse(results=results, latency_ms=round((time.perf_counter() - t0) * 1000, 2))
