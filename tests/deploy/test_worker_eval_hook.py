"""`docent ingest --watch` (compose's worker) hands each docs change to the eval trigger."""

from __future__ import annotations

import pytest

from docent.cli import _eval_trigger
from docent.embedder import Embedder
from docent.index.edge import EdgeStore
from docent.settings import Settings


@pytest.mark.parametrize("trigger", ["off", "affected"])
def test_worker_eval_hook_is_quiet_without_a_baseline(trigger: str, edge_store: EdgeStore, embedder: Embedder,
                                                      settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Trigger off, or no evaluation run yet to compare with: the hook returns and starts nothing."""
    monkeypatch.setenv("DOCENT_EVAL_TRIGGER", trigger)
    monkeypatch.setenv("DOCENT_EVAL_RUNS_DIR", str(settings.data_dir / "evals"))
    settings = settings.model_copy(update={"model": "docent-fake/echo-cite"})
    hook = _eval_trigger(settings, edge_store, embedder)
    assert hook({"added": ["guide/new.md"], "changed": [], "removed": []}) is None
    assert not (settings.data_dir / "evals" / ".pending.json").exists()
