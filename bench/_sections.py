"""The ingest parts of ``bench/ingest.py``: each runs its measurements, prints a table, returns JSON."""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench._corpus import Corpus
from bench._embedders import RecordingEmbedder, agreement, build_variant, warm_up
from bench._ingest_runs import IngestRate, docent_full_ingest, reingest_after_edit
from bench._report import stopwatch, table
from docent.settings import Settings


@dataclass(slots=True)
class Bench:
    """What the sections share: options, settings, the corpus, and embedders loaded once."""

    args: argparse.Namespace
    settings: Settings
    corpus: Corpus
    work: Path
    default: str  # the backend Docent's "auto" picks on this CPU
    queries: list[str]
    embedders: dict[str, RecordingEmbedder] = field(default_factory=dict)
    load_s: dict[str, float] = field(default_factory=dict)

    def embedder(self, backend: str) -> RecordingEmbedder:
        """Built, warmed up and recording on first use; the load time is kept aside."""
        if backend not in self.embedders:
            with stopwatch() as sw:
                inner = build_variant(backend, self.settings)
            self.load_s[backend] = sw.seconds
            warm_up(inner, self.corpus.chunk_texts)
            self.embedders[backend] = RecordingEmbedder(inner)
        return self.embedders[backend]

    def chunk_vectors(self, backend: str) -> np.ndarray:
        return self.embedder(backend).vectors_for(self.corpus.chunk_texts)


def _rate_json(rate: IngestRate) -> dict[str, Any]:
    return {**asdict(rate), "chunks_per_s": rate.chunks_per_s, "docs_per_s": rate.docs_per_s,
            "words_per_s": rate.words_per_s}


def ingest_section(bench: Bench) -> dict[str, Any]:
    """Full-ingest throughput per backend and for the naive baseline, plus fidelity to torch."""
    args, corpus = bench.args, bench.corpus
    rates: list[IngestRate] = []
    for backend in args.backends:
        embedder = bench.embedder(backend)
        label = f"docent [{backend}]" + (" (default)" if backend == bench.default else "")
        run_dir = bench.work / f"ingest-{backend}"
        rates.append(docent_full_ingest(label, embedder, bench.settings, corpus, run_dir, args.repeats,
                                        bench.load_s[backend]))
        print(f"  {label}: {rates[-1].chunks_per_s:.1f} chunks/s", flush=True)
    naive = [] if args.skip_naive else _naive_rates(bench)
    rates.extend(naive)
    baseline = naive[0] if naive else None
    rows = [[r.label, r.chunks, r.docs, r.seconds, r.cpu_seconds, r.chunks_per_s, r.docs_per_s, r.words_per_s,
             r.words_per_s / baseline.words_per_s if baseline else None, r.note] for r in rates]
    print(table(f"Full ingest: {corpus.words:,} words in {len(corpus.files)} files "
                f"(median of {args.repeats}, model load excluded)",
                ["pipeline", "chunks", "docs", "s", "cpu s", "chunks/s", "docs/s", "words/s", "x naive",
                 "note"], rows))
    fidelity = _fidelity(bench, rates)
    out: dict[str, Any] = {"runs": [_rate_json(r) for r in rates], "fidelity": fidelity}
    default = next((r for r in rates if r.label.startswith(f"docent [{bench.default}]")), None)
    torch = next((r for r in rates if r.label.startswith("docent [torch]")), None)
    if baseline and default:
        out["words_per_s_ratio_default_vs_naive"] = default.words_per_s / baseline.words_per_s
        ratio = default.words_per_s / baseline.words_per_s
        print(f"\nHeadline (words/s over the same files): {default.label} {default.words_per_s:,.0f} vs "
              f"{baseline.label} {baseline.words_per_s:,.0f} = {ratio:.2f}x ({baseline.note})")
    if baseline and torch:
        out["words_per_s_ratio_torch_vs_naive"] = torch.words_per_s / baseline.words_per_s
    return out


def _naive_rates(bench: Bench) -> list[IngestRate]:
    from bench._naive import configure_llama_index, load_embedding, naive_full_ingest

    with stopwatch() as sw:
        embed_model = load_embedding()
    configure_llama_index(embed_model)
    embed_model.get_text_embedding_batch(bench.corpus.chunk_texts[:32])  # warm-up
    rates = []
    for tokens in bench.args.naive_chunk_tokens:
        rates.append(naive_full_ingest(bench.corpus, embed_model, tokens, bench.work / "naive",
                                       bench.args.repeats, sw.seconds))
        print(f"  {rates[-1].label}: {rates[-1].chunks_per_s:.1f} chunks/s", flush=True)
    return rates


def _fidelity(bench: Bench, rates: list[IngestRate]) -> list[dict[str, Any]]:
    """Each backend's chunks/s next to its agreement with fp32 torch."""
    if "torch" not in bench.args.backends:
        return []
    queries = bench.queries[: bench.args.agreement_queries]

    def vectors(backend: str) -> tuple[np.ndarray, np.ndarray]:
        embedder = bench.embedder(backend)
        return bench.chunk_vectors(backend), np.asarray([embedder.embed_query(q) for q in queries])

    reference = vectors("torch")
    rate_of = dict(zip(bench.args.backends, rates, strict=False))  # Docent's runs come first, in order
    rows, out = [], []
    for backend, rate in rate_of.items():
        agree = agreement(reference, vectors(backend))
        rows.append([backend, rate.chunks_per_s, bench.load_s[backend], f"{agree.mean_cosine:.4f}",
                     f"{agree.min_cosine:.4f}", f"{agree.top10_overlap:.3f}"])
        out.append({"backend": backend, "chunks_per_s": rate.chunks_per_s, "load_s": bench.load_s[backend],
                    **asdict(agree)})
    texts = f"{len(bench.corpus.chunks)} chunks + {len(queries)} queries"
    print(table(f"Embedder backends vs fp32 torch ({texts})",
                ["backend", "chunks/s", "load s", "mean cos", "min cos", "top-10 overlap"], rows))
    return out


def reingest_section(bench: Bench) -> dict[str, Any]:
    """Re-ingest cost after a one-paragraph edit, with the default backend."""
    embedder = bench.embedder(bench.default)
    edits = bench.args.edits
    result = reingest_after_edit(embedder, bench.settings, bench.corpus, bench.work / "reingest", edits)
    rows = [
        ["full ingest (fresh store)", result.full_s, 1.0, None],
        ["re-ingest, nothing changed", result.noop_s, result.noop_s / result.full_s, 0],
        ["re-ingest, one paragraph edited", result.edit_s, result.edit_fraction, result.edit_chunks_embedded],
    ]
    print(table(f"Re-ingest with [{bench.default}] after editing {result.page} (median of {edits})",
                ["run", "s", "of full", "chunks embedded"], rows, digits=3))
    return {**asdict(result), "edit_fraction": result.edit_fraction, "backend": bench.default}
