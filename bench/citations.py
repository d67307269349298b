"""What citation attribution changes for the local model, on the same raw answers.

For each answerable golden question (public, the smoke subset by default) the local
model answers once; the raw text is then finished twice, with and without
``chat.attribute_citations``, so the comparison is exact rather than two noisy runs.
Printed: how many answers are shown (not abstained as uncited) and how many of
their sentences carry a marker. The attribution rule itself (service/citations.py)
only adds a marker where the source holds the sentence's specific tokens.

    .venv/bin/python bench/citations.py [--all] [--limit N]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from docent.offline import ensure_offline  # noqa: E402

ensure_offline()

from docent.schema import Access  # noqa: E402
from docent.settings import Settings  # noqa: E402
from eval.golden import load  # noqa: E402
from service import answer as answering  # noqa: E402
from service.citations import split_sentences  # noqa: E402
from service.runtime import Runtime  # noqa: E402

_MARK = re.compile(r"\[(\d+)\]")


def _cited_sentences(text: str) -> int:
    return sum(1 for s in split_sentences(text) if _MARK.search(s))


async def run(questions: list[str], runtime: Runtime, settings: Settings) -> None:
    on = settings.chat.model_copy(update={"attribute_citations": True})
    off = settings.chat.model_copy(update={"attribute_citations": False})
    shown = {"off": 0, "on": 0}
    cited = {"off": 0, "on": 0}
    asked = 0
    for q in questions:
        prep = await answering.prepare(q, [], access=Access.public(), retriever=runtime.retriever,
                                       model=runtime.model, chat=settings.chat)
        if prep.abstain_reason:
            continue
        t0 = time.perf_counter()
        done = await runtime.model.complete(prep.messages)
        asked += 1
        usage = {"model": done.model, "prompt_tokens": done.prompt_tokens,
                 "completion_tokens": done.completion_tokens, "fallback_used": done.fallback_used}
        for label, chat in (("off", off), ("on", on)):
            ans = answering.finish(prep, done.text, chat=chat, **usage)
            shown[label] += ans.answerable
            cited[label] += _cited_sentences(ans.text) if ans.answerable else 0
        print(f"  {time.perf_counter() - t0:5.1f}s  {q[:70]}", flush=True)
    print(f"questions that reached the model: {asked}")
    for label in ("off", "on"):
        print(f"  attribution {label:<3}: answers shown {shown[label]}/{asked}, cited sentences {cited[label]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--all", action="store_true", help="every answerable public question, not the smoke subset")
    parser.add_argument("--limit", type=int, default=0, help="at most this many questions")
    args = parser.parse_args()
    items = [g for g in load() if g.kind != "unanswerable" and g.visibility == "public" and (args.all or g.smoke)]
    questions = [g.question for g in items][: args.limit or None]
    settings = Settings()
    settings.watch = False
    runtime = Runtime.build(settings, start_watcher=False)
    try:
        print(f"bench/citations.py  model={settings.resolved_llm().model}  questions={len(questions)}")
        asyncio.run(run(questions, runtime, settings))
    finally:
        runtime.close()


if __name__ == "__main__":
    main()
