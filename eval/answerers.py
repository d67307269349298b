"""Getting answers to golden questions from the real pipeline: in-process, or a server's API.

Every golden question is asked on the public path, as a customer would ask it:
unanswerable and internal-only questions must abstain there.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from docent.errors import DocentError
from docent.schema import Access, Hit
from eval.golden import GoldenItem
from eval.records import CitationRef, Context, Sample
from service.answer import Prepared
from service.answerer import Answerer as ServiceAnswerer


class Answerer(Protocol):
    """Answers one golden question; failures become a Sample with ``error`` set."""

    description: str

    async def __call__(self, item: GoldenItem) -> Sample: ...


def _context(hit: Hit) -> Context:
    p = hit.payload
    return Context(
        hit.chunk_id,
        hit.doc_path,
        str(p.get("title", "")),
        list(p.get("heading_path") or []),
        hit.text,
        round(float(hit.similarity), 4),
    )


def _failed(item: GoldenItem, error: str, started: float) -> Sample:
    return Sample(
        item.id,
        item.question,
        "",
        False,
        [],
        [],
        history=list(item.history),
        latency_ms=(time.perf_counter() - started) * 1000,
        error=error,
    )


def _share(value: Any) -> float | None:
    """A 0..1 share from JSON; None when absent or not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def answer_key(identity: str, messages: list[Any]) -> str:
    """What makes an answer reproducible: the model settings and the exact prompt."""
    blob = json.dumps({"model": identity, "messages": messages}, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]


@dataclass
class InProcessAnswerer:
    """The production answer path: the runtime's ``Answerer``, exactly as /v1/chat calls it.

    Its one addition plugs in through the Answerer's reuse hook: when an earlier run
    produced an answer from the byte-identical prompt with the same model settings
    (``cache``, keyed by :func:`answer_key`), that answer is reused instead of generated
    again. A doc edit changes the prompt only of the questions whose retrieved chunks it
    touched, so a run after a small edit regenerates only those.
    """

    answerer: ServiceAnswerer
    identity: str = ""  # the answering model's settings, part of the cache key
    cache: dict[str, Sample] = field(default_factory=dict)
    description: str = "in-process"

    async def __call__(self, item: GoldenItem) -> Sample:
        started = time.perf_counter()
        key = ""
        found: list[Sample] = []

        def reuse(prep: Prepared) -> bool:
            nonlocal key
            key = answer_key(self.identity, list(prep.messages))
            cached = self.cache.get(key)
            if cached is not None and cached.id == item.id:
                found.append(cached)
                return True
            return False

        try:
            ans = await self.answerer.answer(item.question, list(item.history), Access.public(), reuse=reuse)
            if ans.reused and found:
                return replace(found[0], reused=True)
        except DocentError as exc:
            return _failed(item, f"{type(exc).__name__}: {exc}", started)
        latency = (time.perf_counter() - started) * 1000
        return Sample(
            item.id,
            item.question,
            ans.text,
            ans.answerable,
            [_context(h) for h in ans.retrieval.hits],
            [
                CitationRef(c.marker, c.chunk_id, c.doc_path, c.title, list(c.heading_path), c.url)
                for c in ans.citations
            ],
            history=list(item.history),
            abstain_reason=ans.abstain_reason,
            degraded=ans.degraded,
            removed_markers=list(ans.removed_markers),
            unsupported_sentences=list(ans.unsupported_sentences),
            grounding=ans.grounding,
            answer_mode=ans.answer_mode,
            rewritten_query=ans.rewritten_query,
            model=ans.model,
            prompt_tokens=ans.prompt_tokens,
            completion_tokens=ans.completion_tokens,
            latency_ms=latency,
            error="model unavailable (degraded answer)" if ans.degraded else None,
            key="" if ans.degraded else key,
        )


class HttpAnswerer:
    """A running server's API: ``POST /v1/chat``, then ``POST /v1/search`` for the contexts.

    Follow-ups replay their earlier user turns in the same conversation first. The chat
    response does not list markers the server removed, so ``removed_markers`` is empty.
    """

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        top_k: int = 5,
        timeout_s: float = 600,
        transport: Any = None,
    ) -> None:
        import httpx

        headers = {"X-API-Key": api_key} if api_key else {}
        self.description = url.rstrip("/")
        self.top_k = top_k
        # ``transport`` is httpx's own extension point (tests pass an ASGITransport).
        self._client = httpx.AsyncClient(
            base_url=self.description, headers=headers, timeout=timeout_s, transport=transport
        )

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        import httpx

        try:
            response = await self._client.post(path, json=body)
        except httpx.HTTPError as exc:
            raise DocentError(f"cannot reach {self.description}{path}: {exc}") from None
        if response.status_code != 200:
            raise DocentError(f"{path} answered {response.status_code}: {response.text[:300]}")
        data: dict[str, Any] = response.json()
        return data

    async def __call__(self, item: GoldenItem) -> Sample:
        started = time.perf_counter()
        try:
            conversation: str | None = None
            for turn in item.history:
                if turn.get("role") == "user":
                    first = await self._post(
                        "/v1/chat", {"message": turn["content"], "conversation_id": conversation}
                    )
                    conversation = first["conversation_id"]
            t0 = time.perf_counter()
            body = await self._post("/v1/chat", {"message": item.question, "conversation_id": conversation})
            latency = (time.perf_counter() - t0) * 1000
            found = await self._post(
                "/v1/search", {"query": body.get("rewritten_query") or item.question, "top_k": self.top_k}
            )
        except DocentError as exc:
            return _failed(item, str(exc), started)
        contexts = [
            Context(
                r["chunk_id"],
                r["doc_path"],
                r.get("title", ""),
                list(r.get("heading_path") or []),
                r.get("text", ""),
                round(float(r.get("similarity", 0.0)), 4),
            )
            for r in found["results"]
        ]
        usage = body.get("usage") or {}
        return Sample(
            item.id,
            item.question,
            body["answer"],
            bool(body["answerable"]),
            contexts,
            [
                CitationRef(
                    c["marker"], c["chunk_id"], c["doc_path"], c["title"], list(c["heading_path"]), c["url"]
                )
                for c in body.get("citations", [])
            ],
            history=list(item.history),
            abstain_reason=body.get("abstain_reason"),
            degraded=bool(body.get("degraded")),
            # Servers older than the grounding verifier send neither key.
            unsupported_sentences=[str(u) for u in body.get("unsupported_sentences") or []],
            grounding=_share(body.get("grounding")),
            answer_mode=str(body.get("answer_mode") or ""),
            rewritten_query=body.get("rewritten_query", ""),
            model=str(usage.get("model", "")),
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            latency_ms=latency,
        )

    async def aclose(self) -> None:
        await self._client.aclose()
