"""The judge Ragas scores with: any LiteLLM model string, plus Docent's local embedder.

Ragas' structured-output LLM (``LiteLLMStructuredLLM``) gets an instructor client over a
LiteLLM Router built like the answering model's (so ``docent-local/...``, hosted models
and providers from plugins all work, with retries and a timeout). Instructor
sends ``response_format`` ``json_schema`` (or ``json_object`` in JSON mode), which the
local provider turns into a llama.cpp grammar, so even a small model returns parseable
JSON. Embeddings are the same MiniLM model retrieval uses, wrapped as a Ragas
embedding: nothing falls back to OpenAI, because both are always passed explicitly.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragas.embeddings.base import BaseRagasEmbedding
from ragas.llms.base import InstructorBaseRagasLLM

from docent.embedder import Embedder
from docent.settings import LLMSettings, Settings
from eval.settings import EvalSettings


@dataclass
class JudgeUsage:
    """Judge calls and tokens, summed over a run (thread-safe)."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, response: Any) -> None:
        usage = getattr(response, "usage", None)
        with self._lock:
            self.calls += 1
            self.prompt_tokens += int(getattr(usage, "prompt_tokens", 0) or 0)
            self.completion_tokens += int(getattr(usage, "completion_tokens", 0) or 0)

    def to_json(self) -> dict[str, int]:
        return {
            "calls": self.calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }


class DocentEmbeddings(BaseRagasEmbedding):
    """Docent's sentence-transformers embedder as a Ragas embedding (offline, already loaded)."""

    def __init__(self, embedder: Embedder) -> None:
        super().__init__()
        self.embedder = embedder

    def embed_text(self, text: str, **kwargs: Any) -> list[float]:
        return self.embedder.embed_query(text)

    async def aembed_text(self, text: str, **kwargs: Any) -> list[float]:
        return await asyncio.to_thread(self.embedder.embed_query, text)

    def embed_texts(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
        return [[float(x) for x in row] for row in self.embedder.embed_documents(list(texts))]

    async def aembed_texts(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
        return await asyncio.to_thread(self.embed_texts, texts)


@dataclass
class Judge:
    """What the scorers need: a Ragas LLM, Ragas embeddings, and who the judge is."""

    llm: InstructorBaseRagasLLM
    embeddings: BaseRagasEmbedding | None  # None: only metrics without embeddings can run
    model: str
    usage: JudgeUsage


def _counting(call: Callable[..., Awaitable[Any]], usage: JudgeUsage) -> Callable[..., Awaitable[Any]]:
    async def acompletion(**kwargs: Any) -> Any:
        response = await call(**kwargs)
        usage.add(response)
        return response

    return acompletion


def build_judge(
    llm: LLMSettings,
    models_dir: Path,
    embedder: Embedder | None,
    *,
    json_mode: str = "json_schema",
    plugins: Sequence[str] = (),
) -> Judge:
    """A judge for ``llm.model``; loads ``plugins`` (``settings.plugins``) and registers the local provider first."""
    import instructor
    from ragas.llms import LiteLLMStructuredLLM

    from docent import plugins as docent_plugins
    from service.llm.local_provider import register_local_provider
    from service.llm.router_factory import PRIMARY, build_router

    docent_plugins.load(plugins)
    register_local_provider(llm, models_dir)
    router = build_router(llm)
    usage = JudgeUsage()
    mode = instructor.Mode.JSON_SCHEMA if json_mode == "json_schema" else instructor.Mode.JSON
    client = instructor.from_litellm(_counting(router.acompletion, usage), mode=mode)
    ragas_llm = LiteLLMStructuredLLM(
        client=client,
        model=PRIMARY,
        provider="litellm",
        temperature=llm.temperature,
        max_tokens=llm.max_tokens,
        max_retries=max(1, llm.retries + 1),
        drop_params=True,
    )
    return Judge(ragas_llm, DocentEmbeddings(embedder) if embedder is not None else None, llm.model, usage)


def judge_for(settings: Settings, eval_settings: EvalSettings, embedder: Embedder | None) -> Judge:
    """The configured judge (``DOCENT_EVAL_JUDGE_MODEL``, else the answering model) for ``settings``."""
    return build_judge(eval_settings.judge_llm(settings.resolved_llm()), settings.models_dir, embedder,
                       json_mode=eval_settings.judge_json_mode, plugins=settings.plugins)
