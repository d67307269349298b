"""Build the LiteLLM Router behind ``ChatModel``: a ``primary`` group plus fallbacks.

From settings, ``llm.model`` becomes the deployment group ``primary`` (with
``llm.api_base`` when set) and each of ``llm.fallbacks`` becomes ``fallback-1``,
``fallback-2``... tried in order when the primary fails after ``llm.retries`` retries.

For anything those fields cannot say (several deployments per group, per-model keys,
rate limits), point ``DOCENT_LLM__ROUTER_CONFIG`` at a YAML file in LiteLLM's own
Router format. The group ``primary`` is required because it is what Docent calls::

    model_list:                      # litellm.Router(model_list=...)
      - model_name: primary
        litellm_params:
          model: openai/gpt-4o-mini
          api_key: os.environ/OPENAI_API_KEY   # LiteLLM reads the variable
      - model_name: fallback-1
        litellm_params:
          model: docent-local/qwen2.5-coder-1.5b
    fallbacks:                       # optional; default: primary -> every other group
      - primary: [fallback-1]
    router_settings:                 # optional; any other litellm.Router keyword
      num_retries: 2                 # default: llm.retries
      timeout: 30                    # default: llm.timeout_s (per attempt)

``llm.timeout_s`` stays the overall deadline of one ``ChatModel`` call either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from litellm.router import Router
from pydantic import BaseModel, Field, ValidationError

from docent.errors import ConfigError
from docent.settings import LLMSettings

PRIMARY = "primary"


class RouterFile(BaseModel):
    """The router YAML, validated at the edge."""

    model_list: list[dict[str, Any]] = Field(min_length=1)
    fallbacks: list[dict[str, list[str]]] | None = None
    router_settings: dict[str, Any] = Field(default_factory=dict)


def model_list_from_settings(llm: LLMSettings) -> tuple[list[dict[str, Any]], list[dict[str, list[str]]]]:
    """The Router ``model_list`` and ``fallbacks`` that ``llm`` describes."""
    primary: dict[str, Any] = {"model": llm.model}
    if llm.api_base:
        primary["api_base"] = llm.api_base
    model_list: list[dict[str, Any]] = [{"model_name": PRIMARY, "litellm_params": primary}]
    names: list[str] = []
    for i, model in enumerate(llm.fallbacks, start=1):
        names.append(f"fallback-{i}")
        model_list.append({"model_name": names[-1], "litellm_params": {"model": model}})
    return model_list, ([{PRIMARY: names}] if names else [])


def load_router_file(path: Path) -> RouterFile:
    """Read and validate a router YAML; ConfigError says what to fix."""
    hint = f"DOCENT_LLM__ROUTER_CONFIG={path}"
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{hint}: cannot read the file ({exc.strerror}).") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{hint}: not valid YAML ({exc}).") from exc
    try:
        spec = RouterFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{hint}: expected model_list/fallbacks/router_settings: {exc}") from exc
    groups = {str(entry.get("model_name")) for entry in spec.model_list}
    if PRIMARY not in groups:
        raise ConfigError(f"{hint}: model_list needs a deployment with model_name: {PRIMARY}.")
    unknown = {name for rule in spec.fallbacks or [] for names in rule.values() for name in names} - groups
    if unknown:
        raise ConfigError(f"{hint}: fallbacks name groups not in model_list: {', '.join(sorted(unknown))}.")
    return spec


def build_router(llm: LLMSettings) -> Router:
    """A Router for ``llm``: from ``llm.router_config`` when set, else from its fields."""
    settings: dict[str, Any] = {"num_retries": llm.retries, "timeout": llm.timeout_s}
    if llm.router_config is not None:
        spec = load_router_file(llm.router_config)
        model_list = spec.model_list
        # dict.fromkeys keeps the file's order: fallback-2 before fallback-10.
        others = list(dict.fromkeys(str(e["model_name"]) for e in model_list if e["model_name"] != PRIMARY))
        settings.update(spec.router_settings)
        settings.pop("model_list", None)
        default = settings.pop("fallbacks", [{PRIMARY: others}] if others else [])
        fallbacks = spec.fallbacks if spec.fallbacks is not None else default
    else:
        model_list, fallbacks = model_list_from_settings(llm)
    try:
        return Router(model_list=model_list, fallbacks=fallbacks, **settings)
    except Exception as exc:  # LiteLLM raises assorted types for a bad model_list
        hint = ""
        if "Provider NOT provided" in str(exc):
            hint = ("\nIf a plugin provides this model's provider, name its module in DOCENT_PLUGINS "
                    "(see docent/plugins.py).")
        raise ConfigError(f"Invalid LLM routing configuration: {exc}{hint}") from exc
