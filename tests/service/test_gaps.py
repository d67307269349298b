"""The gap report: unanswered, thumbs-down and handed-off questions grouped by meaning, and closed by a docs fix."""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert, update

from docent.embedder import Embedder
from docent.settings import LLMSettings, Settings
from entrypoints.asgi import build_app
from service.conversation_tables import conversations, handoffs, messages
from service.runtime import Runtime
from tests.service.conftest import STAFF_KEY, SUPPORT_KEY, staff_keys

WEEK = 7 * 86_400
DARK = ["How do I enable dark mode in the dashboard?", "Is there a dark theme for the dashboard?",
        "dark mode dashboard how", "Can I switch the dashboard to a dark colour scheme?"]
EXPORT = ["How do I export my invoices as PDF?", "Can I download invoices as PDF files?",
          "=HYPERLINK(\"http://x\") export invoices pdf"]


def _turn(runtime: Runtime, question: str, *, answerable: bool, scope: str = "public", ago_s: float = 0,
          pages: tuple[str, ...] = (), cited: tuple[str, ...] = ()) -> tuple[str, int]:
    store = runtime.conversations
    cid = store.new_id()
    meta = {"answerable": answerable, "abstain_reason": None if answerable else "low_similarity",
            "retrieved": [{"chunk_id": f"c{i}", "doc_path": p, "score": 0.1, "similarity": 0.3}
                          for i, p in enumerate(pages)],
            "citations": [{"marker": 1, "doc_path": p, "chunk_id": "c0"} for p in cited]}
    answer = "Here is how [1]." if answerable else "The documentation does not cover this."
    mid = store.record_turn(cid, scope, question, answer, meta, new=True)
    when = time.time() - ago_s
    with store.engine.begin() as conn:
        conn.execute(update(conversations).where(conversations.c.id == cid).values(created_at=when))
        conn.execute(update(messages).where(messages.c.conversation_id == cid).values(created_at=when))
    return cid, mid


def _seed(runtime: Runtime) -> dict[str, Any]:
    for n, q in enumerate(DARK):
        _turn(runtime, q, answerable=False, ago_s=n * WEEK, pages=("configuration/themes.md",))
    for q in EXPORT[:2]:
        _turn(runtime, q, answerable=False, pages=("billing/invoices.md",))
    # A thumbs-down on an answer, and a handoff: both count as gaps of their own questions.
    cid, mid = _turn(runtime, EXPORT[2], answerable=True, cited=("billing/invoices.md",))
    runtime.conversations.add_feedback(cid, mid, "public", -1, "wrong")
    hid_cid, _ = _turn(runtime, "Where can I see my old invoices as PDF?", answerable=True,
                       cited=("billing/invoices.md",))
    with runtime.conversations.engine.begin() as conn:
        conn.execute(insert(handoffs).values(
            id="h1", conversation_id=hid_cid, scope="public", target="webhook", status="delivered", attempts=1,
            payload={"question": "Where can I see my old invoices as PDF?", "sources": []}, created_at=time.time()))
    for _ in range(3):
        _turn(runtime, "How do I install Pylon?", answerable=True, cited=("getting-started/install.md",))
    # A staff key's conversation: another (non-admin) key must not see it.
    _turn(runtime, "Which refund override code do agents use?", answerable=False, scope="staff:admin",
          pages=("internal/refund-override.md",))
    return {}


def test_gaps_groups_questions_by_meaning(make_runtime: Callable[..., Runtime]) -> None:
    """Paraphrases share a group labelled by a central wording, with kinds, weekly trend, example and pages."""
    runtime = make_runtime()
    _seed(runtime)
    with TestClient(build_app(runtime.settings, runtime)) as client:
        report = client.get("/v1/console/gaps", headers={"X-API-Key": SUPPORT_KEY}).json()
        admin = client.get("/v1/console/gaps", headers={"X-API-Key": STAFF_KEY}).json()
    groups = report["groups"]
    by_label = {g["label"]: g for g in groups}
    dark = next(g for g in groups if g["label"] in DARK)
    assert dark["size"] == 4 and dark["kinds"] == {"abstained": 4, "thumbs_down": 0, "handoff": 0}
    assert dark["status"] == "open" and dark["pages"] == [{"doc_path": "configuration/themes.md", "count": 4}]
    assert [t["count"] for t in dark["trend"]][-4:] == [1, 1, 1, 1] and len(dark["trend"]) == 8
    invoices = next(g for g in groups if "invoice" in g["label"].lower())
    assert invoices["size"] == 4 and invoices["kinds"] == {"abstained": 2, "thumbs_down": 1, "handoff": 1}
    assert invoices["example"]["transcript"][0]["role"] == "user"
    assert len(groups) == 2, list(by_label)  # the staff key's internal question is not this key's to see
    assert any("refund" in g["label"] for g in admin["groups"])
    assert report["top_questions"][0] == {"question": "How do I install Pylon?", "count": 3}
    cited = {c["doc_path"]: c["count"] for c in report["citations"]}
    assert cited["getting-started/install.md"] == 3 and cited["billing/invoices.md"] == 2
    today = report["deflection"][-1]
    # Today: 3 installs answered; the thumbs-down and the handoff are not deflected; 3 abstentions.
    assert today["conversations"] == 8 and today["deflected"] == 3


def test_gaps_csv_export_and_charts(make_runtime: Callable[..., Runtime]) -> None:
    """The CSV has one row per group with weekly columns and no live formulas; the JSON can carry SVG charts."""
    runtime = make_runtime()
    _seed(runtime)
    with TestClient(build_app(runtime.settings, runtime)) as client:
        staff = {"X-API-Key": SUPPORT_KEY}
        r = client.get("/v1/console/gaps.csv", headers=staff)
        charted = client.get("/v1/console/gaps?charts=true", headers=staff).json()
        assert client.get("/v1/console/gaps.csv").status_code == 401
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 2 and {"label", "status", "size", "abstained", "pages_retrieved"} <= set(rows[0])
    assert sum(1 for k in rows[0] if "-W" in k) == 8
    assert not any(v.startswith("=") for row in rows for v in row.values())
    assert set(charted["charts"]) == {"gaps", "deflection", "citations"}
    assert all(svg.startswith("<svg") and "<script" not in svg for svg in charted["charts"].values())
    assert "&lt;" not in charted["charts"]["gaps"] or "<" not in charted["groups"][0]["label"]


def test_gaps_group_closes_after_a_docs_change_answers_it(embedder: Embedder, tmp_path: Path) -> None:
    """A question the docs could not answer; a page about it is added; the ingest's re-check closes its group."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "install.md").write_text("# Installing Pylon\n\nInstall Pylon with the installer package. "
                                     "Run the installer and follow the prompts to finish setup.\n")
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", docs_dir=docs,
                        llm=LLMSettings(model="docent-fake/echo-cite", retries=0, timeout_s=10), watch=False)
    settings.auth.staff_keys = staff_keys()
    runtime = Runtime.build(settings, embedder=embedder, start_watcher=False)
    try:
        runtime.ingest()
        question = "How do I rotate the frobnicator signing key?"
        with TestClient(build_app(settings, runtime)) as client:
            first = client.post("/v1/chat", json={"message": question}).json()
            assert first["answerable"] is False
            admin = {"X-API-Key": STAFF_KEY}
            assert client.get("/v1/console/gaps", headers=admin).json()["groups"][0]["status"] == "open"
            (docs / "frobnicator.md").write_text(
                "# Rotating the frobnicator signing key\n\nTo rotate the frobnicator signing key, run "
                "`pylon frobnicator rotate` and restart the relay. The old frobnicator key stays valid for a day.\n")
            runtime.ingest()  # a docs change: the runtime's hook re-asks the open groups in a thread
            for thread in [t for t in threading.enumerate() if t.name == "gap-recheck"]:
                thread.join(timeout=60)
            group = client.get("/v1/console/gaps", headers=admin).json()["groups"][0]
            assert group["label"] == question and group["status"] == "closed" and group["closed_at"]
            csv_text = client.get("/v1/console/gaps.csv", headers=admin).text
            assert ",closed," in csv_text
    finally:
        runtime.close()
