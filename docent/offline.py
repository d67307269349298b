"""Make every library behave offline before it is imported.

Entry points call :func:`ensure_offline` first thing: Hugging Face, LiteLLM, Ragas and
tiktoken all try the network on import or first use unless told otherwise.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path


def _tiktoken_cache() -> str | None:
    # llama-index-core ships cl100k_base and o200k_base; find them without importing it.
    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "_static" / "tiktoken_cache"
    return str(path) if path.is_dir() else None


def ensure_offline() -> None:
    """Set the variables that keep HF, LiteLLM, Ragas and tiktoken off the network."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    # Spinning OpenMP threads cost llama.cpp 4x on a busy 2-core machine.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if "TIKTOKEN_CACHE_DIR" not in os.environ:
        cache = _tiktoken_cache()
        if cache:
            os.environ["TIKTOKEN_CACHE_DIR"] = cache
