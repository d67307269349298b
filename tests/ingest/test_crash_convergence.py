"""kill -9 at any moment, then rerun: the index equals what a clean run produces."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from docent.index.edge import EdgeStore
from docent.index.lock import read_holder
from tests.conftest import REPO, write

pytestmark = pytest.mark.timeout(600)


def _corpus(root: Path, pages: int) -> None:
    for i in range(pages):
        sections = "\n".join(
            f"## Section {j}\n" + " ".join(f"Page {i} section {j} fact {k} about sync agents." for k in range(25))
            for j in range(6)
        )
        write(root, f"p{i:03}.md", f"---\ntitle: Page {i}\nvisibility: {'internal' if i % 5 == 0 else 'public'}\n"
                                   f"---\n# Page {i}\n{sections}\n")


def _env(data: Path, models: Path) -> dict[str, str]:
    env = {**os.environ, "DOCENT_DATA_DIR": str(data), "PYTHONUNBUFFERED": "1"}
    env.pop("QDRANT_URL", None)
    return env


def _ingest_cmd(docs: Path) -> list[str]:
    return [sys.executable, "-m", "entrypoints.cli", "ingest", str(docs), "--json"]


def _snapshot(store_dir: Path) -> dict[str, dict[str, Any]]:
    store = EdgeStore(store_dir, role="test")
    try:
        index = store.open_active()
        assert index is not None
        ids = [cid for entry in index.inventory().values() for cid in entry.ids]
        assert len(ids) == index.count(), "inventory and count disagree: duplicates or orphans"
        return index.payloads(ids)
    finally:
        store.close()


def _share_models(src: Path, dst: Path) -> None:
    """Reuse the ONNX export between data dirs so each subprocess starts quickly."""
    if (src / "models").exists() and not (dst / "models").exists():
        dst.mkdir(parents=True, exist_ok=True)
        (dst / "models").symlink_to(src / "models")


def test_kill_9_mid_ingest_then_rerun_converges(tmp_path: Path) -> None:
    """Killing ingest mid-embedding (three times) and rerunning equals a clean run exactly."""
    docs = tmp_path / "docs"
    _corpus(docs, 40)
    clean, crashed = tmp_path / "clean", tmp_path / "crashed"
    done = subprocess.run(_ingest_cmd(docs), env=_env(clean, clean), cwd=REPO, capture_output=True,
                          text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-2000:]
    total = json.loads(done.stdout)["chunks_added"]
    expected = _snapshot(clean / "index")
    assert len(expected) == total
    _share_models(clean, crashed)

    kills = 0
    for delay in (0.5, 2.0, 4.0):
        proc = subprocess.Popen(_ingest_cmd(docs), env=_env(crashed, crashed), cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        # Wait until the index is open (lock taken), then let it write for a while.
        deadline = time.monotonic() + 120
        while read_holder(crashed / "index").get("pid") != proc.pid and time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        # Touch a doc between crashes so each rerun also has real work to redo.
        page = docs / "p001.md"
        page.write_text(page.read_text().replace("fact 0 ", f"fact 0 (rev {delay}) "))
    assert kills >= 2, "ingest finished before it could be killed; grow the corpus"

    done = subprocess.run(_ingest_cmd(docs), env=_env(crashed, crashed), cwd=REPO, capture_output=True,
                          text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-2000:]
    # The clean reference must see the final edit too.
    redo = subprocess.run(_ingest_cmd(docs), env=_env(clean, clean), cwd=REPO, capture_output=True, text=True,
                          timeout=400)
    assert redo.returncode == 0
    expected = _snapshot(clean / "index")
    assert _snapshot(crashed / "index") == expected
    # The crash runs' plans were journaled and folded into the change log.
    log = (crashed / "ingest" / "changes.jsonl").read_text().splitlines()
    assert any("p001.md" in line for line in log)
