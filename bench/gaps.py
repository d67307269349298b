"""Gap-report clustering time for N questions (default 10,000) on 2 cores.

Questions are synthetic: the development and golden question sets (eval/golden.jsonl,
eval/dev/zulip-help.jsonl, eval/dev/fastapi-docs.jsonl) with seeded variations (greetings,
trailing words, a dropped word, swapped letters, case), all distinct. Embedding (the
runtime's MiniLM, ``embed_documents``) is timed apart from clustering (service.gaps.cluster:
scikit-learn agglomerative, average linkage, cosine distance threshold); each is the median
of ``--runs`` runs (embedding: ``--embed-runs``). Peak RSS is printed too.

    .venv/bin/python bench/gaps.py [--n 10000] [--runs 3] [--embed-runs 1] [--threshold 0.45]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "2")  # before numpy/scipy load their thread pools
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from docent.offline import ensure_offline  # noqa: E402

ensure_offline()

import numpy as np  # noqa: E402

from docent.embedder import build_embedder  # noqa: E402
from docent.settings import Settings  # noqa: E402
from service.conversation_queries import normalize_question  # noqa: E402
from service.gaps import central, cluster  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SETS = ("eval/golden.jsonl", "eval/dev/zulip-help.jsonl", "eval/dev/fastapi-docs.jsonl")
PREFIXES = ("", "", "hi, ", "quick question: ", "hello! ", "please help - ", "hey, ", "so ")
SUFFIXES = ("", "", " thanks", " asap", " please", " any idea?", " (urgent)", " thx")


def base_questions() -> list[str]:
    out = []
    for name in SETS:
        for line in (REPO / name).read_text().splitlines():
            if line.strip():
                question = json.loads(line).get("question")
                if question:
                    out.append(str(question))
    return out


def vary(question: str, rng: random.Random) -> str:
    words = question.split()
    if len(words) > 4 and rng.random() < 0.4:
        del words[rng.randrange(len(words))]
    if rng.random() < 0.3:
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) > 3:
            j = rng.randrange(len(w) - 1)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    text = rng.choice(PREFIXES) + " ".join(words) + rng.choice(SUFFIXES)
    return text.lower() if rng.random() < 0.2 else text


def synthetic(n: int, seed: int = 7) -> list[str]:
    """``n`` distinct (after normalisation) questions built from the question sets."""
    rng = random.Random(seed)
    bases = base_questions()
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        question = vary(rng.choice(bases), rng)
        key = normalize_question(question)
        if key not in seen:
            seen.add(key)
            out.append(key)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--embed-runs", type=int, default=1)
    parser.add_argument("--threshold", type=float, default=Settings().gaps.distance_threshold)
    parser.add_argument("--cache", type=Path, help="save the vectors here, or load them (skips embedding)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:2]))
    questions = synthetic(args.n)
    print(f"{len(questions)} distinct questions from {len(base_questions())} base questions; "
          f"cores {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'}")
    embed_s: list[float] = []
    if args.cache and args.cache.exists():
        vectors = np.load(args.cache)
    else:
        embedder = build_embedder(Settings())
        embedder.embed_documents(questions[:64])  # load the model outside the timing
        vectors = np.zeros((0, 0), dtype=np.float32)
        for _ in range(args.embed_runs):
            t0 = time.perf_counter()
            vectors = embedder.embed_documents(questions)
            embed_s.append(time.perf_counter() - t0)
        if args.cache:
            np.save(args.cache, vectors)
    cluster_s, cpu_s, groups = [], [], 0
    for _ in range(args.runs):
        t0, c0 = time.perf_counter(), time.process_time()
        labels = cluster(vectors, args.threshold)
        for g in np.unique(labels):  # each group's label, as the report computes it
            idx = np.flatnonzero(labels == g)
            central(vectors[idx], np.ones(len(idx), dtype=np.float32))
        cluster_s.append(time.perf_counter() - t0)
        cpu_s.append(time.process_time() - c0)
        groups = int(labels.max()) + 1
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if embed_s:
        print(f"embedding  {args.n} questions: median {statistics.median(embed_s):.1f} s over {len(embed_s)} run(s) "
              f"{[round(s, 1) for s in embed_s]}")
    print(f"clustering {args.n} questions: median {statistics.median(cluster_s):.2f} s over {len(cluster_s)} runs "
          f"{[round(s, 2) for s in cluster_s]} (CPU {statistics.median(cpu_s):.2f} s)")
    print(f"{groups} groups at distance {args.threshold}; peak RSS {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
