"""Retrieval quality on the golden set: every retrieval choice measured, not guessed.

For each chunk size the corpus is ingested into a fresh embedded store; then each
search mode (dense, BM25, hybrid RRF with several weights) is scored by hit@k and MRR
against the golden source sections, and the abstention threshold on the top dense
similarity is swept for retrieval-only abstention accuracy (answerable public
questions should pass it; unanswerable and internal-only questions, searched on the
public path, should not).

    .venv/bin/python bench/retrieval.py                 # chunk sizes 120,180,250
    .venv/bin/python bench/retrieval.py --chunk-sizes 180
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from docent.offline import ensure_offline  # noqa: E402

ensure_offline()

from docent.embedder import SentenceTransformerEmbedder  # noqa: E402
from docent.index.base import SearchQuery  # noqa: E402
from docent.index.edge import EdgeStore  # noqa: E402
from docent.schema import Access  # noqa: E402
from docent.settings import EmbedderSettings  # noqa: E402
from docent.sparse import Bm25Encoder  # noqa: E402
from eval.golden import GoldenItem, load  # noqa: E402
from eval.retrieval_metrics import score_ranking, summarise  # noqa: E402
from ingest.pipeline import Ingestor  # noqa: E402

MODES = [("dense", (1.0, 1.0)), ("sparse", (1.0, 1.0)), ("hybrid", (1.0, 1.0)), ("hybrid", (2.0, 1.0)),
         ("hybrid", (1.0, 2.0))]


def query_text(item: GoldenItem) -> str:
    """Follow-ups are searched with the previous user turn prepended (the concat rewrite)."""
    last = next((m["content"] for m in reversed(item.history) if m["role"] == "user"), "")
    return f"{last} {item.question}".strip()


def access_for(item: GoldenItem) -> Access:
    return Access.staff(all_groups=True) if item.visibility == "internal" else Access.public()


def run(chunk_sizes: list[int], golden: list[GoldenItem], top_k: int) -> dict[str, object]:
    embedder = SentenceTransformerEmbedder(EmbedderSettings(), ROOT / "data" / "models")
    sparse = Bm25Encoder()
    answerable = [g for g in golden if g.sources]
    queries = {g.id: (embedder.embed_query(query_text(g)), *sparse.query(query_text(g))) for g in golden}
    report: dict[str, object] = {}
    for size in chunk_sizes:
        with tempfile.TemporaryDirectory() as tmp:
            store = EdgeStore(Path(tmp) / "index", role="bench")
            summary = Ingestor(store, embedder, sparse, Path(tmp), "/docs", max_words=size).run(
                ROOT / "docs-corpus", progress=False)
            index = store.open_active()
            assert index is not None
            for mode, weights in MODES:
                scores = []
                for g in answerable:
                    dense, idx, val = queries[g.id]
                    hits = index.search(SearchQuery(dense, idx, val, access_for(g), limit=top_k, mode=mode,  # type: ignore[arg-type]
                                                    weights=weights))
                    scores.append(score_ranking([h.payload for h in hits], g))
                key = f"chunks={size} {mode}" + (f" w={weights[0]:g}:{weights[1]:g}" if mode == "hybrid" else "")
                report[key] = {"n_chunks": summary.chunks_added, **summarise(scores, (1, 3, 5, top_k))}
            report[f"chunks={size} abstention"] = sweep_threshold(index, golden, queries)
            store.close()
    return report


def sweep_threshold(index: object, golden: list[GoldenItem], queries: dict[str, tuple]) -> dict[str, object]:  # type: ignore[type-arg]
    """Top public-path similarity for should-answer vs should-abstain questions, and the best cut."""
    answer_sims, abstain_sims = [], []
    for g in golden:
        dense, idx, val = queries[g.id]
        hits = index.search(SearchQuery(dense, idx, val, Access.public(), limit=5))  # type: ignore[attr-defined]
        top = max((h.similarity for h in hits), default=0.0)
        (answer_sims if g.answerable_publicly else abstain_sims).append(top)
    best = (0.0, 0.0)
    for step in range(10, 71):
        t = step / 100
        right = sum(s >= t for s in answer_sims) + sum(s < t for s in abstain_sims)
        acc = right / (len(answer_sims) + len(abstain_sims))
        if acc > best[1]:
            best = (t, acc)
    def recall_at(t: float) -> float:
        return sum(s >= t for s in answer_sims) / len(answer_sims)
    return {
        "answerable_median_sim": round(statistics.median(answer_sims), 3),
        "answerable_min_sim": round(min(answer_sims), 3),
        "abstain_median_sim": round(statistics.median(abstain_sims), 3),
        "abstain_max_sim": round(max(abstain_sims), 3),
        "best_threshold": best[0], "best_accuracy": round(best[1], 3),
        **{f"kept/caught@{t:.2f}": f"{recall_at(t):.2f}/{sum(s < t for s in abstain_sims) / len(abstain_sims):.2f}"
           for t in (0.30, 0.35, 0.40, 0.45, 0.50)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunk-sizes", default="120,180,250", help="comma-separated max words per chunk")
    parser.add_argument("--top-k", type=int, default=8)
    args = parser.parse_args()
    golden = load()
    report = run([int(x) for x in args.chunk_sizes.split(",")], golden, args.top_k)
    for key, value in report.items():
        print(f"{key:32} " + "  ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                                        for k, v in value.items()))  # type: ignore[union-attr]
    print(json.dumps(report))


if __name__ == "__main__":
    main()
