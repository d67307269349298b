"""The LLM rerank step orders passages by the model's JSON answer and never breaks retrieval."""

from __future__ import annotations

import asyncio
from pathlib import Path

from docent.schema import Hit
from docent.settings import LLMSettings
from service.llm.chat_model import RouterChatModel
from service.rerank import LLMReranker
from tests.fakes.llm import set_script_reply

HITS = [Hit(f"id{i}", 1.0 / i, {"text": f"passage {i}"}) for i in range(1, 5)]


def _reranker(tmp_path: Path) -> LLMReranker:
    return LLMReranker(RouterChatModel.from_settings(LLMSettings(model="docent-fake/reply", retries=0), tmp_path))


def test_rerank_follows_model_order_then_retrieval_order(tmp_path: Path) -> None:
    """Chosen passages come first in the model's order; the rest keep their order."""
    set_script_reply('{"relevant": [3, 1, 3, 9]}')
    try:
        out = asyncio.run(_reranker(tmp_path).rerank("q", HITS))
    finally:
        set_script_reply(None)
    assert [h.chunk_id for h in out] == ["id3", "id1", "id2", "id4"]


def test_rerank_bad_json_keeps_retrieval_order(tmp_path: Path) -> None:
    """Unparseable output leaves the ranking untouched."""
    set_script_reply("passage three looks best")
    try:
        out = asyncio.run(_reranker(tmp_path).rerank("q", HITS))
    finally:
        set_script_reply(None)
    assert out == HITS
