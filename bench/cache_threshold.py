"""The answer cache's match threshold, measured on labelled question pairs.

``eval/dev/cache_pairs.jsonl`` holds pairs written about the development question sets
(eval/dev/zulip-help.jsonl, fastapi-docs.jsonl): true paraphrases (``same``: one answer
serves both) and near-misses that must never share an answer (mute/unmute, web/mobile,
401/403 swapped, four/two workers, ...). For each threshold this prints, with the MiniLM
similarity alone and with the lexical guard of service/answer_cache_match.py, the share of
paraphrases that would hit and the number of near-misses that would (wrongly) hit.

    .venv/bin/python bench/cache_threshold.py [--pairs eval/dev/cache_pairs.jsonl] [--show]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from docent.offline import ensure_offline  # noqa: E402

ensure_offline()

from docent.embedder import build_embedder  # noqa: E402
from docent.settings import Settings  # noqa: E402
from service.answer_cache_match import compatible, cosine, terms  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
THRESHOLDS = (0.70, 0.75, 0.80, 0.85, 0.88, 0.90, 0.92, 0.94, 0.96, 0.98)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=REPO / "eval/dev/cache_pairs.jsonl")
    parser.add_argument("--show", action="store_true", help="list every pair with its similarity and guard verdict")
    args = parser.parse_args()
    pairs = [json.loads(line) for line in args.pairs.read_text().splitlines() if line.strip()]
    embedder = build_embedder(Settings())
    rows = []
    for pair in pairs:
        sim = cosine(embedder.embed_query(pair["a"]), embedder.embed_query(pair["b"]))
        rows.append((pair, sim, compatible(terms(pair["a"]), terms(pair["b"]))))
    same = [r for r in rows if r[0]["same"]]
    near = [r for r in rows if not r[0]["same"]]
    print(f"{len(same)} paraphrase pairs, {len(near)} near-miss pairs ({embedder.name})")
    print(f"{'threshold':>9} | {'similarity alone':^26} | {'similarity + lexical guard':^26}")
    print(f"{'':>9} | {'paraphrase hits':>15} {'false hits':>10} | {'paraphrase hits':>15} {'false hits':>10}")
    for t in THRESHOLDS:
        alone = (sum(s >= t for _, s, _ in same), sum(s >= t for _, s, _ in near))
        guarded = (sum(s >= t and g for _, s, g in same), sum(s >= t and g for _, s, g in near))
        print(f"{t:>9.2f} | {alone[0] / len(same):>15.0%} {alone[1]:>10} | "
              f"{guarded[0] / len(same):>15.0%} {guarded[1]:>10}")
    print(f"near-misses the guard lets through at any similarity: {sum(g for _, _, g in near)} of {len(near)}")
    print(f"paraphrases the guard blocks at any similarity: {sum(not g for _, _, g in same)} of {len(same)}")
    if args.show:
        for pair, sim, guard in sorted(rows, key=lambda r: -r[1]):
            label = "same" if pair["same"] else "NEAR"
            print(f"{sim:.3f} {label} guard={'pass' if guard else 'block'} | {pair['a']} | {pair['b']}")


if __name__ == "__main__":
    main()
