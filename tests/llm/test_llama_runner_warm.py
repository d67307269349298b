"""The llama.cpp runner's warm prefixes and token count, with the real SmolLM2-135M GGUF."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from service.llm.llama_runner import GenerationStats, LlamaRunner
from service.llm.model_files import resolve_local_model

pytestmark = pytest.mark.slow

SYSTEM = "You are a concise assistant. Answer in one short sentence."
ASK: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Name a colour."}]
OPTIONS = {"temperature": 0.0, "max_tokens": 8, "seed": 1}


@pytest.fixture
def runner(tmp_path: Path) -> Any:
    """SmolLM2 with SYSTEM warmed at load."""
    made = LlamaRunner(resolve_local_model("smollm2-135m", tmp_path), n_ctx=1024, n_threads=None, warm=[SYSTEM])
    yield made
    made.close()


def _ask(runner: LlamaRunner, messages: list[dict[str, Any]]) -> tuple[str, GenerationStats]:
    stats = GenerationStats()
    return "".join(runner.stream(messages, OPTIONS, stats)), stats


def test_runner_warm_prefix_is_restored_after_another_prompt(runner: LlamaRunner) -> None:
    """A prompt without the system prompt evicts it; the next request starts from the warm snapshot,
    and answers exactly as it did from a context that held the prefix."""
    first, _ = _ask(runner, ASK)
    assert runner.restored == 0, "the warm-up left the system prompt in the context"
    _ask(runner, [{"role": "user", "content": "Say hello."}])
    again, _ = _ask(runner, ASK)
    assert runner.restored == 1
    assert again == first
    _ask(runner, ASK)
    assert runner.restored == 1, "a context that already starts with the prefix is not restored"


def test_runner_count_tokens_uses_the_model_vocabulary(runner: LlamaRunner) -> None:
    """count_tokens counts the model's own tokens: the prompt the model evaluates holds at least those."""
    _, stats = _ask(runner, ASK)
    content = runner.count_tokens(SYSTEM) + runner.count_tokens("Name a colour.")
    assert 0 < content < stats.prompt_tokens <= content + 16  # the chat template's markers on top
    assert runner.count_tokens("") == 0


def test_local_provider_warms_docents_system_prompts(tmp_path: Path) -> None:
    """The docent-local provider hands every runner it loads Docent's answer system prompts, the
    small-model default (extractive) last, so it is the one left in the context."""
    from docent.settings import LLMSettings
    from service import prompts
    from service.llm.local_provider import register_local_provider

    handler = register_local_provider(LLMSettings(model="docent-local/smollm2-135m"), tmp_path)
    assert handler.config.warm == (prompts.render("answer_system"), prompts.render("extract_system"))
