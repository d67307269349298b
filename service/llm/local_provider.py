"""``docent-local``: packaged GGUF models run in-process by llama.cpp, as a LiteLLM provider.

Model strings are ``docent-local/<name>`` where ``<name>`` is a packaged model
(``qwen2.5-coder-1.5b``, ``smollm2-135m``) or an absolute path to any GGUF
(``docent-local//models/my.gguf``). Each model is loaded on first use and kept; one
lock per llama.cpp context serialises requests, and the async entry points run
generation in a worker thread so the event loop never blocks.

``response_format`` is honoured: ``{"type": "json_object"}`` constrains output to
JSON with llama.cpp's grammar, and ``{"type": "json_schema", "json_schema":
{"schema": ...}}`` (or llama.cpp's own ``{"type": "json_object", "schema": ...}``) to
that schema. ``temperature``, ``max_tokens``, ``stop``, ``top_p`` and ``seed`` pass
through.

Prompt cache: the context is never reset between calls, so a request whose prompt
starts with the previous one's tokens re-uses them. Keep the system prompt first and
stable to benefit (see ``llama_runner``). When a model loads, Docent's answer system
prompts are evaluated once and kept as snapshots (``warm``), so the first question after
a restart, and a question after a follow-up's rewrite prompt, skip that prefill.

Out of process instead: llama.cpp's OpenAI-compatible server serves the same file
to several workers or another machine. It needs extra packages
(``pip install 'llama-cpp-python[server]'``)::

    python -m llama_cpp.server --model data/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf \\
        --model_alias qwen --n_ctx 4096 --host 127.0.0.1 --port 8001
    export DOCENT_MODEL=openai/qwen
    export DOCENT_LLM__API_BASE=http://127.0.0.1:8001/v1
    export OPENAI_API_KEY=unused   # the client insists on a key; the server ignores it
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litellm.exceptions import ContextWindowExceededError, Timeout
from litellm.llms.custom_llm import CustomLLM
from litellm.types.utils import GenericStreamingChunk, ModelResponse

from docent.settings import LLMSettings
from service import prompts
from service.llm.llama_runner import (
    GenerationCancelled,
    GenerationStats,
    GenerationTimeout,
    LlamaRunner,
    llama_options,
)
from service.llm.model_files import resolve_local_model
from service.llm.provider_util import (
    call_deadline,
    fill_response,
    final_chunk,
    iterate_in_thread,
    register_provider,
    text_chunk,
)

PROVIDER = "docent-local"


@dataclass(frozen=True)
class LocalConfig:
    """Where packaged models live and how to size a llama.cpp context."""

    models_dir: Path
    n_ctx: int = 4096
    n_threads: int | None = None
    # System prompts evaluated when a model loads (the last stays in the context).
    warm: tuple[str, ...] = ()


def system_prompts() -> tuple[str, ...]:
    """Docent's answer system prompts, the extractive one last (the small-model default)."""
    return prompts.render("answer_system"), prompts.render("extract_system")


class LocalLLM(CustomLLM):
    """LiteLLM handler for ``docent-local/<model>``; one cached runner per GGUF file."""

    def __init__(self, config: LocalConfig) -> None:
        super().__init__()
        self.config = config
        self._runners: dict[tuple[Path, int, int | None], LlamaRunner] = {}
        self._load_lock = threading.Lock()
        # Requests queued behind a busy context wait in these threads; a pool of our own
        # keeps them from starving the event loop's default executor.
        self._executor = ThreadPoolExecutor(max_workers=32, thread_name_prefix="docent-llama")

    def runner(self, model: str) -> LlamaRunner:
        """The loaded runner for ``model``, loading it on first use."""
        config = self.config
        # One loader at a time: two requests racing on a cold start must not load 1 GB twice,
        # nor both check (and write) the model file's checksum record at once.
        with self._load_lock:
            path = resolve_local_model(model, config.models_dir)
            key = (path, config.n_ctx, config.n_threads)
            runner = self._runners.get(key)
            if runner is None:
                if not self._runners:
                    atexit.register(self.close)
                runner = LlamaRunner(path, n_ctx=config.n_ctx, n_threads=config.n_threads, warm=config.warm)
                self._runners[key] = runner
        return runner

    def close(self) -> None:
        """Unload every model (called at exit; a later request loads them again)."""
        with self._load_lock:
            runners, self._runners = list(self._runners.values()), {}
        for runner in runners:
            runner.close()

    def _generate(
        self,
        model: str,
        messages: list[dict[str, Any]],
        kwargs: dict[str, Any],
        stats: GenerationStats,
        cancel: threading.Event | None,
    ) -> Iterator[str]:
        options = llama_options(kwargs.get("optional_params") or {})
        deadline = call_deadline(kwargs)
        try:
            yield from self.runner(model).stream(messages, options, stats, cancel=cancel, deadline=deadline)
        except GenerationCancelled:
            return
        except GenerationTimeout as exc:
            raise Timeout(message=str(exc), model=model, llm_provider=PROVIDER) from exc
        except ValueError as exc:
            if "context window" in str(exc):
                raise ContextWindowExceededError(
                    message=str(exc), model=model, llm_provider=PROVIDER
                ) from exc
            raise

    def _response(
        self, model: str, kwargs: dict[str, Any], text: str, stats: GenerationStats
    ) -> ModelResponse:
        return fill_response(
            kwargs["model_response"],
            model=f"{PROVIDER}/{model}",
            text=text,
            finish_reason=stats.finish_reason,
            prompt_tokens=stats.prompt_tokens,
            completion_tokens=stats.completion_tokens,
        )

    # LiteLLM calls these with keyword arguments only (see litellm/llms/custom_llm.py);
    # **kwargs keeps the long provider signature out of the way.
    def completion(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> ModelResponse:
        stats = GenerationStats()
        text = "".join(self._generate(model, messages, kwargs, stats, None))
        return self._response(model, kwargs, text, stats)

    async def acompletion(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> ModelResponse:
        stats = GenerationStats()
        parts = [
            delta
            async for delta in iterate_in_thread(
                lambda cancel: self._generate(model, messages, kwargs, stats, cancel), self._executor
            )
        ]
        return self._response(model, kwargs, "".join(parts), stats)

    def streaming(
        self, model: str, messages: list[Any], *args: Any, **kwargs: Any
    ) -> Iterator[GenericStreamingChunk]:
        stats = GenerationStats()
        for delta in self._generate(model, messages, kwargs, stats, None):
            yield text_chunk(delta)
        yield final_chunk(stats.finish_reason, stats.prompt_tokens, stats.completion_tokens)

    async def astreaming(  # type: ignore[override]  # an async generator, as LiteLLM calls it
        self, model: str, messages: list[Any], *args: Any, **kwargs: Any
    ) -> AsyncIterator[GenericStreamingChunk]:
        stats = GenerationStats()
        async for delta in iterate_in_thread(
            lambda cancel: self._generate(model, messages, kwargs, stats, cancel), self._executor
        ):
            yield text_chunk(delta)
        yield final_chunk(stats.finish_reason, stats.prompt_tokens, stats.completion_tokens)


def register_local_provider(llm: LLMSettings, models_dir: Path) -> LocalLLM:
    """Register ``docent-local`` with LiteLLM (idempotent) and (re)configure it.

    Safe to call from every entry point: a second call keeps the handler and its loaded
    models, and only updates the models dir and context sizing for later loads.
    """
    config = LocalConfig(models_dir=models_dir, n_ctx=llm.n_ctx, n_threads=llm.n_threads, warm=system_prompts())
    handler = register_provider(PROVIDER, lambda: LocalLLM(config), LocalLLM)
    handler.config = config
    return handler
