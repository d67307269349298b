"""The peer for bench/peers.py: a naive LlamaIndex query engine over the same docs and model.

What a first prototype would write: ``SimpleDirectoryReader`` -> ``VectorStoreIndex``
(LlamaIndex's default ``SentenceSplitter``, 1024 tokens, and its in-memory vector store)
with the same MiniLM weights (``bench/_naive.py``), and a query engine whose LLM is the
same ``docent-fake`` model through ``litellm.completion`` (the plugin in
``tests/fakes/llm.py``, which bench/peers.py loads first). ``llama-index-llms-litellm``
is not installed, so ``LiteLLMModel`` is the few lines that integration would be.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import litellm
from llama_index.core import SimpleDirectoryReader, VectorStoreIndex
from llama_index.core.base.llms.types import CompletionResponse, CompletionResponseGen, LLMMetadata
from llama_index.core.llms import CustomLLM
from llama_index.core.llms.callbacks import llm_completion_callback
from llama_index.core.schema import NodeWithScore

from bench._naive import configure_llama_index, load_embedding

_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
_TITLE = re.compile(r"^title:\s*(.+?)\s*$", re.M)


class LiteLLMModel(CustomLLM):
    """A LlamaIndex LLM that calls ``litellm.completion`` (what llama-index-llms-litellm does)."""

    model: str
    context_window: int = 32_768

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name=self.model, context_window=self.context_window, num_output=512)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        response: Any = litellm.completion(model=self.model, messages=[{"role": "user", "content": prompt}])
        return CompletionResponse(text=response.choices[0].message.content or "")

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        def gen() -> Iterator[CompletionResponse]:
            text = ""
            for chunk in litellm.completion(model=self.model, messages=[{"role": "user", "content": prompt}],
                                            stream=True):
                delta = chunk.choices[0].delta.content or ""  # type: ignore[union-attr]
                text += delta
                yield CompletionResponse(text=text, delta=delta)
        return gen()


def build_index(docs: Path) -> VectorStoreIndex:
    """Read every doc under ``docs`` and index it with LlamaIndex's defaults."""
    configure_llama_index(load_embedding())
    documents = SimpleDirectoryReader(str(docs), recursive=True, required_exts=[".md", ".html", ".txt"]).load_data()
    return VectorStoreIndex.from_documents(documents)


def as_payload(hit: NodeWithScore, docs: Path) -> dict[str, Any]:
    """A naive node in Docent's payload terms, for the golden-set metrics.

    The splitter keeps no heading path, so the headings *inside* the chunk's text stand
    in for it (generous: a 1024-token chunk spans several sections), and the front-matter
    title of its file is the title, as on every Docent chunk.
    """
    path = Path(str(hit.node.metadata.get("file_path", "")))
    text = hit.node.get_content()
    try:
        title_match = _TITLE.search(path.read_text(errors="replace")[:2000])
    except OSError:
        title_match = None
    return {"doc_path": path.resolve().relative_to(docs.resolve()).as_posix(), "text": text,
            "heading_path": _HEADING.findall(text), "title": title_match.group(1).strip("'\"") if title_match else ""}
