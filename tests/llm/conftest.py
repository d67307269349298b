"""Fixtures for the generation layer: ChatModels over the real Router, scripted or local."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from docent.offline import ensure_offline

ensure_offline()  # before anything imports litellm

from docent.settings import LLMSettings  # noqa: E402
from service.llm.chat_model import RouterChatModel  # noqa: E402
from service.llm.chat_types import ChatMessage  # noqa: E402
from tests.fakes.llm import FakeLLM, register_fake_provider  # noqa: E402

MakeModel = Callable[..., RouterChatModel]

_SOURCES_PROMPT: list[ChatMessage] = [
    {"role": "system", "content": "Answer only from the sources and cite them as [1], [2]."},
    {
        "role": "user",
        "content": (
            "Sources:\n[1] Installing Docent (docs/install.md)\n"
            "Docent needs Python 3.11. Run make install to set it up.\n"
            "[2] Widget (docs/widget.md)\nEmbed the widget with one script tag.\n\n"
            "Question: Which Python version does Docent need?"
        ),
    },
]


@pytest.fixture
def rag_messages() -> list[ChatMessage]:
    """A small RAG-shaped prompt: instructions, two numbered sources, a question."""
    return [dict(m) for m in _SOURCES_PROMPT]  # type: ignore[misc]


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    """The registered docent-fake handler, with its scripted reply reset afterwards."""
    handler = register_fake_provider()
    yield handler
    handler.set_reply(None)


@pytest.fixture
def make_model(tmp_path: Path, fake_llm: FakeLLM) -> MakeModel:
    """Build a RouterChatModel from LLM settings; no retries unless asked, models under tmp_path."""

    def make(model: str, fallbacks: Sequence[str] = (), **overrides: Any) -> RouterChatModel:
        overrides.setdefault("retries", 0)
        llm = LLMSettings(model=model, fallbacks=list(fallbacks), **overrides)
        return RouterChatModel.from_settings(llm, tmp_path / "models")

    return make
