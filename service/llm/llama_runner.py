"""One llama.cpp context, serialised by a lock, with cancellable streaming generation.

A ``llama_cpp.Llama`` holds a single KV cache and is not thread-safe, so every
generation takes the runner's lock. The context is never reset between calls:
llama-cpp-python keeps the evaluated tokens and re-evaluates only what differs from the
previous prompt. Callers should therefore keep the system prompt first and
byte-for-byte stable (no timestamps or request ids in it) so that consecutive RAG
prompts share that prefix and skip its prefill.

Warm prefixes: a runner evaluates the system prompts it is given (``warm``) once, when it
loads, and keeps a snapshot of the context after each (a few MB: the KV cells of ~200
tokens). A request whose system prompt has a snapshot, arriving when the context holds
something else (the follow-up rewrite prompt, the other answer mode's prompt), starts
from that snapshot instead of evaluating the system prompt again. llama-cpp-python's own
``LlamaRAMCache`` would keep several prefixes too, but every save copies the whole
logits buffer (n_batch x vocabulary floats, ~300 MB for Qwen2.5), which its capacity does
not count.
"""

from __future__ import annotations

import ctypes
import os
import threading
import time
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt


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


@dataclass(frozen=True)
class _Prefix:
    """The context right after a warm-up: its tokens and llama.cpp's serialised state."""

    tokens: npt.NDArray[np.intc]
    state: bytes
    system_tokens: int  # the system prompt's own tokens: a context sharing fewer lacks it


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

    def __init__(self, model_path: Path, *, n_ctx: int, n_threads: int | None, warm: Sequence[str] = ()) -> None:
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
        self._prefixes: dict[str, _Prefix] = {}
        self.restored = 0  # requests that started from a warm snapshot (bench/llm_speed.py reports it)
        self.warm_s = 0.0  # seconds spent evaluating the warm prefixes at load
        start = time.perf_counter()
        for system in dict.fromkeys(warm):
            self._warm(system)
        self.warm_s = time.perf_counter() - start

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` in this model's vocabulary (no BOS; special tokens read as text).

        Reads only the vocabulary, so it does not wait for a generation in progress.
        """
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _warm(self, system: str) -> None:
        """Evaluate ``system`` as a chat's system prompt and keep a snapshot of the context."""
        import llama_cpp

        with self._lock:
            for _ in self._llama.create_chat_completion(
                    messages=[{"role": "system", "content": system}, {"role": "user", "content": ""}],
                    max_tokens=1, temperature=0.0, stream=True):
                pass
            ctx = self._llama.ctx
            size = llama_cpp.llama_state_get_size(ctx)
            buffer = (ctypes.c_uint8 * size)()
            written = llama_cpp.llama_state_get_data(ctx, buffer, size)
            self._prefixes[system] = _Prefix(self._llama.input_ids[: self._llama.n_tokens].copy(),
                                             bytes(buffer)[:written], self.count_tokens(system))

    def _restore(self, messages: list[dict[str, Any]]) -> bool:
        """Start from the warm snapshot of this request's system prompt if the context lacks it
        (caller holds the lock). True when it restored."""
        first = messages[0] if messages else {}
        prefix = self._prefixes.get(str(first.get("content"))) if first.get("role") == "system" else None
        if prefix is None:
            return False
        import llama_cpp

        m = min(self._llama.n_tokens, len(prefix.tokens))
        differ = np.nonzero(self._llama.input_ids[:m] != prefix.tokens[:m])[0]
        shared = int(differ[0]) if differ.size else m
        if shared >= prefix.system_tokens:  # the context already starts with this system prompt
            return False
        buffer = (ctypes.c_uint8 * len(prefix.state)).from_buffer_copy(prefix.state)
        if llama_cpp.llama_state_set_data(self._llama.ctx, buffer, len(prefix.state)) != len(prefix.state):
            self._llama.n_tokens = 0  # a partial restore is no state at all: evaluate from scratch (as reset())
            return False
        self._llama.input_ids[: len(prefix.tokens)] = prefix.tokens
        self._llama.n_tokens = len(prefix.tokens)
        self._llama._requires_eval = True  # llama-cpp-python's own load_state sets it: decode before sampling
        self.restored += 1
        return True

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
            self._restore(messages)
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
