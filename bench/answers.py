"""Answer quality and speed per corpus and answer mode, with the real local model.

For each corpus (docs-corpus with eval/golden.jsonl, and the foreign development sets in
eval/dev/corpora.json), a seeded sample of in-scope questions (answerable on the public
path) and out-of-scope questions (kind ``unanswerable``) is asked through the one answer
path customers use (``Runtime.answerer.stream``), once per answer mode. Per corpus and
mode it prints medians and rates:

- answered: share of in-scope questions answered (not abstained, not degraded);
- gold cited: share of answered questions citing a gold section (path + heading);
- grounded correct: in-scope questions answered, citing a gold section, nothing withdrawn;
- ref recall: median share of the reference answer's content words found in the answer;
- withdrawn: sentences the verifier withdrew, and answers it turned into abstentions;
- OOS abstained: share of out-of-scope questions that abstained;
- first text / final: medians of the time to the first streamed text and to the final event.

Every answer goes to ``--out`` (JSONL) so people can read them against their sources.
A corpus's index is built once in ``--data-root/<corpus>`` and reused (incremental).

    .venv/bin/python bench/answers.py                                  # all corpora, both modes, 12+4 each
    .venv/bin/python bench/answers.py --corpora zulip-help --modes extractive --in-scope 5 --oos 2
    .venv/bin/python bench/answers.py --modes extractive,extractive-whole --budget 600   # issue 14 before/after

Variants: a mode (extractive, generative, auto); ``before`` (generative without the verifier,
as Docent answered before issue 13); ``extractive-whole`` / ``generative-whole`` (whole
sources, no prompt token budget, as before issue 14). ``--budget`` sets
chat.prompt_token_budget for the others. Per corpus and variant it also prints the median
prompt tokens (as the model counted them) and the time spent fitting the prompt.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
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
from eval.golden import DEFAULT_PATH, GoldenItem  # noqa: E402
from eval.retrieval_metrics import matches  # noqa: E402
from service.answer import Answer  # noqa: E402
from service.citations import content_words  # noqa: E402
from service.runtime import Runtime  # noqa: E402

# A mode name, or "before": generation with no grounding verifier, as Docent answered before issue 13.
VARIANTS: dict[str, dict[str, Any]] = {
    "extractive": {"answer_mode": "extractive"}, "generative": {"answer_mode": "generative"},
    "auto": {"answer_mode": "auto"}, "before": {"answer_mode": "generative", "verify": False},
    # Whole sources (no token budget, issue 14's "before"), in each mode.
    "extractive-whole": {"answer_mode": "extractive", "prompt_token_budget": 0},
    "generative-whole": {"answer_mode": "generative", "prompt_token_budget": 0},
}
HOME = corpora.Corpus("docs-corpus", ROOT / "docs-corpus", DEFAULT_PATH)


def sample(items: list[GoldenItem], n_in: int, n_oos: int, seed: int) -> list[GoldenItem]:
    """A fixed sample: the same questions in every mode and every run with this seed."""
    rng = random.Random(seed)
    in_scope = [i for i in items if i.answerable_publicly and i.sources]
    oos = [i for i in items if i.kind == "unanswerable"]
    return rng.sample(in_scope, min(n_in, len(in_scope))) + rng.sample(oos, min(n_oos, len(oos)))


def recall(reference: str, answer: str) -> float:
    ref = set(content_words(reference))
    return len(ref & set(content_words(answer))) / len(ref) if ref else 0.0


async def ask(runtime: Runtime, question: str) -> tuple[Answer, float | None, float]:
    """The final answer, seconds to the first streamed text (None: none streamed) and to the end."""
    t0 = time.perf_counter()
    first: float | None = None
    final: Answer | None = None
    async for kind, item in runtime.answerer.stream(question, [], Access.public()):
        if kind == "delta" and first is None:
            first = time.perf_counter() - t0
        elif kind == "final":
            assert isinstance(item, Answer)
            final = item
    assert final is not None
    return final, first, time.perf_counter() - t0


def row(item: GoldenItem, ans: Answer, first: float | None, total: float) -> dict[str, Any]:
    cites = [{"doc_path": c.doc_path, "heading_path": c.heading_path, "title": c.title} for c in ans.citations]
    return {
        "id": item.id, "question": item.question, "in_scope": item.answerable_publicly, "reference": item.reference,
        "gold": [[s.doc, s.section] for s in item.sources], "mode": ans.answer_mode, "answer": ans.text,
        "answered": ans.answerable, "abstain_reason": ans.abstain_reason,
        "gold_cited": any(matches(c, item) for c in cites), "ref_recall": recall(item.reference, ans.text),
        "unsupported": ans.unsupported_sentences, "grounding": ans.grounding,
        "citations": [[c["doc_path"], " > ".join(c["heading_path"])] for c in cites],
        "retrieved": [[h.doc_path, " > ".join(h.payload.get("heading_path") or [])] for h in ans.retrieval.hits],
        "first_s": first, "final_s": total, "prompt_tokens": ans.prompt_tokens,
        "timings_ms": {k: round(v, 1) for k, v in ans.timings_ms.items()},
    }


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ins = [r for r in rows if r["in_scope"]]
    oos = [r for r in rows if not r["in_scope"]]
    answered = [r for r in ins if r["answered"]]
    firsts = [r["first_s"] for r in rows if r["first_s"] is not None]

    def med(values: list[float]) -> float | None:
        return round(statistics.median(values), 3) if values else None

    return {
        "n_in": len(ins), "n_oos": len(oos),
        "answered": len(answered) / len(ins) if ins else None,
        "gold_cited": sum(r["gold_cited"] for r in answered) / len(answered) if answered else None,
        "grounded_correct": sum(r["gold_cited"] and not r["unsupported"] for r in answered) / len(ins) if ins else None,
        "ref_recall": med([r["ref_recall"] for r in answered]),
        "withdrawn_sentences": sum(len(r["unsupported"]) for r in rows),
        "unsupported_abstentions": sum(r["abstain_reason"] == "unsupported" for r in rows),
        "oos_abstained": sum(not r["answered"] for r in oos) / len(oos) if oos else None,
        "first_text_s": med(firsts), "final_s": med([r["final_s"] for r in rows]),
        "prompt_tokens": med([r["prompt_tokens"] for r in rows if r["prompt_tokens"]]),
        "prompt_ms": med([r["timings_ms"]["prompt"] for r in rows if "prompt" in r["timings_ms"]]),
    }


def run_corpus(corpus: corpora.Corpus, modes: list[str], args: argparse.Namespace,
               out: Any) -> dict[str, dict[str, Any]]:
    base = Settings(_env_file=None, watch=False)
    settings = corpora.corpus_settings(base, corpus, args.data_root / corpus.name)
    print(f"[{corpus.name}] ingest", file=sys.stderr, flush=True)
    corpora.ingest(settings, progress=False)
    questions = sample(corpora.check(corpus), args.in_scope, args.oos, args.seed)
    results: dict[str, dict[str, Any]] = {}
    for mode in modes:
        update = dict(VARIANTS[mode])
        if args.budget is not None and "prompt_token_budget" not in update:
            update["prompt_token_budget"] = args.budget
        # No answer cache: the warm-up question would otherwise be answered from it, untimed.
        runtime = Runtime.build(settings.model_copy(update={
            "chat": settings.chat.model_copy(update=update),
            "cache": settings.cache.model_copy(update={"enabled": False})}), start_watcher=False)
        try:
            asyncio.run(ask(runtime, questions[0].question))  # load the model; not counted
            rows = []
            for item in questions:
                ans, first, total = asyncio.run(ask(runtime, item.question))
                r = row(item, ans, first, total)
                rows.append(r)
                out.write(json.dumps({"corpus": corpus.name, **r}) + "\n")
                out.flush()
                print(f"[{corpus.name} {mode}] {item.id} {total:.1f}s answered={ans.answerable} "
                      f"gold={r['gold_cited']} withdrawn={len(ans.unsupported_sentences)}", file=sys.stderr, flush=True)
        finally:
            runtime.close()
        results[mode] = summary(rows)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", default="docs-corpus,zulip-help,fastapi-docs")
    parser.add_argument("--modes", default="extractive,generative",
                        help=f"comma-separated, of: {', '.join(VARIANTS)} (default extractive,generative)")
    parser.add_argument("--in-scope", type=int, default=12, help="in-scope questions per corpus (default 12)")
    parser.add_argument("--oos", type=int, default=4, help="out-of-scope questions per corpus (default 4)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--budget", type=int, default=None,
                        help="chat.prompt_token_budget for every variant but the *-whole ones (default: the setting's)")
    parser.add_argument("--data-root", type=Path, default=ROOT / "data" / "bench" / "answers")
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "bench" / "answers.jsonl")
    args = parser.parse_args()
    modes = args.modes.split(",")
    if unknown := [m for m in modes if m not in VARIANTS]:
        parser.error(f"unknown mode(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table: dict[str, dict[str, dict[str, Any]]] = {}
    with args.out.open("w", encoding="utf-8") as out:
        for name in args.corpora.split(","):
            corpus = HOME if name == HOME.name else corpora.named(name)
            table[name] = run_corpus(corpus, modes, args, out)
    cols = ["answered", "gold_cited", "grounded_correct", "ref_recall", "withdrawn_sentences",
            "unsupported_abstentions", "oos_abstained", "first_text_s", "final_s", "prompt_tokens", "prompt_ms"]
    print(f"{'corpus':14} {'mode':11} " + " ".join(f"{c[:12]:>12}" for c in cols))
    for name, modes_out in table.items():
        for mode, s in modes_out.items():
            cells = ["—" if s[c] is None else (f"{s[c]:.3f}" if isinstance(s[c], float) else str(s[c])) for c in cols]
            print(f"{name:14} {mode:11} " + " ".join(f"{v:>12}" for v in cells))
    print(json.dumps(table))


if __name__ == "__main__":
    main()
