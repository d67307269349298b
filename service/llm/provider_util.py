"""Helpers for in-process LiteLLM providers: ``docent-local`` and those plugins add.

Providers are registered in ``litellm.custom_provider_map``, LiteLLM's own extension
point, so they travel the same Router path (retries, fallbacks, streaming wrapper) as
any hosted model. A plugin (``docent/plugins.py``) registers its handler with
:func:`register_provider` from its ``register()``; registration is additive, so
providers registered in any order all stay available.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Executor
from typing import Any, TypeVar

import httpx
import litellm
from litellm.llms.custom_llm import CustomLLM
from litellm.types.llms.openai import ChatCompletionUsageBlock
from litellm.types.utils import GenericStreamingChunk, ModelResponse, Usage

H = TypeVar("H", bound=CustomLLM)
T = TypeVar("T")


def find_provider(name: str) -> CustomLLM | None:
    """The handler registered under ``name``, if any."""
    for item in litellm.custom_provider_map:
        if item["provider"] == name:
            return item["custom_handler"]
    return None


def in_process(model: str) -> bool:
    """Whether ``model`` (``<provider>/<name>``) is served by a handler registered in this process."""
    provider, sep, _ = model.partition("/")
    return bool(sep) and find_provider(provider) is not None


def register_provider(name: str, make: Callable[[], H], kind: type[H]) -> H:
    """Register ``make()`` under ``name`` unless a handler of ``kind`` is already there.

    Idempotent so that the app, the CLI and every test can call it at start-up; an
    existing handler is kept because it may hold loaded models.
    """
    # Quiet LiteLLM's "Give Feedback / Get Help" banners: errors are logged by ChatModel.
    litellm.suppress_debug_info = True
    existing = find_provider(name)
    if isinstance(existing, kind):
        return existing
    handler = make()
    litellm.custom_provider_map = [
        item for item in litellm.custom_provider_map if item["provider"] != name
    ] + [{"provider": name, "custom_handler": handler}]
    return handler


def call_deadline(kwargs: dict[str, Any]) -> float | None:
    """``time.monotonic()`` deadline from the ``timeout`` LiteLLM hands a provider."""
    timeout = kwargs.get("timeout")
    if isinstance(timeout, httpx.Timeout):
        timeout = timeout.read
    return time.monotonic() + float(timeout) if timeout else None


def fill_response(
    model_response: ModelResponse,
    *,
    model: str,
    text: str,
    finish_reason: str,
    prompt_tokens: int,
    completion_tokens: int,
) -> ModelResponse:
    """Fill LiteLLM's pre-built response object the way its built-in providers do."""
    choice = model_response.choices[0]
    choice.message.content = text
    choice.finish_reason = finish_reason  # type: ignore[assignment]  # llama.cpp/fake reasons
    model_response.model = model
    usage = Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=prompt_tokens + completion_tokens,
    )
    setattr(model_response, "usage", usage)  # noqa: B010 - not a declared field on ModelResponse
    return model_response


def text_chunk(text: str) -> GenericStreamingChunk:
    """One streamed delta."""
    return {"text": text, "is_finished": False, "finish_reason": "", "usage": None, "index": 0,
            "tool_use": None}


def final_chunk(finish_reason: str, prompt_tokens: int, completion_tokens: int) -> GenericStreamingChunk:
    """The closing chunk: finish reason and usage, no text."""
    usage: ChatCompletionUsageBlock = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    return {"text": "", "is_finished": True, "finish_reason": finish_reason, "usage": usage,
            "index": 0, "tool_use": None}


_DONE = object()


async def iterate_in_thread(
    produce: Callable[[threading.Event], Iterator[T]], executor: Executor | None = None
) -> AsyncIterator[T]:
    """Run a blocking iterator in a worker thread and yield its items on the event loop.

    ``produce`` receives a ``threading.Event`` that is set when the consumer stops
    early (cancelled, timed out, closed); it must check it between items so an
    abandoned generation frees its llama.cpp context instead of running to the end.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[Any, BaseException | None]] = asyncio.Queue()
    cancel = threading.Event()

    def put(item: Any, error: BaseException | None = None) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, (item, error))
        except RuntimeError:  # loop closed: nobody is listening any more
            cancel.set()

    def work() -> None:
        try:
            for item in produce(cancel):
                put(item)
                if cancel.is_set():
                    break
        except BaseException as exc:  # noqa: BLE001 - re-raised on the loop side
            put(_DONE, exc)
        else:
            put(_DONE)

    loop.run_in_executor(executor, work)
    try:
        while True:
            item, error = await queue.get()
            if item is _DONE:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        # Do not await the worker: it notices ``cancel`` after its current token, and
        # the loop's executor shutdown joins it.
        cancel.set()
