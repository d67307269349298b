"""Docent against a naive LlamaIndex query engine over the same docs and the same model.

Both run in this process over docs-corpus, with the same MiniLM weights and the same
scripted ``docent-fake/echo-cite`` model through LiteLLM (so the model costs ~0 and the
pipelines are what is compared):

- **peer**: ``VectorStoreIndex`` with LlamaIndex's defaults (1024-token
  ``SentenceSplitter``, in-memory vector store, sentence-transformers/torch embedding)
  and ``as_query_engine(llm=LiteLLMModel("docent-fake/echo-cite"))``
  (``bench/_peer_llamaindex.py``);
- **Docent**: an index built by ``docent ingest``, its ``Retriever`` (ONNX MiniLM +
  BM25, hybrid RRF with the public-visibility filter), and ``POST /v1/chat`` in-process
  (FastAPI ``TestClient``: rewrite, retrieval, prompt files, LiteLLM Router, citation
  checks, SQLite history).

Measured, alternating the two systems query by query so drift from other load on the
machine hits both alike: (a) search latency (retriever only, query embedding included),
(b) end-to-end answer latency, (c) retrieval quality on the golden set (hit@k and MRR;
section level and doc level, see ``as_payload`` for how naive chunks are matched).

    .venv/bin/python bench/peers.py [--queries 60] [--top-k 5]
"""
# ruff: noqa: E402 - the path fix and ensure_offline() must run before the imports below

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == _ROOT / "bench":
    sys.path[0] = str(_ROOT)

from docent.offline import ensure_offline

ensure_offline()

import argparse
import json
import logging
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from fastapi.testclient import TestClient

from bench._peer_llamaindex import LiteLLMModel, as_payload, build_index
from bench._report import median, percentile, stopwatch
from bench._service import FAKE_PLUGINS, data_dir, machine
from bench.retrieval import access_for, query_text
from docent import plugins
from docent.schema import Access
from docent.settings import LLMSettings, Settings
from eval.golden import GoldenItem, load
from eval.retrieval_metrics import score_ranking, summarise
from service.app import create_app

DOCS = _ROOT / "docs-corpus"
MODEL = "docent-fake/echo-cite"


def timed(calls: dict[str, Callable[[str], object]], queries: Sequence[str], warmup: int) -> dict[str, list[float]]:
    """Milliseconds per call for each system, interleaved query by query, after warm-up calls."""
    for query in queries[:warmup]:
        for call in calls.values():
            call(query)
    out: dict[str, list[float]] = {name: [] for name in calls}
    for query in queries:
        for name, call in calls.items():
            t0 = time.perf_counter()
            call(query)
            out[name].append((time.perf_counter() - t0) * 1000)
    return out


def latency_table(samples: dict[str, list[float]], baseline: str) -> dict[str, dict[str, float]]:
    base = median(samples[baseline])
    return {name: {"n": len(ms), "p50_ms": round(median(ms), 1), "p95_ms": round(percentile(ms, 95), 1),
                   "p50_vs_peer": round(median(ms) / base, 2)} for name, ms in samples.items()}


def doc_rank(payloads: Sequence[dict[str, Any]], item: GoldenItem) -> int | None:
    docs = {s.doc for s in item.sources}
    return next((i for i, p in enumerate(payloads, start=1) if p.get("doc_path") in docs), None)


def quality(search: Callable[[GoldenItem], list[dict[str, Any]]], golden: Sequence[GoldenItem],
            top_k: int) -> dict[str, float]:
    """Section-level hit@k/MRR (eval.retrieval_metrics), doc-level hit@1/MRR, and words handed to the model."""
    section, doc_ranks, words = [], [], []
    for item in golden:
        payloads = search(item)
        section.append(score_ranking(payloads, item))
        doc_ranks.append(doc_rank(payloads, item))
        words.append(sum(len(str(p.get("text", "")).split()) for p in payloads))
    out = {k: round(v, 3) for k, v in summarise(section, (1, 3, top_k)).items()}
    # What the model must read per question: prefill time on a local model grows with it.
    out["context_words_p50"] = round(median(words), 1)
    n = max(len(doc_ranks), 1)
    out["doc_hit@1"] = round(sum(r == 1 for r in doc_ranks) / n, 3)
    out["doc_mrr"] = round(sum(1 / r for r in doc_ranks if r) / n, 3)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/peers.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=60, help="timed queries per system and measurement")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--top-k", type=int, default=5, help="chunks retrieved (Docent's chat default is 5)")
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    warnings.simplefilter("ignore")
    plugins.load(FAKE_PLUGINS)  # the peer calls docent-fake through litellm.completion directly
    golden = load()
    answerable = [g for g in golden if g.sources]
    queries = [query_text(answerable[i % len(answerable)]) for i in range(args.queries)]
    report: dict[str, Any] = {"machine_start": machine(), "queries": args.queries, "top_k": args.top_k}
    with stopwatch() as sw:
        index = build_index(DOCS)
    report["peer_index_build_s"] = round(sw.seconds, 1)
    peer_retriever = index.as_retriever(similarity_top_k=args.top_k)
    peer_engine = index.as_query_engine(llm=LiteLLMModel(model=MODEL), similarity_top_k=args.top_k)
    print(f"machine {json.dumps(report['machine_start'])}; peer index built in {sw.seconds:.1f} s "
          f"({len(index.docstore.docs)} nodes)", flush=True)
    with data_dir() as data:
        settings = Settings(_env_file=None, data_dir=data, docs_dir=DOCS, watch=False, qdrant_url=None,  # type: ignore[call-arg]
                            llm=LLMSettings(model=MODEL, retries=0), plugins=FAKE_PLUGINS)
        settings.chat = settings.chat.model_copy(update={"rewrite": "concat"})
        # Anonymous calls share a per-address limit (60/min); all of these come from one client.
        settings.widget = settings.widget.model_copy(update={"rate_per_minute_ip": 1_000_000})
        with TestClient(create_app(settings)) as client:
            retriever = client.app.state.runtime.retriever  # type: ignore[attr-defined]

            def docent_chat(q: str) -> None:
                r = client.post("/v1/chat", json={"message": q})
                assert r.status_code == 200, r.text

            search = timed({"naive LlamaIndex retriever": lambda q: peer_retriever.retrieve(q),
                            "Docent Retriever": lambda q: retriever.search(q, Access.public(), args.top_k)},
                           queries, args.warmup)
            report["search"] = latency_table(search, "naive LlamaIndex retriever")
            print(f"search: {json.dumps(report['search'])}", flush=True)
            e2e = timed({"naive LlamaIndex query engine": lambda q: peer_engine.query(q),
                         "Docent POST /v1/chat (in-process)": docent_chat}, queries, args.warmup)
            report["end_to_end"] = latency_table(e2e, "naive LlamaIndex query engine")
            print(f"end to end: {json.dumps(report['end_to_end'])}", flush=True)
            if not args.skip_quality:
                report["quality"] = {
                    "naive LlamaIndex": quality(lambda g: [as_payload(h, DOCS) for h in
                                                           peer_retriever.retrieve(query_text(g))],
                                                answerable, args.top_k),
                    "Docent": quality(lambda g: [h.payload for h in
                                                 retriever.search(query_text(g), access_for(g), args.top_k).hits],
                                      answerable, args.top_k),
                    "questions": len(answerable)}
                print(f"quality: {json.dumps(report['quality'])}", flush=True)
    report["machine_end"] = machine()
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
