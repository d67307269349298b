"""The embedder variants under test, and how faithfully each reproduces fp32 torch.

``torch`` and ``onnx`` are Docent's own ``SentenceTransformerEmbedder``. Docent only
enables int8 on CPUs with AVX512-VNNI, so ``onnx-int8-avx2`` is built here: the same
dynamic quantization with sentence-transformers' ``avx2`` config, loaded from the ONNX
folder Docent exported, behind the same ``Embedder`` interface.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from docent.embedder import Embedder, build_embedder, quantization_arch
from docent.settings import EmbedderSettings, Settings

# "onnx-int8" is Docent's own int8 path, which it only enables on AVX512-VNNI CPUs.
BACKENDS = ("torch", "onnx", "onnx-int8", "onnx-int8-avx2")
# The avx2 preset quantizes weights to unsigned int8, hence "quint8" (avx512_vnni gives "qint8").
INT8_AVX2_FILE = "onnx/model_quint8_avx2.onnx"


class Int8OnnxEmbedder:
    """Dynamic-int8 ONNX (avx2 kernels) with the same encode call as Docent's embedder."""

    def __init__(self, onnx_folder: Path, name: str, batch_size: int) -> None:
        from sentence_transformers import SentenceTransformer, export_dynamic_quantized_onnx_model

        if not (onnx_folder / INT8_AVX2_FILE).exists():
            fp32 = SentenceTransformer(str(onnx_folder), device="cpu", backend="onnx", local_files_only=True,
                                       model_kwargs={"file_name": "onnx/model.onnx"})
            export_dynamic_quantized_onnx_model(fp32, "avx2", str(onnx_folder))
        # Loading a file_name that does not exist would make sentence-transformers re-export.
        self._model = SentenceTransformer(str(onnx_folder), device="cpu", backend="onnx",
                                          local_files_only=True, model_kwargs={"file_name": INT8_AVX2_FILE})
        self.name = name
        self.dim = int(self._model.get_sentence_embedding_dimension() or 0)
        self.batch_size = batch_size
        self._lock = threading.Lock()

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                         convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> list[float]:
        return [float(x) for x in self.embed_documents([text])[0]]


class RecordingEmbedder:
    """Passes calls through and keeps the last vector seen for each text (for agreement checks)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.seen: dict[str, np.ndarray] = {}

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        vectors = self.inner.embed_documents(texts)
        self.seen.update(zip(texts, vectors, strict=True))
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)

    def vectors_for(self, texts: list[str]) -> np.ndarray:
        """Recorded vectors in ``texts`` order; texts never embedded are embedded now."""
        missing = [t for t in dict.fromkeys(texts) if t not in self.seen]
        if missing:
            self.embed_documents(missing)
        return np.stack([self.seen[t] for t in texts])


def default_backend() -> str:
    """What Docent's ``backend="auto"`` resolves to on this CPU (mirrors SentenceTransformerEmbedder)."""
    return "onnx-int8" if quantization_arch() else "onnx"


def build_variant(backend: str, settings: Settings) -> Embedder:
    """One embedder per benchmark backend name; ONNX exports are cached under the data dir."""
    if backend in ("torch", "onnx", "onnx-int8"):
        chosen = EmbedderSettings.model_validate({**settings.embedder.model_dump(), "backend": backend})
        return build_embedder(settings.model_copy(update={"embedder": chosen}))
    if backend == "onnx-int8-avx2":
        fp32 = build_variant("onnx", settings)  # exports the fp32 ONNX folder on first use
        folder = next(settings.models_dir.glob("*-onnx"))
        return Int8OnnxEmbedder(folder, fp32.name, settings.embedder.batch_size)
    raise SystemExit(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")


def warm_up(embedder: Embedder, texts: list[str]) -> None:
    """First calls allocate buffers and pick kernels; keep them out of the timings."""
    embedder.embed_documents(texts[:32])
    embedder.embed_query(texts[0])


@dataclass(frozen=True, slots=True)
class Agreement:
    """How close a variant's vectors are to fp32 torch on the same texts."""

    mean_cosine: float
    min_cosine: float
    top10_overlap: float  # mean |top10(variant) ∩ top10(torch)| / 10 over the queries


def agreement(reference: tuple[np.ndarray, np.ndarray], variant: tuple[np.ndarray, np.ndarray]) -> Agreement:
    """Compare (chunk vectors, query vectors) pairs; rows are aligned texts, all unit length."""
    ref_docs, ref_queries = reference
    var_docs, var_queries = variant
    cosines = np.concatenate([np.sum(ref_docs * var_docs, axis=1), np.sum(ref_queries * var_queries, axis=1)])
    k = min(10, len(ref_docs))
    ref_top = np.argsort(-(ref_queries @ ref_docs.T), axis=1)[:, :k]
    var_top = np.argsort(-(var_queries @ var_docs.T), axis=1)[:, :k]
    overlap = [len(set(a) & set(b)) / k for a, b in zip(ref_top.tolist(), var_top.tolist(), strict=True)]
    return Agreement(float(cosines.mean()), float(cosines.min()), float(np.mean(overlap)))
