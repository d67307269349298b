"""Named sources in settings: overlap is a start-up error; a folder source's access and globs apply."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from docent.embedder import Embedder
from docent.index.edge import EdgeStore
from docent.settings import Settings, SourceSettings
from entrypoints.cli import app as cli_app
from ingest.sources.sync import sync_source
from tests.conftest import write


def _settings(tmp_path: Path, sources: list[dict[str, Any]]) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data", sources=sources)


@pytest.mark.parametrize(("a", "b", "claim"), [
    ({"name": "docs", "location": "/srv/a"}, {"name": "docs", "location": "/srv/b"}, "doc path prefix"),
    ({"name": "a", "location": "/srv/docs/"}, {"name": "b", "location": "/srv/docs"}, "location"),
    ({"name": "a", "location": "/x", "url_base": "https://d.example.com/"},
     {"name": "b", "location": "/y", "url_base": "https://d.example.com/api"}, "url_base"),
    ({"name": "a", "location": "/srv/docs"}, {"name": "b", "location": "/srv/docs/api"}, "location"),
    ({"name": "a", "location": "/srv/docs"}, {"name": "b", "location": "/srv/other/../docs/"}, "location"),
    ({"name": "a", "kind": "git", "location": "https://g.example.com/r.git", "subfolder": "docs"},
     {"name": "b", "kind": "git", "location": "https://g.example.com/r", "subfolder": "docs/api/"}, "location"),
    ({"name": "a", "kind": "git", "location": "https://g.example.com/r.git"},
     {"name": "b", "kind": "git", "location": "https://g.example.com/r.git", "subfolder": "docs"}, "location"),
    ({"name": "a", "kind": "website", "location": "https://d.example.com/"},
     {"name": "b", "kind": "website", "location": "https://D.example.com"}, "location"),
    ({"name": "a", "kind": "website", "location": "https://d.example.com/", "sitemap": "https://d.example.com/s.xml"},
     {"name": "b", "kind": "website", "location": "https://d.example.com/guide/",
      "sitemap": "https://d.example.com/s.xml"}, "location"),
])
def test_sources_overlapping_claims_fail_at_start(tmp_path: Path, a: dict[str, Any], b: dict[str, Any],
                                                  claim: str) -> None:
    """Two sources with the same name, nested folders or repository subfolders, the same start URL or
    sitemap, or nested url_base are refused with a message naming both."""
    with pytest.raises(ValidationError, match=f"both claim the {claim}"):
        _settings(tmp_path, [a, b])


@pytest.mark.parametrize(("a", "b"), [
    ({"name": "a", "location": "/srv/docs"}, {"name": "b", "location": "/srv/docs-api"}),
    ({"name": "a", "kind": "git", "location": "https://g.example.com/r.git", "subfolder": "docs"},
     {"name": "b", "kind": "git", "location": "https://g.example.com/r.git", "subfolder": "handbook"}),
    ({"name": "a", "kind": "git", "location": "https://g.example.com/r.git"},
     {"name": "b", "kind": "git", "location": "https://g.example.com/r.git", "branch": "v2"}),
    ({"name": "a", "kind": "website", "location": "https://d.example.com/en/", "include": ["en/"]},
     {"name": "b", "kind": "website", "location": "https://d.example.com/fr/", "include": ["fr/"]}),
    ({"name": "a", "location": "/x", "url_base": "https://d.example.com/a"},
     {"name": "b", "location": "/y", "url_base": "https://d.example.com/ab"}),
])
def test_sources_distinct_claims_are_accepted(tmp_path: Path, a: dict[str, Any], b: dict[str, Any]) -> None:
    """Sibling folders, one repository's distinct subfolders or branches, a site split by globs: no error."""
    assert [s.name for s in _settings(tmp_path, [a, b]).sources] == ["a", "b"]


def test_cli_refuses_overlapping_sources_at_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`docent serve` and `docent sources list` stop at start-up with exit 2 and a message naming both sources."""
    monkeypatch.setenv("DOCENT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DOCENT_SOURCES", json.dumps([{"name": "one", "location": str(tmp_path / "docs")},
                                                     {"name": "two", "location": str(tmp_path / "docs/api")}]))
    for args in (["serve"], ["sources", "list"], ["sources", "sync", "one"]):
        result = CliRunner().invoke(cli_app, args)
        assert result.exit_code == 2, (args, result.output)
        assert "sources 'one' and 'two' both claim the location" in result.output
        assert "Traceback" not in result.output and not isinstance(result.exception, ValidationError)


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
