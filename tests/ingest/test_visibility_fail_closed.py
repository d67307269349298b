"""Visibility fails closed: front matter is found wherever a writer puts it, and doubt is internal.

Each variant below was ingested as public before (the reader only knew YAML at byte 0
with lower-case keys, and defaulted to public). They go through the real reader, the
real pipeline into a real embedded store, the public search filter and the /docs lookup.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from docent.index.base import SearchQuery
from docent.schema import Access
from docent.settings import PathRuleSettings, Settings, VisibilitySettings
from docent.sparse import Bm25Encoder
from ingest.documents import Document, read_all, read_document
from ingest.pipeline import Ingestor
from ingest.visibility import VisibilityPolicy
from service.docs_lookup import find_public

BODY = "# Escalation bridge\n\nPage the on-call engineer on bridge SECRET-4242 after thirty minutes.\n"

# name -> file text; every one of these must come out internal.
INTERNAL_VARIANTS: dict[str, str] = {
    "leading-blank-line.md": "\n---\nvisibility: internal\n---\n" + BODY,
    "leading-space.md": " ---\nvisibility: internal\n---\n" + BODY,
    "html-comment-first.md": "<!-- owner: support team -->\n---\nvisibility: internal\n---\n" + BODY,
    "bom-then-front-matter.md": "\ufeff---\nvisibility: internal\n---\n" + BODY,
    "crlf.md": "---\r\nvisibility: internal\r\n---\r\n" + BODY.replace("\n", "\r\n"),
    "unclosed.md": "---\ntitle: Escalation\nvisibility: internal\n" + BODY,
    "capital-key.md": "---\nVisibility: internal\n---\n" + BODY,
    "shouting.md": "---\nVISIBILITY: Internal\n---\n" + BODY,
    "misspelled-key.md": "---\ntitle: Escalation\nvisiblity: internal\n---\n" + BODY,
    "singular-group.md": "---\ngroup: support\n---\n" + BODY,
    "toml.md": '+++\ntitle = "Escalation"\nvisibility = "internal"\n+++\n' + BODY,
    "yaml-dots-terminator.md": "---\nvisibility: internal\n...\n" + BODY,
    "groups-only.md": "---\ngroups: [support]\n---\n" + BODY,
    "draft.md": "---\ndraft: true\n---\n" + BODY,
    "list-value.md": "---\nvisibility: [internal]\n---\n" + BODY,
    "unknown-value.md": "---\nvisibility: staff-only\n---\n" + BODY,
    "invalid-yaml.md": "---\ntitle: [unclosed\nvisibility: public\n---\n" + BODY,
    "unfenced-metadata.md": "Title: Escalation\nVisibility: internal\n\n" + BODY,
    "meta.html": '<html><head><title>Escalation</title><meta name="visibility" content="internal"></head>'
                 "<body><h1>Escalation bridge</h1><p>Page the on-call bridge SECRET-4242.</p></body></html>",
    "meta-case.html": '<html><head><META NAME="Visibility" CONTENT="Internal"></head>'
                      "<body><h1>Escalation bridge</h1><p>Page bridge SECRET-4242.</p></body></html>",
    "meta-misspelled.html": '<html><head><meta name="visiblity" content="internal"></head>'
                            "<body><h1>Escalation bridge</h1><p>Page bridge SECRET-4242.</p></body></html>",
    "guide/internal/nested-folder.md": BODY,  # path rule **/internal/**, no front matter at all
}

PUBLIC_CONTROLS: dict[str, str] = {
    "plain.md": "# Proxies\n\nSet the proxy URL in the agent settings.\n",
    "front-matter.md": "---\ntitle: Proxies\nvisibility: public\n---\n# Proxies\n\nSet the proxy URL.\n",
    "prose-mentions-visibility.md": "# Streams\n\nVisibility: who can see a stream is set by its owner, and more words"
                                    " follow in this sentence.\n",
    "horizontal-rule-later.md": "# Proxies\n\nText.\n\n---\n\nMore text.\n",
}


def _write_all(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))


def _read(root: Path, rel: str, policy: VisibilityPolicy | None = None) -> Document:
    doc = read_document(root / rel, root, "/docs", *([policy] if policy else []))
    assert isinstance(doc, Document), doc
    return doc


@pytest.mark.parametrize("rel", sorted(INTERNAL_VARIANTS))
def test_variant_is_internal_with_its_reason(tmp_path: Path, rel: str) -> None:
    _write_all(tmp_path, {rel: INTERNAL_VARIANTS[rel]})
    doc = _read(tmp_path, rel)
    assert doc.visibility == "internal", (rel, doc.visibility_rule)
    assert doc.visibility_rule  # the rule that decided is always named


@pytest.mark.parametrize("rel", ["unclosed.md", "misspelled-key.md", "singular-group.md", "list-value.md",
                                 "unknown-value.md", "invalid-yaml.md", "unfenced-metadata.md",
                                 "meta-misspelled.html"])
def test_unreadable_metadata_warns_with_reason(tmp_path: Path, rel: str) -> None:
    """Metadata that is there but cannot be read is a warning naming the reason, not silence."""
    _write_all(tmp_path, {rel: INTERNAL_VARIANTS[rel]})
    doc = _read(tmp_path, rel)
    assert doc.visibility_rule.startswith("failed closed")
    assert doc.warnings and all("internal" in w for w in doc.warnings)


@pytest.mark.parametrize("rel", sorted(PUBLIC_CONTROLS))
def test_public_controls_stay_public(tmp_path: Path, rel: str) -> None:
    """The checks do not make ordinary public pages internal (the suite could not fail otherwise)."""
    _write_all(tmp_path, {rel: PUBLIC_CONTROLS[rel]})
    doc = _read(tmp_path, rel)
    assert doc.visibility == "public", doc.visibility_rule
    assert not doc.warnings


def test_front_matter_keys_case_insensitive_and_body_clean(tmp_path: Path) -> None:
    _write_all(tmp_path, {"a.md": "\n\n<!-- c -->\n---\nTitle: Escalation\nGroups: [Support, billing]\n"
                                  "Visibility: internal\n---\n" + BODY})
    doc = _read(tmp_path, "a.md")
    assert (doc.title, doc.groups, doc.visibility) == ("Escalation", ("Support", "billing"), "internal")
    assert "visibility" not in doc.body.lower() and doc.body.lstrip().startswith("# Escalation")


def test_precedence_front_matter_then_path_rule_then_default(tmp_path: Path) -> None:
    """Written down in the README: page front matter, then the first path rule, then the default."""
    _write_all(tmp_path, {
        "internal/says-public.md": "---\nvisibility: public\n---\n# Open\n\nOpen text.\n",
        "internal/silent.md": "# Silent\n\nNo front matter.\n",
        "guide/silent.md": "# Silent\n\nNo front matter.\n",
        "billing/silent.md": "# Billing\n\nNo front matter.\n",
    })
    policy = VisibilityPolicy.from_settings(VisibilitySettings(
        default="public",
        rules=[PathRuleSettings(pattern="**/internal/**"),
               PathRuleSettings(pattern="billing/", visibility="internal", groups=["billing"])]))
    says_public = _read(tmp_path, "internal/says-public.md", policy)
    assert says_public.visibility == "public" and "overrides path rule" in says_public.visibility_rule
    silent = _read(tmp_path, "internal/silent.md", policy)
    assert silent.visibility == "internal" and silent.visibility_rule == "path rule '**/internal/**'"
    billing = _read(tmp_path, "billing/silent.md", policy)
    assert (billing.visibility, billing.groups) == ("internal", ("billing",))
    assert _read(tmp_path, "guide/silent.md", policy).visibility_rule == "source default"


def test_no_default_means_internal(tmp_path: Path) -> None:
    _write_all(tmp_path, {"guide/silent.md": "# Silent\n\nNo front matter.\n"})
    doc = _read(tmp_path, "guide/silent.md", VisibilityPolicy(default=None))
    assert doc.visibility == "internal" and doc.visibility_rule.startswith("no decision")


def test_permission_change_without_text_change_updates_the_hash(tmp_path: Path) -> None:
    """The pipeline re-permissions chunks when the doc hash moves: a new default must move it."""
    _write_all(tmp_path, {"guide/silent.md": "# Silent\n\nNo front matter.\n"})
    public = _read(tmp_path, "guide/silent.md", VisibilityPolicy(default="public"))
    internal = _read(tmp_path, "guide/silent.md", VisibilityPolicy(default="internal"))
    assert public.doc_hash != internal.doc_hash


def test_unsafe_front_matter_url_replaced(tmp_path: Path) -> None:
    _write_all(tmp_path, {"x.md": "---\nurl: \"java\\tscript:alert(1)\"\n---\n# X\n\nText here.\n"})
    doc = _read(tmp_path, "x.md")
    assert doc.url == "/docs/x" and any("url" in w for w in doc.warnings)


def test_no_variant_reaches_public_search_or_docs_pages(settings: Settings, edge_store: object,
                                                        embedder: object) -> None:
    """Through the real pipeline and the real public filter: nothing internal, controls found."""
    docs = settings.docs_dir
    _write_all(docs, {**INTERNAL_VARIANTS, **PUBLIC_CONTROLS})
    summary = Ingestor(edge_store, embedder, Bm25Encoder(), settings.data_dir,  # type: ignore[arg-type]
                       "/docs").run(docs, progress=False)
    warned = {w["path"] for w in summary.warnings}
    assert {"misspelled-key.md", "unclosed.md", "meta-misspelled.html"} <= warned
    index = edge_store.open_active()  # type: ignore[attr-defined]
    assert index is not None
    public_paths: set[str] = set()
    for question in ("escalation bridge on-call engineer", "SECRET-4242", "proxy URL agent settings", "stream"):
        vector = embedder.embed_query(question)  # type: ignore[attr-defined]
        indices, values = Bm25Encoder().query(question)
        hits = index.search(SearchQuery(list(vector), indices, values, Access.public(), limit=50, prefetch=100))
        public_paths |= {hit.payload["doc_path"] for hit in hits}
        assert all("SECRET-4242" not in hit.payload["text"] for hit in hits)
    assert not public_paths & set(INTERNAL_VARIANTS)
    assert {"plain.md", "front-matter.md"} <= public_paths
    for rel in INTERNAL_VARIANTS:
        stem = rel.rsplit(".", 1)[0]
        assert find_public(docs, stem) is None, rel
    assert find_public(docs, "plain") is not None
    assert sorted(d.path for d in read_all(docs, "/docs") if isinstance(d, Document)
                  and d.visibility == "public") == sorted(PUBLIC_CONTROLS)
