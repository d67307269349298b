"""The pluggable rerank step. Off by default: no cross-encoder ships its weights on
PyPI, and a MiniLM-sized one would cost ~0.45 s per 20 passages here. The LLM reranker
asks the answering model (JSON mode) to order the retrieved passages; it only pays off
with a fast hosted model, so turn it on with ``DOCENT_CHAT__RERANK=llm`` and measure.
"""

from __future__ import annotations

import json
import logging

from docent.errors import DocentError
from docent.schema import Hit
from service import prompts
from service.llm.chat_types import ChatModel

log = logging.getLogger(__name__)


class LLMReranker:
    """Reorders hits by the model's judgement; any failure keeps retrieval's order."""

    def __init__(self, model: ChatModel, *, max_chars: int = 500) -> None:
        self.model = model
        self.max_chars = max_chars

    async def rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        passages = "\n\n".join(f"[{i}] {h.text[:self.max_chars]}" for i, h in enumerate(hits, start=1))
        try:
            done = await self.model.complete(
                [{"role": "user", "content": prompts.render("rerank", question=query, passages=passages)}],
                response_format={"type": "json_object"}, max_tokens=60, temperature=0.0)
            order = [int(n) for n in json.loads(done.text).get("relevant", []) if 1 <= int(n) <= len(hits)]
        except (DocentError, ValueError, TypeError, AttributeError) as exc:
            log.warning("rerank skipped: %s", type(exc).__name__)
            return hits
        chosen = list(dict.fromkeys(order))
        # Passages the model left out keep their retrieval order after the chosen ones.
        return [hits[i - 1] for i in chosen] + [h for i, h in enumerate(hits, start=1) if i not in chosen]
