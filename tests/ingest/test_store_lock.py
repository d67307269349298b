"""The embedded store is single-process: a second process gets a clear refusal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from docent.index.edge import EdgeStore
from docent.settings import Settings
from tests.conftest import REPO


def test_second_process_ingest_refused_with_holder_named(settings: Settings, mini_corpus: Path) -> None:
    """`docent ingest` against a held store exits 2 naming the holder, and the store survives."""
    holder = EdgeStore(settings.store_dir, role="server", lock_info={"url": "http://127.0.0.1:8000"})
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "entrypoints.cli", "ingest", str(mini_corpus), "--json"],
            env={"PATH": "/usr/bin:/bin", "DOCENT_DATA_DIR": str(settings.data_dir), "HOME": str(settings.data_dir)},
            cwd=REPO, capture_output=True, text=True, timeout=300,
        )
        assert proc.returncode == 2
        assert "in use by server" in proc.stderr and "Traceback" not in proc.stderr
        assert holder.open_active() is None  # untouched: nothing was created behind our back
    finally:
        holder.close()
