"""Retrieval quality per corpus: every retrieval choice measured, not guessed.

The corpora are our own docs-corpus (questions: eval/golden.jsonl) and the foreign
development sets in eval/dev/corpora.json (zulip-help, fastapi-docs; see
eval/dev/README.md). For each corpus and chunk size, the corpus's docs folder goes
through the normal ingest into a fresh embedded store; then each search mode (dense,
BM25, hybrid RRF with several weights) is scored by hit@1, hit@5 and MRR@10 against the
gold source sections of the in-scope questions (those with sources). Re-rankers of the
hybrid 1:1 list are scored in the same run: "sect" variants take the top SECTION_POOL
chunks, group them by section (doc_path + the full heading path, or the page: doc_path
alone), score a section as max + alpha * (sum of its next SECTION_REST chunk scores) and
rank chunks by (section score, own score); "head+" adds a bonus for BM25-style (IDF
weighted, stemmed) overlap of the query with a chunk's title + heading path. The abstention
threshold on the top dense similarity is swept for retrieval-only abstention accuracy
(answerable public questions should pass it; out-of-scope and internal-only questions,
searched on the public path, should not). Progress goes to stderr; a table, then one
JSON line (or only the JSON with --json), to stdout.

    .venv/bin/python bench/retrieval.py                           # all corpora, chunk sizes 120,180,250
    .venv/bin/python bench/retrieval.py --chunk-sizes 180
    .venv/bin/python bench/retrieval.py --corpora fastapi-docs --chunk-sizes 180 --json
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from docent.offline import ensure_offline  # noqa: E402

ensure_offline()

from docent.embedder import SentenceTransformerEmbedder  # noqa: E402
from docent.index.base import SearchQuery  # noqa: E402
from docent.index.edge import EdgeIndex, EdgeStore  # noqa: E402
from docent.schema import Access, Hit  # noqa: E402
from docent.settings import EmbedderSettings  # noqa: E402
from docent.sparse import Bm25Encoder  # noqa: E402
from eval.golden import DEFAULT_PATH, GoldenItem, load  # noqa: E402
from eval.retrieval_metrics import score_ranking, summarise  # noqa: E402
from ingest.pipeline import Ingestor  # noqa: E402

MODES = [("dense", (1.0, 1.0)), ("sparse", (1.0, 1.0)), ("hybrid", (1.0, 1.0)), ("hybrid", (2.0, 1.0)),
         ("hybrid", (1.0, 2.0))]
HOME = "docs-corpus"
DEV_CORPORA = ROOT / "eval" / "dev" / "corpora.json"
MRR_K = 10
KS = (1, 5, 10)
TABLE_COLUMNS = ("hit@1", "hit@5", f"mrr@{MRR_K}")
SECTION_POOL = 30  # hybrid 1:1 candidates the re-rankers reorder (the top MRR_K are scored)
SECTION_KEYS = {"full": None, "page": 0}  # heading levels kept in the section key: all, or none
SECTION_ALPHAS = (0.0, 0.1, 0.3)
SECTION_REST = 3  # at most this many further chunks of a section add to its score
HEADING_BONUS = 0.01  # times the query's IDF share matched; one branch's rank-1 RRF term is 1/61


@dataclass(frozen=True, slots=True)
class Corpus:
    name: str
    docs: Path  # the docs root that gets ingested; gold doc paths are relative to it
    questions: Path  # JSONL in the golden format


def all_corpora() -> list[Corpus]:
    """docs-corpus, then every development set in eval/dev/corpora.json (paths from the repo root)."""
    entries = json.loads(DEV_CORPORA.read_text(encoding="utf-8")) if DEV_CORPORA.exists() else []
    return [Corpus(HOME, ROOT / "docs-corpus", DEFAULT_PATH),
            *(Corpus(str(e["name"]), (ROOT / e["docs"]).resolve(), ROOT / e["questions"]) for e in entries)]


def select(names: str | None) -> list[Corpus]:
    known = all_corpora()
    if not names:
        return known
    by_name = {c.name: c for c in known}
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in by_name]
    if unknown:
        raise SystemExit(f"unknown corpus {', '.join(unknown)}; known: {', '.join(by_name)}")
    return [by_name[n] for n in wanted]


def query_text(item: GoldenItem) -> str:
    """Follow-ups are searched with the previous user turn prepended (the concat rewrite)."""
    last = next((m["content"] for m in reversed(item.history) if m["role"] == "user"), "")
    return f"{last} {item.question}".strip()


def access_for(item: GoldenItem) -> Access:
    return Access.staff(all_groups=True) if item.visibility == "internal" else Access.public()


def variant_name(mode: str, weights: tuple[float, float]) -> str:
    return mode + (f" w={weights[0]:g}:{weights[1]:g}" if mode == "hybrid" else "")


def section_rerank(hits: list[Hit], levels: int | None, alpha: float) -> list[Hit]:
    """Chunks by (score of their section, own fused score); a section is (doc_path, first ``levels`` headings)."""
    def key(h: Hit) -> tuple[object, ...]:
        path = tuple(h.payload.get("heading_path") or ())
        return (h.payload.get("doc_path"), path if levels is None else path[:levels])
    groups: dict[tuple[object, ...], list[float]] = {}
    for h in hits:
        groups.setdefault(key(h), []).append(h.score)
    section = {k: max(v) + alpha * sum(sorted(v, reverse=True)[1:1 + SECTION_REST]) for k, v in groups.items()}
    return sorted(hits, key=lambda h: (section[key(h)], h.score), reverse=True)


class HeadingSignal:
    """Query overlap with a chunk's title + heading path, BM25 tokens weighted by IDF over the corpus's chunks."""

    def __init__(self, index: EdgeIndex, sparse: Bm25Encoder) -> None:
        self._sparse = sparse
        self._terms: dict[str, set[int]] = {}
        df: Counter[int] = Counter()
        n = 0
        for page in index.scan():
            for point in page:
                n += 1
                df.update(self.terms(point.payload))
        self._idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        self._unseen = math.log(1 + (n + 0.5) / 0.5)

    def terms(self, payload: dict[str, Any]) -> set[int]:
        text = " ".join([str(payload.get("title") or ""), *map(str, payload.get("heading_path") or [])])
        if text not in self._terms:
            self._terms[text] = set(self._sparse.document(text)[0])
        return self._terms[text]

    def rerank(self, hits: list[Hit], query_terms: list[int]) -> list[Hit]:
        weight = {t: self._idf.get(t, self._unseen) for t in query_terms}
        total = sum(weight.values()) or 1.0

        def score(h: Hit) -> float:
            head = self.terms(h.payload)
            return h.score + HEADING_BONUS * sum(w for t, w in weight.items() if t in head) / total
        return sorted(hits, key=score, reverse=True)


def rerankers(heading: HeadingSignal, query_terms: list[int]) -> dict[str, Any]:
    """Variant name -> a function from the hybrid 1:1 pool to its new order."""
    out: dict[str, Any] = {f"sect {name} a={alpha:g}": (lambda hs, lv=levels, a=alpha: section_rerank(hs, lv, a))
                           for name, levels in SECTION_KEYS.items() for alpha in SECTION_ALPHAS}
    out[f"head+{HEADING_BONUS:g}"] = lambda hs: heading.rerank(hs, query_terms)
    return out


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_corpus(corpus: Corpus, chunk_sizes: list[int], embedder: SentenceTransformerEmbedder,
               sparse: Bm25Encoder, top_k: int) -> dict[str, Any]:
    """One corpus: per chunk size, its ingest counts, every variant's scores and the abstention sweep."""
    if not corpus.docs.is_dir():
        log(f"[{corpus.name}] docs folder {corpus.docs} is missing; skipped")
        return {"skipped": f"docs folder {corpus.docs} is missing"}
    golden = load(corpus.questions)
    in_scope = [g for g in golden if g.sources]  # out-of-scope items only feed the abstention sweep
    limit = max(top_k, MRR_K)
    queries = {g.id: (embedder.embed_query(query_text(g)), *sparse.query(query_text(g))) for g in golden}
    out: dict[str, Any] = {"questions": len(golden), "in_scope": len(in_scope)}
    for size in chunk_sizes:
        log(f"[{corpus.name}] ingesting {corpus.docs} at {size} words per chunk ...")
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            store = EdgeStore(Path(tmp) / "index", role="bench")
            summary = Ingestor(store, embedder, sparse, Path(tmp), "/docs", max_words=size).run(
                corpus.docs, progress=True)
            ingest_s = time.perf_counter() - started
            log(f"[{corpus.name}] {summary.chunks_added} chunks in {ingest_s:.0f} s; searching")
            index = store.open_active()
            assert index is not None
            variants: dict[str, dict[str, float]] = {}
            for mode, weights in MODES:
                scores = []
                for g in in_scope:
                    dense, idx, val = queries[g.id]
                    hits = index.search(SearchQuery(dense, idx, val, access_for(g), limit=limit,
                                                    mode=mode, weights=weights))  # type: ignore[arg-type]
                    scores.append(score_ranking([h.payload for h in hits], g))
                variants[variant_name(mode, weights)] = summarise(scores, KS, mrr_k=MRR_K)
            heading = HeadingSignal(index, sparse)
            reranked: dict[str, list[Any]] = {}
            for g in in_scope:
                dense, idx, val = queries[g.id]
                pool = index.search(SearchQuery(dense, idx, val, access_for(g), limit=max(SECTION_POOL, limit)))
                for name, rerank in rerankers(heading, idx).items():
                    reranked.setdefault(name, []).append(score_ranking([h.payload for h in rerank(pool)[:limit]], g))
            variants.update({name: summarise(s, KS, mrr_k=MRR_K) for name, s in reranked.items()})
            out[f"chunks={size}"] = {"n_chunks": summary.chunks_added, "ingest_s": round(ingest_s, 1),
                                     "variants": variants, "abstention": sweep_threshold(index, golden, queries)}
            store.close()
    return out


def sweep_threshold(index: object, golden: list[GoldenItem], queries: dict[str, tuple]) -> dict[str, object]:  # type: ignore[type-arg]
    """Top public-path similarity for should-answer vs should-abstain questions, and the best cut."""
    answer_sims: list[float] = []
    abstain_sims: list[float] = []
    for g in golden:
        dense, idx, val = queries[g.id]
        hits = index.search(SearchQuery(dense, idx, val, Access.public(), limit=5))  # type: ignore[attr-defined]
        top = max((h.similarity for h in hits), default=0.0)
        (answer_sims if g.answerable_publicly else abstain_sims).append(top)
    if not answer_sims or not abstain_sims:
        return {"answerable": len(answer_sims), "abstain": len(abstain_sims)}  # nothing to separate
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


def table(report: dict[str, Any]) -> str:
    """One row per corpus, chunk size and variant; then each run's abstention summary."""
    head = f"{'corpus':14} {'chunks':>6} {'n':>4} {'variant':17} " + " ".join(f"{c:>7}" for c in TABLE_COLUMNS)
    rows, notes = [head, "-" * len(head)], []
    for name, result in report.items():
        if "skipped" in result:
            notes.append(f"{name}: skipped ({result['skipped']})")
            continue
        for key, run in result.items():
            if not key.startswith("chunks="):
                continue
            size = key.removeprefix("chunks=")
            for variant, scores in run["variants"].items():
                rows.append(f"{name:14} {size:>6} {result['in_scope']:>4} {variant:17} "
                            + " ".join(f"{scores[c]:7.3f}" for c in TABLE_COLUMNS))
            a = run["abstention"]
            notes.append(f"{name} chunks={size}: {run['n_chunks']} chunks, ingest {run['ingest_s']:.0f} s; abstention "
                         + ("n/a" if "best_threshold" not in a else
                            f"median sim answer {a['answerable_median_sim']:.3f}"
                            f" / abstain {a['abstain_median_sim']:.3f}, "
                            f"best cut {a['best_threshold']:.2f} (acc {a['best_accuracy']:.3f}), "
                            f"kept/caught@0.40 {a['kept/caught@0.40']}"))
    return "\n".join(rows + [""] + notes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunk-sizes", default="120,180,250", help="comma-separated max words per chunk")
    parser.add_argument("--corpora", default=None,
                        help=f"comma-separated corpus names (default: all, {HOME} plus eval/dev/corpora.json)")
    parser.add_argument("--top-k", type=int, default=MRR_K,
                        help=f"results searched (at least {MRR_K}, for MRR@{MRR_K})")
    parser.add_argument("--json", action="store_true", help="print only the JSON report")
    args = parser.parse_args()
    corpora = select(args.corpora)
    sizes = [int(x) for x in args.chunk_sizes.split(",")]
    started = time.perf_counter()
    embedder = SentenceTransformerEmbedder(EmbedderSettings(), ROOT / "data" / "models")
    sparse = Bm25Encoder()
    report = {c.name: run_corpus(c, sizes, embedder, sparse, args.top_k) for c in corpora}
    log(f"done in {time.perf_counter() - started:.0f} s")
    if not args.json:
        print(table(report))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
