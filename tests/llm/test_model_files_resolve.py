"""Locating packaged models: SmolLM2 inside its package, the name registry, explicit paths."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import cast

import pytest

from docent.errors import ModelFileError
from service.llm import model_files
from service.llm.model_files import SMOLLM_FILE, SMOLLM_SHA256, resolve_local_model, smollm_path


def test_smollm_path_finds_and_verifies_packaged_file(tmp_path: Path) -> None:
    """smollm_path returns the packaged GGUF and records its verified digest in models_dir."""
    path = smollm_path(tmp_path)
    assert path.name == SMOLLM_FILE and path.is_file()
    assert (tmp_path / f"{SMOLLM_FILE}.sha256").read_text().split()[0] == SMOLLM_SHA256


def test_resolve_local_model_maps_packaged_name(tmp_path: Path) -> None:
    """The registry name smollm2-135m resolves to the packaged file."""
    assert resolve_local_model("smollm2-135m", tmp_path) == smollm_path()


def test_resolve_local_model_accepts_absolute_gguf_path(tmp_path: Path) -> None:
    """An absolute path to an existing .gguf is used as is."""
    gguf = tmp_path / "own.gguf"
    gguf.write_bytes(b"GGUF")
    assert resolve_local_model(str(gguf), tmp_path) == gguf


@pytest.mark.parametrize("name", ["gpt-5", "relative/model.gguf", "/nowhere/missing.gguf"])
def test_resolve_local_model_rejects_unknown_names(tmp_path: Path, name: str) -> None:
    """Unknown names, relative paths and missing files raise ModelFileError."""
    with pytest.raises(ModelFileError):
        resolve_local_model(name, tmp_path)


def test_prepare_models_resolves_every_packaged_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """prepare_models returns a verified path for each registry name."""
    fake_qwen = tmp_path / "qwen.gguf"
    registry = cast(dict[str, Callable[[Path], Path]], model_files.LOCAL_MODELS)
    # No 1 GB join in a unit test: the Qwen resolver is replaced.
    monkeypatch.setitem(registry, "qwen2.5-coder-1.5b", lambda _: fake_qwen)
    paths = model_files.prepare_models(tmp_path)
    assert paths == {"qwen2.5-coder-1.5b": fake_qwen, "smollm2-135m": smollm_path()}
