"""Incremental ingest: only changed chunks are re-embedded, removed docs disappear."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from docent.embedder import Embedder
from docent.index.edge import EdgeStore
from docent.settings import Settings
from docent.sparse import Bm25Encoder
from ingest.pipeline import Ingestor
from tests.conftest import write


class CountingEmbedder:
    """Wraps the real embedder and counts the texts it embeds."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.embedded: list[str] = []

    def embed_documents(self, texts: list[str]) -> Any:
        self.embedded.extend(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


@pytest.fixture
def ingestor(settings: Settings, edge_store: EdgeStore, embedder: Embedder) -> Ingestor:
    return Ingestor(edge_store, CountingEmbedder(embedder), Bm25Encoder(), settings.data_dir, "/docs")


def _state(store: EdgeStore) -> dict[str, dict[str, Any]]:
    index = store.open_active()
    assert index is not None
    ids = [cid for entry in index.inventory().values() for cid in entry.ids]
    return index.payloads(ids)


def test_ingest_rerun_unchanged_embeds_nothing(ingestor: Ingestor, mini_corpus: Path) -> None:
    """A second run over the same files embeds nothing and changes nothing."""
    first = ingestor.run(mini_corpus, progress=False)
    embedded = len(ingestor.embedder.embedded)  # type: ignore[attr-defined]
    second = ingestor.run(mini_corpus, progress=False)
    assert first.docs_added == 4 and first.chunks_added > 4
    assert second.docs_unchanged == 4 and second.chunks_unchanged == first.chunks_added
    assert second.chunks_added == second.chunks_deleted == 0
    assert len(ingestor.embedder.embedded) == embedded  # type: ignore[attr-defined]
    assert second.changes == {"added": [], "changed": [], "removed": []}


def test_ingest_edit_one_section_reembeds_only_it(ingestor: Ingestor, mini_corpus: Path) -> None:
    """Editing one section re-embeds that chunk alone; the other chunks keep their ids."""
    ingestor.run(mini_corpus, progress=False)
    before = set(_state(ingestor.store))  # type: ignore[arg-type]
    page = mini_corpus / "guide/proxies.md"
    page.write_text(page.read_text().replace("default port is 1080", "default port is 1081"))
    ingestor.embedder.embedded.clear()  # type: ignore[attr-defined]
    summary = ingestor.run(mini_corpus, progress=False)
    assert summary.docs_updated == 1 and summary.docs_unchanged == 3
    assert summary.chunks_added == 1 and summary.chunks_deleted == 1
    assert len(ingestor.embedder.embedded) == 1  # type: ignore[attr-defined]
    assert "1081" in ingestor.embedder.embedded[0]  # type: ignore[attr-defined]
    after = _state(ingestor.store)  # type: ignore[arg-type]
    assert len(before ^ set(after)) == 2
    # Unchanged chunks of the edited doc carry the doc's new version.
    versions = {p["doc_version"] for p in after.values() if p["doc_path"] == "guide/proxies.md"}
    assert len(versions) == 1


def test_ingest_delete_and_rename_remove_old_chunks(ingestor: Ingestor, mini_corpus: Path) -> None:
    """Removed and renamed docs leave no orphans behind."""
    ingestor.run(mini_corpus, progress=False)
    (mini_corpus / "billing/plans.md").unlink()
    (mini_corpus / "guide/proxies.md").rename(mini_corpus / "guide/network-proxies.md")
    summary = ingestor.run(mini_corpus, progress=False)
    paths = {p["doc_path"] for p in _state(ingestor.store).values()}  # type: ignore[arg-type]
    assert "billing/plans.md" not in paths and "guide/proxies.md" not in paths
    assert "guide/network-proxies.md" in paths
    assert summary.docs_deleted == 2 and summary.docs_added == 1
    assert summary.changes["removed"] == ["billing/plans.md", "guide/proxies.md"]


def test_ingest_visibility_change_updates_payload_without_reembedding(ingestor: Ingestor,
                                                                      mini_corpus: Path) -> None:
    """Flipping a page to internal updates its chunks' payload in place."""
    ingestor.run(mini_corpus, progress=False)
    page = mini_corpus / "billing/plans.md"
    page.write_text(page.read_text().replace("visibility: public", "visibility: internal"))
    ingestor.embedder.embedded.clear()  # type: ignore[attr-defined]
    summary = ingestor.run(mini_corpus, progress=False)
    assert summary.chunks_updated >= 1 and not ingestor.embedder.embedded  # type: ignore[attr-defined]
    vis = {p["visibility"] for p in _state(ingestor.store).values()  # type: ignore[arg-type]
           if p["doc_path"] == "billing/plans.md"}
    assert vis == {"internal"}


def test_ingest_payload_has_citation_fields(ingestor: Ingestor, mini_corpus: Path) -> None:
    """Payloads hold everything a citation needs."""
    ingestor.run(mini_corpus, progress=False)
    payloads = _state(ingestor.store).values()  # type: ignore[arg-type]
    auth = next(p for p in payloads if p["heading_path"][-1] == "Authentication")
    assert auth["heading_path"] == ["Proxies", "SOCKS5", "Authentication"]
    assert auth["url"] == "/docs/guide/proxies#authentication"
    assert auth["anchor"] == "authentication" and auth["title"] == "Proxies"
    assert auth["visibility"] == "public" and auth["groups"] == []
    assert {"content_hash", "doc_hash", "doc_version", "text", "doc_path"} <= auth.keys()


def test_ingest_change_log_records_each_changing_run(ingestor: Ingestor, mini_corpus: Path) -> None:
    """The change log gets one entry per run that changed docs, with the fingerprint."""
    ingestor.run(mini_corpus, progress=False)
    ingestor.run(mini_corpus, progress=False)
    write(mini_corpus, "guide/new.md", "# New\nA brand new page.\n")
    ingestor.run(mini_corpus, progress=False)
    entries = ingestor.changelog.entries()
    assert len(entries) == 2
    assert entries[1]["added"] == ["guide/new.md"]
    assert entries[0]["fingerprint"] != entries[1]["fingerprint"]
    assert ingestor.changelog.current_fingerprint() == entries[1]["fingerprint"]
