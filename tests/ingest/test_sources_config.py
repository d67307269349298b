"""Named sources in settings: overlap is a start-up error; a folder source's access and globs apply."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from docent.embedder import Embedder
from docent.index.edge import EdgeStore
from docent.settings import Settings, SourceSettings
from ingest.sources.sync import sync_source
from tests.conftest import write


def _settings(tmp_path: Path, sources: list[dict[str, Any]]) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data", sources=sources)


@pytest.mark.parametrize(("a", "b", "claim"), [
    ({"name": "docs", "location": "/srv/a"}, {"name": "docs", "location": "/srv/b"}, "doc path prefix"),
    ({"name": "a", "location": "/srv/docs/"}, {"name": "b", "location": "/srv/docs"}, "location"),
    ({"name": "a", "location": "/x", "url_base": "https://d.example.com/"},
     {"name": "b", "location": "/y", "url_base": "https://d.example.com/api"}, "url_base"),
])
def test_sources_overlapping_claims_fail_at_start(tmp_path: Path, a: dict[str, Any], b: dict[str, Any],
                                                  claim: str) -> None:
    """Two sources with the same name, location or nested url_base are refused with a message naming both."""
    with pytest.raises(ValidationError, match=f"both claim the {claim}"):
        _settings(tmp_path, [a, b])


def test_sources_default_is_the_docs_folder(tmp_path: Path) -> None:
    """With no sources configured, settings describe the one docs folder, as before."""
    settings = _settings(tmp_path, [])
    assert settings.sources == [] and settings.docs_dir == Path("./docs-corpus")


def test_folder_source_access_and_globs(settings: Settings, edge_store: EdgeStore, embedder: Embedder,
                                        tmp_path: Path) -> None:
    """An internal source keeps a page that says public internal, adds its groups, and applies its globs."""
    folder = tmp_path / "handbook"
    write(folder, "a.md", "---\nvisibility: public\n---\n# A\n\nRefunds take five days.\n")
    write(folder, "b.md", "# B\n\nEscalate to tier two.\n")
    write(folder, "skip/c.md", "# C\n\nExcluded page.\n")
    write(folder, "notes.txt", "not included\n")
    source = SourceSettings(name="hb", location=str(folder), visibility="internal", groups=["support"],
                            include=["*.md"], exclude=["skip/"], url_base="https://hb.example.com/")
    state, _ = sync_source(settings, source, edge_store, embedder)
    index = edge_store.open_active()
    assert index is not None
    inv = index.inventory()
    assert set(inv) == {"hb/a.md", "hb/b.md"} and state.added == 2
    payloads = index.payloads([cid for entry in inv.values() for cid in entry.ids]).values()
    assert {(p["visibility"], tuple(p["groups"])) for p in payloads} == {("internal", ("support",))}
    assert {p["url"].split("#")[0] for p in payloads} == {"https://hb.example.com/a", "https://hb.example.com/b"}


EXAMPLE = """\
sources:
  - name: docs
    kind: website
    location: https://docs.example.com/
    sitemap: https://docs.example.com/sitemap.xml
    exclude: ["blog/", "changelog/"]
    schedule_s: 21600
  - name: handbook
    kind: git
    location: https://github.com/example/handbook.git
    branch: main
    subfolder: support
    visibility: internal
    groups: [support]
    schedule_s: 900
  - name: manuals
    kind: folder
    location: /srv/manuals
    include: ["*.pdf"]
    url_base: https://files.example.com/manuals
"""


def test_sources_file_yaml_is_read_and_checked(tmp_path: Path) -> None:
    """A sources.yaml gives the same sources as the settings list, and its overlaps fail the same way."""
    path = tmp_path / "sources.yaml"
    path.write_text(EXAMPLE)
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", sources_file=path)
    assert [(s.name, s.kind) for s in settings.sources] == [("docs", "website"), ("handbook", "git"),
                                                           ("manuals", "folder")]
    assert settings.sources[1].groups == ["support"] and settings.sources[0].schedule_s == 21600
    path.write_text(EXAMPLE.replace("name: manuals", "name: docs"))
    with pytest.raises(ValidationError, match="both claim the doc path prefix"):
        Settings(_env_file=None, data_dir=tmp_path / "data", sources_file=path)
