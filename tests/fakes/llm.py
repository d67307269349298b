"""``docent-fake``: a scripted model registered with LiteLLM exactly like a real provider.

A Docent plugin (``docent/plugins.py``), loaded the way a user's own provider would be:
``DOCENT_PLUGINS='["tests.fakes.llm"]'`` (tests/conftest.py sets it, and the benchmarks
pass it to the servers they start), and its :func:`register` adds the provider. Tests
and the overhead benchmarks then point ``DOCENT_MODEL`` at ``docent-fake/<script>``, so
requests travel the production Router path (retries, fallbacks, streaming wrapper) and
cost next to nothing. Production code never names it. Scripts:

- ``echo-cite``: quotes the first sentence of source [1] in the prompt, then ``[1]``.
- ``abstain``: returns exactly ``NOT_IN_DOCS``.
- ``fail``: raises ``litellm.ServiceUnavailableError`` like a provider's 503.
- ``slow``: waits ``DOCENT_FAKE_DELAY_S`` seconds (default 5), then answers like
  ``echo-cite``; like a real client it gives up with ``litellm.Timeout`` when the
  call's timeout is shorter.
- ``json``: valid JSON; the minimal instance of the schema when ``response_format``
  carries one, else ``{}``.
- ``reply``: the text set with :func:`set_script_reply` (or ``FakeLLM.set_reply``).
- ``echo-all``: repeats every source in the prompt, each with its marker: the leakiest
  possible model, for the leak suite (tests/security).
- ``echo-system``: recites the system prompt, for the prompt-leak guard.

Streaming emits one chunk per word so SSE tests see several deltas.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from litellm.exceptions import BadRequestError, ServiceUnavailableError, Timeout
from litellm.llms.custom_llm import CustomLLM
from litellm.types.utils import GenericStreamingChunk, ModelResponse

from service.llm.provider_util import call_deadline, fill_response, final_chunk, register_provider, text_chunk
from service.prompts import NOT_IN_DOCS
from tests.fakes.llm_scripts import (
    FALLBACK_SENTENCE,
    echo_all,
    echo_cite,
    echo_source,
    echo_system,
    minimal_json,
    pick_first,
    schema_of,
)

__all__ = ["NOT_IN_DOCS", "FakeLLM", "register", "register_fake_provider", "set_script_reply"]

PROVIDER = "docent-fake"
SCRIPTS = ("echo-cite", "abstain", "fail", "slow", "json", "reply", "echo-all", "echo-system", "pick-first",
           "echo-source")
DELAY_ENV = "DOCENT_FAKE_DELAY_S"


@dataclass(frozen=True)
class _Plan:
    """What a call will do: wait this long, then answer ``text`` (or time out first)."""

    text: str
    delay_s: float = 0.0
    times_out: bool = False


def _words(text: str) -> list[str]:
    # Split before each word that follows whitespace, so "".join(words) == text.
    return re.split(r"(?<=\s)(?=\S)", text) if text else [""]


def _count_words(messages: list[dict[str, Any]]) -> int:
    return sum(len(str(m.get("content") or "").split()) for m in messages)


class FakeLLM(CustomLLM):
    """LiteLLM handler for ``docent-fake/<script>``; remembers recent requests for tests."""

    def __init__(self) -> None:
        super().__init__()
        self._reply: str | None = None
        self.requests: deque[tuple[str, list[dict[str, Any]]]] = deque(maxlen=64)

    def set_reply(self, text: str | None) -> None:
        """Make the ``reply`` script answer exactly ``text`` (None restores the default)."""
        self._reply = text

    def _plan(self, script: str, messages: list[dict[str, Any]], kwargs: dict[str, Any]) -> _Plan:
        self.requests.append((script, messages))
        if script == "fail":
            raise ServiceUnavailableError(
                message="docent-fake: scripted failure", llm_provider=PROVIDER, model=script
            )
        if script == "slow":
            delay = float(os.environ.get(DELAY_ENV, "5"))
            deadline = call_deadline(kwargs)
            budget = deadline - time.monotonic() if deadline is not None else delay
            return _Plan(echo_cite(messages), delay_s=min(delay, budget), times_out=budget < delay)
        if script == "echo-cite":
            return _Plan(echo_cite(messages))
        if script == "echo-all":
            return _Plan(echo_all(messages))
        if script == "echo-source":
            return _Plan(echo_source(messages))
        if script == "pick-first":
            return _Plan(pick_first(messages))
        if script == "echo-system":
            return _Plan(echo_system(messages))
        if script == "abstain":
            return _Plan(NOT_IN_DOCS)
        if script == "json":
            schema = schema_of((kwargs.get("optional_params") or {}).get("response_format"))
            return _Plan(json.dumps(minimal_json(schema) if schema is not None else {}))
        if script == "reply":
            return _Plan(self._reply if self._reply is not None else FALLBACK_SENTENCE)
        raise BadRequestError(
            message=f"docent-fake: unknown script {script!r}; use one of {', '.join(SCRIPTS)}",
            model=script,
            llm_provider=PROVIDER,
        )

    @staticmethod
    def _timeout(script: str) -> Timeout:
        return Timeout(message="docent-fake: scripted delay exceeded the timeout",
                               model=script, llm_provider=PROVIDER)

    @staticmethod
    def _response(
        script: str, messages: list[dict[str, Any]], kwargs: dict[str, Any], text: str
    ) -> ModelResponse:
        return fill_response(kwargs["model_response"], model=f"{PROVIDER}/{script}", text=text,
                             finish_reason="stop", prompt_tokens=_count_words(messages),
                             completion_tokens=len(text.split()))

    # LiteLLM calls these with keyword arguments only (see litellm/llms/custom_llm.py).
    def completion(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> ModelResponse:
        plan = self._plan(model, messages, kwargs)
        time.sleep(plan.delay_s)
        if plan.times_out:
            raise self._timeout(model)
        return self._response(model, messages, kwargs, plan.text)

    async def acompletion(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> ModelResponse:
        plan = self._plan(model, messages, kwargs)
        if plan.delay_s:
            await asyncio.sleep(plan.delay_s)
        if plan.times_out:
            raise self._timeout(model)
        return self._response(model, messages, kwargs, plan.text)

    def streaming(
        self, model: str, messages: list[Any], *args: Any, **kwargs: Any
    ) -> Iterator[GenericStreamingChunk]:
        plan = self._plan(model, messages, kwargs)
        time.sleep(plan.delay_s)
        if plan.times_out:
            raise self._timeout(model)
        for word in _words(plan.text):
            yield text_chunk(word)
        yield final_chunk("stop", _count_words(messages), len(plan.text.split()))

    async def astreaming(  # type: ignore[override]  # an async generator, as LiteLLM calls it
        self, model: str, messages: list[Any], *args: Any, **kwargs: Any
    ) -> AsyncIterator[GenericStreamingChunk]:
        plan = self._plan(model, messages, kwargs)
        if plan.delay_s:
            await asyncio.sleep(plan.delay_s)
        if plan.times_out:
            raise self._timeout(model)
        for word in _words(plan.text):
            yield text_chunk(word)
        yield final_chunk("stop", _count_words(messages), len(plan.text.split()))


def register_fake_provider() -> FakeLLM:
    """Register ``docent-fake`` with LiteLLM (idempotent) and return its handler."""
    return register_provider(PROVIDER, FakeLLM, FakeLLM)


def register() -> None:
    """The plugin hook (``docent.plugins.load``): register the provider."""
    register_fake_provider()


def set_script_reply(text: str | None) -> None:
    """Make ``docent-fake/reply`` answer exactly ``text``; None restores the default."""
    register_fake_provider().set_reply(text)
