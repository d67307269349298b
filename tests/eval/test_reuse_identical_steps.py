"""A second run with identical inputs reuses answers and scores instead of asking the models again."""

from __future__ import annotations

from collections.abc import Callable

from eval.records import QuestionResult
from eval.settings import EvalSettings
from eval.suite import RunRequest, run
from service.runtime import Runtime
from tests.fakes.llm import register_fake_provider


def _calls(script: str) -> int:
    return sum(1 for name, _ in register_fake_provider().requests if name == script)


def _prompt_inputs(q: QuestionResult) -> list[str]:
    return [c.chunk_id for c in q.sample.contexts]


def test_reuse_identical_steps_skips_models(make_runtime: Callable[..., Runtime],
                                            make_eval_settings: Callable[..., EvalSettings]) -> None:
    """Same prompt, same models: the rerun asks no model and keeps the scores; reuse=False asks again."""
    runtime = make_runtime(model="docent-fake/echo-cite")
    eval_settings = make_eval_settings(metrics=["faithfulness", "citation_support", "nonllm_context_recall"])
    register_fake_provider().requests.clear()

    first = run(runtime.settings, eval_settings, RunRequest(subset="full", progress=False), runtime=runtime)
    answered = [q for q in first.questions if q.sample.answered]
    assert answered and _calls("echo-cite") == len(answered) and _calls("json") > 0
    assert all(not q.reused for q in first.questions)

    register_fake_provider().requests.clear()
    second = run(runtime.settings, eval_settings, RunRequest(subset="full", progress=False), runtime=runtime)
    before = first.by_id()
    # Retrieval can reorder tied hits between calls; only an identical prompt may be reused.
    same = [q for q in second.questions if q.sample.answered and _prompt_inputs(q) == _prompt_inputs(before[q.id])]
    assert same
    for q in same:
        assert q.reused[0] == "answer" and "faithfulness" in q.reused
        assert q.scores == before[q.id].scores and q.sample.answer == before[q.id].sample.answer
    regenerated = [q for q in second.questions if q.sample.answered and "answer" not in q.reused]
    assert _calls("echo-cite") == len(regenerated)

    fresh = run(runtime.settings, eval_settings, RunRequest(subset="full", progress=False, reuse=False),
                runtime=runtime)
    assert all(not q.reused for q in fresh.questions)
    assert _calls("echo-cite") == len(regenerated) + sum(q.sample.answered for q in fresh.questions)
