"""What a prompt token budget keeps, without the model: the offline half of choosing the budget.

For each corpus's in-scope questions the real retrieval runs, then the prompt is fitted at
each budget (``service.answer.fit_prompt``, the production function) and measured:

- tokens: the prompt's tokens, counted with the local model's own tokenizer;
- ref kept: share of the reference answer's content words present in what the model sees
  (the same figure with whole sources is the ceiling);
- gold kept: share of questions where a retrieved gold section still shows some text;
- fit ms: time to score, choose and count (the MiniLM embedding of every unit dominates).

The budget is then confirmed with the model by ``bench/answers.py --budgets``.

    .venv/bin/python bench/prompt_budget.py --corpora zulip-help,fastapi-docs --budgets 0,400,500,600,800
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from docent.offline import ensure_offline  # noqa: E402

ensure_offline()

from docent.schema import Access  # noqa: E402
from docent.settings import Settings  # noqa: E402
from eval import corpora  # noqa: E402
from eval.golden import DEFAULT_PATH  # noqa: E402
from eval.retrieval_metrics import matches  # noqa: E402
from service import prompt_budget  # noqa: E402
from service.answer import fit_prompt  # noqa: E402
from service.citations import content_words  # noqa: E402
from service.llm.model_files import prepare_qwen  # noqa: E402
from service.runtime import Runtime  # noqa: E402

HOME = corpora.Corpus("docs-corpus", ROOT / "docs-corpus", DEFAULT_PATH)


def qwen_counter(models_dir: Path) -> Any:
    """The default local model's tokenizer alone (vocab only: no weights loaded)."""
    from llama_cpp import Llama

    llama = Llama(model_path=str(prepare_qwen(models_dir)), vocab_only=True, verbose=False)
    return lambda text: len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))


def run_corpus(corpus: corpora.Corpus, args: argparse.Namespace, count: Any) -> dict[str, Any]:
    base = Settings(_env_file=None, watch=False)
    settings = corpora.corpus_settings(base, corpus, args.data_root / corpus.name)
    corpora.ingest(settings, progress=False)
    items = [i for i in corpora.check(corpus) if i.answerable_publicly and i.sources][: args.n]
    runtime = Runtime.build(settings, start_watcher=False)
    out: dict[str, Any] = {}
    try:
        for mode in args.modes.split(","):
            for budget in [int(b) for b in args.budgets.split(",")]:
                chat = settings.chat.model_copy(update={"prompt_token_budget": budget})
                tokens, kept, gold, ms = [], [], [], []
                for item in items:
                    hits = runtime.retriever.search(item.question, Access.public(), chat.top_k).hits
                    t0 = time.perf_counter()
                    embedder = runtime.embedder if args.signals == "hybrid" else None
                    fitted = fit_prompt(item.question, item.question, hits, mode=mode, chat=chat, embedder=embedder,
                                        sparse=runtime.retriever.sparse, count=count)
                    ms.append((time.perf_counter() - t0) * 1000)
                    tokens.append(fitted.tokens)
                    ref = set(content_words(item.reference))
                    seen = set(content_words("\n".join(fitted.seen)))
                    kept.append(len(ref & seen) / len(ref) if ref else 0.0)
                    gold.append(any(matches(h.payload, item) and text for h, text in zip(hits, fitted.seen,
                                                                                          strict=True)))
                out[f"{mode}@{budget}"] = {
                    "n": len(items), "tokens": statistics.median(tokens), "tokens_max": max(tokens),
                    "ref_kept": round(statistics.mean(kept), 3), "gold_kept": round(sum(gold) / len(gold), 3),
                    "fit_ms": round(statistics.median(ms), 1),
                }
                print(corpus.name, f"{mode}@{budget}", out[f"{mode}@{budget}"], file=sys.stderr, flush=True)
    finally:
        runtime.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", default="docs-corpus,zulip-help,fastapi-docs")
    parser.add_argument("--modes", default="extractive,generative")
    parser.add_argument("--budgets", default="0,400,500,600,800", help="0: whole sources (the ceiling)")
    parser.add_argument("--signals", choices=["hybrid", "bm25"], default="hybrid",
                        help="score units with MiniLM and BM25 (production) or BM25 alone")
    parser.add_argument("--source-weight", type=float, default=prompt_budget.SOURCE_WEIGHT,
                        help="weight of the source's similarity in each unit's score (to compare)")
    parser.add_argument("-n", type=int, default=40, help="in-scope questions per corpus (the first n)")
    parser.add_argument("--data-root", type=Path, default=ROOT / "data" / "bench" / "prompt-budget")
    args = parser.parse_args()
    prompt_budget.SOURCE_WEIGHT = args.source_weight
    count = qwen_counter(Settings(_env_file=None).models_dir)
    table = {name: run_corpus(HOME if name == HOME.name else corpora.named(name), args, count)
             for name in args.corpora.split(",")}
    print(f"{'corpus':14} {'mode@budget':18} {'tokens':>7} {'max':>6} {'ref kept':>9} {'gold kept':>10} {'fit ms':>7}")
    for name, rows in table.items():
        for key, r in rows.items():
            print(f"{name:14} {key:18} {r['tokens']:>7.0f} {r['tokens_max']:>6} {r['ref_kept']:>9.3f} "
                  f"{r['gold_kept']:>10.3f} {r['fit_ms']:>7.1f}")
    print(json.dumps(table))


if __name__ == "__main__":
    main()
