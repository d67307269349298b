"""The gap report for doc writers: what Docent could not serve, grouped by meaning.

Questions that were abstained on, rated thumbs-down or handed off are embedded with the
runtime's own embedder (MiniLM) and grouped by scikit-learn's agglomerative clustering
(average linkage, cosine distance under ``gaps.distance_threshold``). Each group is
labelled with its most central question, and carries its size, its weekly trend, an
example transcript and the pages that were retrieved for it but did not answer it. A
group that a later docs change made answerable is marked closed (``service/gaps_recheck.py``).
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sklearn.cluster import AgglomerativeClustering
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from docent.embedder import Embedder
from docent.settings import GapSettings
from service.conversation_queries import normalize_question
from service.conversation_tables import gap_groups
from service.gaps_data import GapItem, deflection_by_day, read_window, top_questions, transcript

KINDS = ("abstained", "thumbs_down", "handoff")


def cluster(vectors: np.ndarray, distance_threshold: float) -> np.ndarray:
    """A group number per row of unit vectors: average-linkage clusters under the cosine distance threshold."""
    if len(vectors) < 2:
        return np.zeros(len(vectors), dtype=np.int64)
    model = AgglomerativeClustering(n_clusters=None, distance_threshold=distance_threshold, metric="cosine",
                                    linkage="average")
    return np.asarray(model.fit_predict(vectors), dtype=np.int64)


def central(vectors: np.ndarray, weights: np.ndarray) -> int:
    """The row closest to the weighted mean direction: the group's most central question."""
    centroid = (vectors * weights[:, None]).sum(axis=0)
    return int(np.argmax(vectors @ centroid))


def iso_weeks(now: float, weeks: int) -> list[str]:
    """The last ``weeks`` ISO weeks, oldest first, as "2026-W49"."""
    today = datetime.fromtimestamp(now, UTC).date()
    out = []
    for back in range(weeks - 1, -1, -1):
        year, week, _ = (today - timedelta(weeks=back)).isocalendar()
        out.append(f"{year}-W{week:02d}")
    return out


def _week(ts: float) -> str:
    year, week, _ = datetime.fromtimestamp(ts, UTC).date().isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class Closed:
    """A stored group state: closed (with when) after a re-ask answered its label question."""

    key: str
    closed_at: float | None
    checked_at: float


def closed_states(conn: Connection) -> dict[str, Closed]:
    return {r.key: Closed(r.key, r.closed_at, r.checked_at) for r in conn.execute(select(gap_groups))}


@dataclass(frozen=True)
class Group:
    """Items whose questions mean the same, and the most central of those questions."""

    label: str
    items: list[GapItem]


def group_items(items: list[GapItem], embedder: Embedder, settings: GapSettings) -> list[Group]:
    """The items grouped by the meaning of their questions, biggest group first.

    Identical wordings (after ``normalize_question``) are embedded once; the label is the
    most common wording of the question nearest the group's weighted centre.
    """
    counts = Counter(normalize_question(i.question) for i in items)
    keys = sorted(counts)
    if not keys:
        return []
    vectors = embedder.embed_documents(keys)
    labels = cluster(vectors, settings.distance_threshold)
    rows: dict[int, list[int]] = {}
    for row, group in enumerate(labels.tolist()):
        rows.setdefault(group, []).append(row)
    members: dict[int, list[GapItem]] = {}
    group_of = dict(zip(keys, labels.tolist(), strict=True))
    for item in items:
        members.setdefault(group_of[normalize_question(item.question)], []).append(item)
    out = []
    for group, idx in rows.items():
        weights = np.asarray([counts[keys[r]] for r in idx], dtype=np.float32)
        key = keys[idx[central(vectors[idx], weights)]]
        wording = Counter(i.question.strip() for i in members[group] if normalize_question(i.question) == key)
        out.append(Group(wording.most_common(1)[0][0], members[group]))
    return sorted(out, key=lambda g: (-len(g.items), -max(i.created_at for i in g.items)))


def gap_report(engine: Engine, embedder: Embedder, settings: GapSettings, *, visible_to: str | None,
               now: float | None = None, max_groups: int = 50) -> dict[str, Any]:
    """The whole report as JSON-ready data: groups, citation counts, deflection per day, top questions."""
    now = time.time() if now is None else now
    since = now - settings.weeks * 7 * 86_400
    started = time.perf_counter()
    with engine.connect() as conn:
        window = read_window(conn, since=since, visible_to=visible_to)
        items = sorted(window.items, key=lambda i: -i.created_at)[:settings.max_items]
        grouped = group_items(items, embedder, settings)[:max_groups]
        states = closed_states(conn)
        weeks = iso_weeks(now, settings.weeks)
        groups = [_group(g.items, g.label, weeks, states, conn) for g in grouped]
    return {
        "generated_at": now, "weeks": weeks, "items": len(items), "groups": groups,
        "citations": [{"doc_path": p, "count": n} for p, n in window.citations.most_common(30)],
        "deflection": deflection_by_day(window),
        "top_questions": top_questions(window),
        "took_ms": round((time.perf_counter() - started) * 1000, 1),
    }


def _group(members: list[GapItem], label: str, weeks: list[str], states: dict[str, Closed],
           conn: Any) -> dict[str, Any]:
    key = normalize_question(label)
    last_seen = max(i.created_at for i in members)
    # Closed when a re-ask of one of its questions was answered after its last occurrence.
    closed = [states[k].closed_at for k in {normalize_question(i.question) for i in members} | {key}
              if k in states and states[k].closed_at is not None]
    closed_at = max((c for c in closed if c is not None and c >= last_seen), default=None)
    per_week = Counter(_week(i.created_at) for i in members)
    pages = Counter(p for i in members if i.kind != "handoff" for p in i.pages)
    example = max(members, key=lambda i: i.created_at)
    return {
        "id": hashlib.sha1(key.encode()).hexdigest()[:12],
        "label": label[:300], "size": len(members),
        "status": "closed" if closed_at is not None else "open", "closed_at": closed_at,
        "kinds": {k: sum(1 for i in members if i.kind == k) for k in KINDS},
        "questions": [{"question": q[:300], "count": n}
                      for q, n in Counter(i.question.strip() for i in members).most_common(5)],
        "trend": [{"week": w, "count": per_week.get(w, 0)} for w in weeks],
        "last_seen": last_seen,
        "pages": [{"doc_path": p, "count": n} for p, n in pages.most_common(5)],
        "example": {"conversation_id": example.conversation_id, "kind": example.kind,
                    "transcript": transcript(conn, example.conversation_id)},
    }
