"""``RouterChatModel``: the one generation path, through LiteLLM's Router.

Every model, hosted, local (``docent-local/...``) or from a provider plugin
(``docent/plugins.py``; the tests' scripted ``docent-fake/...`` is one), is a Router
deployment, so retries, fallbacks and usage work the same for all of them and tests
exercise the production wiring. ``llm.timeout_s`` bounds a whole call, retries and
fallbacks included, and, for streams, every wait for the next chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import litellm
from litellm.router import Router

from docent.errors import DocentError, ModelUnavailableError
from docent.settings import LLMSettings
from service.llm.chat_types import ChatMessage, Completion, ResponseFormat, StreamEnd, StreamEvent, TextDelta
from service.llm.llama_runner import LlamaRunner
from service.llm.local_provider import PROVIDER as LOCAL_PROVIDER
from service.llm.local_provider import LocalLLM, register_local_provider
from service.llm.provider_util import find_provider
from service.llm.router_factory import PRIMARY, build_router

log = logging.getLogger(__name__)


def _safe_error(exc: BaseException) -> DocentError:
    """A user-safe error for a failed call; provider details go to the log only."""
    # LiteLLM wraps provider errors several times over (and in cycles, for streams); a
    # Docent error anywhere inside, say a missing model file, already carries a safe,
    # actionable message, so surface it rather than a generic one.
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending:
        cause = pending.pop(0)
        if id(cause) in seen:
            continue
        seen.add(id(cause))
        if isinstance(cause, DocentError):
            return cause
        links = (getattr(cause, "original_exception", None), cause.__cause__, cause.__context__)
        pending.extend(link for link in links if isinstance(link, BaseException))
    log.warning("all models failed: %s: %s", type(exc).__name__, str(exc)[:500])
    return ModelUnavailableError("The language model is unavailable right now; please try again later.")


def _timed_out(timeout_s: float) -> ModelUnavailableError:
    log.warning("the model did not answer within %.1f s", timeout_s)
    return ModelUnavailableError(f"The language model did not answer within {timeout_s:g} seconds.")


def _answered_by(hidden: Mapping[str, Any] | None, fallback_model: str) -> tuple[str, bool]:
    """(model string, fallback used) from LiteLLM's ``_hidden_params``."""
    hidden = hidden or {}
    headers = hidden.get("additional_headers") or {}
    group = headers.get("x-litellm-model-group")
    used = group != PRIMARY if group else int(headers.get("x-litellm-attempted-fallbacks") or 0) > 0
    return str(hidden.get("litellm_model_name") or fallback_model), used


class RouterChatModel:
    """``ChatModel`` over a LiteLLM Router whose first group is ``primary``."""

    def __init__(self, router: Router, *, timeout_s: float, temperature: float, max_tokens: int,
                 model: str = "", seed: int | None = None) -> None:
        self._router = router
        self._seed = seed  # same prompt, same sample (see LLMSettings.seed)
        self._model = model  # the primary model string, for counting tokens
        self._timeout_s = timeout_s
        self._temperature = temperature
        self._max_tokens = max_tokens

    @classmethod
    def from_settings(cls, llm: LLMSettings, models_dir: Path) -> RouterChatModel:
        """Register the local provider and build the Router that ``llm`` describes.

        Providers from plugins are registered by ``docent.plugins.load`` at the composition
        root (``Runtime.build``, the eval judge) before this is called.
        """
        register_local_provider(llm, models_dir)
        return cls(build_router(llm), timeout_s=llm.timeout_s, temperature=llm.temperature,
                   max_tokens=llm.max_tokens, model=llm.model, seed=llm.seed)

    def _local_runner(self) -> LlamaRunner | None:
        """The runner of an in-process ``docent-local`` primary model (loading it if needed), else None."""
        provider, _, name = self._model.partition("/")
        handler = find_provider(LOCAL_PROVIDER) if provider == LOCAL_PROVIDER else None
        return handler.runner(name) if isinstance(handler, LocalLLM) else None

    def token_counter(self) -> Callable[[str], int]:
        """Counts tokens for the primary model: llama.cpp's own tokenizer for ``docent-local``
        (loading the model if needed), LiteLLM's count (the provider's tokenizer where it knows
        one, else an OpenAI one) for anything else. Prompt budgets are counted with it.

        Resolved once per prompt, not per text: finding the runner takes the load lock and
        checks the model file's checksum record, which a count per unit would repeat.
        """
        runner = self._local_runner()
        if runner is not None:
            return runner.count_tokens
        model = self._model or "gpt-4o-mini"
        return lambda text: int(litellm.token_counter(model=model, text=text))

    def warm(self) -> None:
        """Load an in-process ``docent-local`` model now (which also evaluates and keeps its system
        prompts), so the first question after a restart pays neither; other models need nothing."""
        self._local_runner()

    def _request(
        self,
        messages: Sequence[ChatMessage],
        response_format: ResponseFormat | None,
        max_tokens: int | None,
        temperature: float | None,
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": PRIMARY,
            "messages": [dict(m) for m in messages],
            "temperature": self._temperature if temperature is None else temperature,
            "max_tokens": max_tokens or self._max_tokens,
            # Hosted providers reject parameters they lack (seed, response_format) unless dropped.
            "drop_params": True,
        }
        if response_format is not None:
            request["response_format"] = dict(response_format)
        if self._seed is not None:
            request["seed"] = self._seed
        return request

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        response_format: ResponseFormat | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> Completion:
        """The whole answer; raises ModelUnavailableError if no model answers in time."""
        request = self._request(messages, response_format, max_tokens, temperature)
        try:
            response = await asyncio.wait_for(self._router.acompletion(**request), self._timeout_s)
        except TimeoutError:
            raise _timed_out(self._timeout_s) from None
        except Exception as exc:  # any provider failure, after retries and fallbacks
            raise _safe_error(exc) from exc
        model, fallback_used = _answered_by(getattr(response, "_hidden_params", None), response.model or "")
        choice = response.choices[0]
        usage = getattr(response, "usage", None)
        return Completion(
            text=choice.message.content or "",
            model=model,
            prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
            fallback_used=fallback_used,
            finish_reason=choice.finish_reason or "stop",
        )

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        response_format: ResponseFormat | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Text deltas, then one ``StreamEnd``; raises ModelUnavailableError on failure."""
        request = self._request(messages, response_format, max_tokens, temperature)
        request.update(stream=True, stream_options={"include_usage": True})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout_s
        prompt_tokens = completion_tokens = 0
        finish_reason = "stop"
        hidden: Mapping[str, Any] | None = None
        model = ""
        stream: Any = None
        try:
            try:
                stream = await asyncio.wait_for(self._router.acompletion(**request), self._timeout_s)
                chunks = stream.__aiter__()
                while True:
                    # The deadline covers every gap between chunks: a model that stalls
                    # mid-answer cannot hold the request open forever.
                    try:
                        chunk = await asyncio.wait_for(chunks.__anext__(), deadline - loop.time())
                    except StopAsyncIteration:
                        break
                    model = chunk.model or model
                    hidden = getattr(chunk, "_hidden_params", None) or hidden
                    usage = getattr(chunk, "usage", None)
                    if usage is not None:
                        prompt_tokens = usage.prompt_tokens or 0
                        completion_tokens = usage.completion_tokens or 0
                    for choice in chunk.choices:
                        if choice.finish_reason:
                            finish_reason = choice.finish_reason
                        if choice.delta.content:
                            yield TextDelta(choice.delta.content)
            except TimeoutError:
                raise _timed_out(self._timeout_s) from None
            except Exception as exc:  # any provider failure, after retries and fallbacks
                raise _safe_error(exc) from exc
        finally:
            if stream is not None and hasattr(stream, "aclose"):
                # Closing must neither hang nor replace the error being raised.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(stream.aclose(), 1.0)
        # The wrapper's own hidden params name the group that finally answered.
        answered, fallback_used = _answered_by(getattr(stream, "_hidden_params", None) or hidden, model)
        yield StreamEnd(
            model=answered,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            fallback_used=fallback_used,
            finish_reason=finish_reason,
        )

    def complete_sync(
        self,
        messages: Sequence[ChatMessage],
        *,
        response_format: ResponseFormat | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> Completion:
        """``complete`` for synchronous callers (CLI, eval); not for use inside an event loop."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.complete(messages, response_format=response_format,
                                             max_tokens=max_tokens, temperature=temperature))
        raise RuntimeError("complete_sync() was called inside an event loop; await complete() instead")
