"""One llama.cpp context, serialised by a lock, with cancellable streaming generation.

A ``llama_cpp.Llama`` holds a single KV cache and is not thread-safe, so every
generation takes the runner's lock. The context is never reset between calls:
llama-cpp-python keeps the evaluated tokens and re-evaluates only what differs from the
previous prompt. Callers should therefore keep the system prompt first and
byte-for-byte stable (no timestamps or request ids in it) so that consecutive RAG
prompts share that prefix and skip its prefill.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast


class GenerationTimeout(Exception):
    """The per-call deadline passed before generation finished."""


class GenerationCancelled(Exception):
    """The caller went away before the context lock became free."""


@dataclass
class GenerationStats:
    """Filled in while a generation streams; complete once the iterator is exhausted."""

    finish_reason: str = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0


def available_cpus() -> int:
    """CPUs this process may run on (respects container CPU sets, unlike cpu_count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _response_format(fmt: Mapping[str, Any]) -> dict[str, Any] | None:
    # llama-cpp-python spells a schema-constrained reply {"type": "json_object",
    # "schema": ...}; OpenAI (and instructor's JSON_SCHEMA mode) use "json_schema".
    kind = fmt.get("type")
    if kind == "json_object":
        schema = fmt.get("schema")
        return {"type": "json_object", "schema": schema} if schema else {"type": "json_object"}
    if kind == "json_schema":
        spec = fmt.get("json_schema") or {}
        schema = spec.get("schema") if isinstance(spec, Mapping) else None
        return {"type": "json_object", "schema": schema} if schema else {"type": "json_object"}
    return None  # "text" or unknown: unconstrained


def llama_options(params: Mapping[str, Any]) -> dict[str, Any]:
    """Translate OpenAI-style request parameters into ``create_chat_completion`` kwargs."""
    options: dict[str, Any] = {}
    for key in ("temperature", "top_p", "seed", "stop"):
        if params.get(key) is not None:
            options[key] = params[key]
    max_tokens = params.get("max_tokens") or params.get("max_completion_tokens")
    if max_tokens is not None:
        options["max_tokens"] = int(max_tokens)
    fmt = params.get("response_format")
    if isinstance(fmt, Mapping):
        translated = _response_format(fmt)
        if translated is not None:
            options["response_format"] = translated
    return options


class LlamaRunner:
    """A loaded GGUF model and the lock that guards its context."""

    def __init__(self, model_path: Path, *, n_ctx: int, n_threads: int | None) -> None:
        from llama_cpp import Llama  # heavy native import, only when a model is used

        threads = n_threads or available_cpus()
        self.model_path = model_path
        self._lock = threading.Lock()
        self._llama = Llama(
            model_path=str(model_path),
            n_ctx=n_ctx,
            n_threads=threads,
            n_threads_batch=threads,
            verbose=False,
        )

    def close(self) -> None:
        """Free the native model and context (llama.cpp's __del__ fails at interpreter exit)."""
        with self._lock:
            self._llama.close()

    def _acquire(self, cancel: threading.Event | None, deadline: float | None) -> None:
        # Poll so that a request queued behind a long generation can still time out or
        # be abandoned instead of waiting forever.
        while not self._lock.acquire(timeout=0.05):
            if cancel is not None and cancel.is_set():
                raise GenerationCancelled
            if deadline is not None and time.monotonic() > deadline:
                raise GenerationTimeout("timed out waiting for the model")

    def stream(
        self,
        messages: list[dict[str, Any]],
        options: Mapping[str, Any],
        stats: GenerationStats,
        *,
        cancel: threading.Event | None = None,
        deadline: float | None = None,
    ) -> Iterator[str]:
        """Yield text deltas; stop early when ``cancel`` is set, raise past ``deadline``.

        Always streams internally, even for a non-streaming request, so that an
        abandoned or overdue call stops after its current token and frees the context.
        """
        self._acquire(cancel, deadline)
        try:
            # llama-cpp-python's TypedDict unions do not narrow on stream=True.
            chunks = cast(
                Generator[dict[str, Any], None, None],
                self._llama.create_chat_completion(messages=cast(Any, messages), stream=True, **options),
            )
            try:
                first = True
                for chunk in chunks:
                    if first:
                        # The first chunk arrives right after the prompt is evaluated and
                        # one token sampled, so the context holds exactly the prompt.
                        stats.prompt_tokens = self._llama.n_tokens
                        first = False
                    choice = chunk["choices"][0]
                    if choice.get("finish_reason"):
                        stats.finish_reason = choice["finish_reason"]
                    delta = choice["delta"].get("content")
                    if delta:
                        stats.completion_tokens += 1
                        yield delta
                    if cancel is not None and cancel.is_set():
                        return
                    if deadline is not None and time.monotonic() > deadline:
                        raise GenerationTimeout("generation exceeded its deadline")
            finally:
                chunks.close()
        finally:
            self._lock.release()
