"""After a doc edit, the affected subset is the questions whose golden or last-cited docs changed, plus smoke."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from docent.embedder import Embedder
from docent.settings import Settings
from docent.sparse import Bm25Encoder
from eval import golden
from eval.subsets import changes_since, select, touched
from ingest.changelog import ChangeLog
from ingest.pipeline import Ingestor
from tests.conftest import write
from tests.eval.conftest import make_record

GOLDEN = [
    {
        "id": "p1",
        "question": "Where does the SOCKS5 password go?",
        "reference": "In proxy.password_file.",
        "sources": [{"doc": "guide/proxies.md", "section": "Authentication"}],
        "kind": "factual",
        "smoke": False,
    },
    {
        "id": "p2",
        "question": "How much is the Team plan?",
        "reference": "$12.",
        "sources": [{"doc": "billing/plans.md", "section": "Plans"}],
        "kind": "factual",
        "smoke": False,
    },
    {
        "id": "p3",
        "question": "How many seats has Business?",
        "reference": "250.",
        "sources": [{"doc": "billing/plans.md", "section": "Plans"}],
        "kind": "factual",
        "smoke": False,
    },
    {
        "id": "p4",
        "question": "Is there an iPhone app?",
        "reference": "Not covered.",
        "sources": [],
        "kind": "unanswerable",
        "smoke": True,
    },
]


def _golden(tmp_path: Path) -> list[golden.GoldenItem]:
    path = tmp_path / "golden.jsonl"
    path.write_text("\n".join(json.dumps(g) for g in GOLDEN) + "\n")
    return golden.load(path)


def test_subsets_affected_after_doc_edit(
    settings: Settings, mini_corpus: Path, edge_store: Any, embedder: Embedder, tmp_path: Path
) -> None:
    """Editing proxies.md selects p1 (golden source), p3 (cited it last run) and p4 (smoke), not p2."""
    ingestor = Ingestor(edge_store, embedder, Bm25Encoder(), settings.data_dir, "/docs")
    ingestor.run(mini_corpus, progress=False)
    # The previous run: p3's answer cited the proxies page (a wrong page, but that is what it used).
    previous = make_record(
        "20250101T000000Z-000",
        {"p1": {}, "p2": {}, "p3": {}, "p4": {}},
        cited={"p1": "guide/proxies.md", "p2": "billing/plans.md", "p3": "guide/proxies.md"},
        answered={"p4": False},
        started_at=1.0,
    )

    entries: list[dict[str, Any]] = []
    write(
        mini_corpus,
        "guide/proxies.md",
        (mini_corpus / "guide/proxies.md")
        .read_text()
        .replace("The default port is 1080.", "The default port is 1081."),
    )
    ingestor.run(mini_corpus, progress=False, on_change=entries.append)

    assert [e["changed"] for e in entries] == [["guide/proxies.md"]]
    selection = select(_golden(tmp_path), "affected", changed_docs=touched(entries[0]), previous=previous)
    assert [i.id for i in selection.items] == ["p1", "p3", "p4"]
    assert selection.reasons["p1"].startswith("golden source changed")
    assert selection.reasons["p3"].startswith("previously cited doc changed")
    assert selection.reasons["p4"] == "smoke"

    # The CLI's `--subset changed` reads the same changes from the change log since the previous run.
    since = changes_since(ChangeLog(settings.data_dir).entries(), entries[0]["ts"] - 0.001)
    assert since == {"added": [], "changed": ["guide/proxies.md"], "removed": []}


def test_subsets_affected_falls_back_to_smoke_when_too_many(tmp_path: Path) -> None:
    """A change touching more questions than affected_max (a first ingest) runs the smoke set."""
    items = _golden(tmp_path)
    selection = select(
        items, "changed", changed_docs={"guide/proxies.md", "billing/plans.md"}, previous=None, affected_max=2
    )
    assert [i.id for i in selection.items] == ["p4"] and "smoke set instead" in selection.notes[0]
    assert [i.id for i in select(items, "full", limit=2).items] == ["p1", "p2"]


def test_subsets_changes_since_folds_entries() -> None:
    """Entries after the last run are merged: added then removed cancels, changed after added stays added."""
    entries = [
        {"ts": 1, "added": ["old.md"]},
        {"ts": 5, "added": ["a.md", "b.md"]},
        {"ts": 6, "changed": ["a.md", "c.md"]},
        {"ts": 7, "removed": ["b.md"]},
    ]
    assert changes_since(entries, 2) == {"added": ["a.md"], "changed": ["c.md"], "removed": ["b.md"]}
