"""Evaluation settings: the judge model, which metrics run, triggering, the gate, and paths.

Read from ``DOCENT_EVAL_*`` variables (or ``.env``) once, at the entry point, like
Docent's own ``Settings``; nested values are JSON (``DOCENT_EVAL_GATE_THRESHOLDS=
'{"faithfulness": 0.05, "abstention_accuracy": 0.1}'``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from docent.settings import LLMSettings

JUDGE_METRICS = (
    "faithfulness",
    "answer_relevancy",
    "context_precision",
    "context_recall",
    "citation_support",
)
"""Metrics that call the judge model, in the order a run computes them."""
NON_LLM_METRICS = ("nonllm_context_precision", "nonllm_context_recall")
"""Ragas metrics that only compare strings (rapidfuzz): free to run every time."""
ALL_METRICS = JUDGE_METRICS + NON_LLM_METRICS
# The smoke subset runs after every docs change: keep it to the judge calls that matter
# most to doc writers (is each answer grounded, is each citation honest).
SMOKE_METRICS = ("faithfulness", "citation_support", *NON_LLM_METRICS)

Subset = Literal["smoke", "changed", "affected", "full"]
TriggerMode = Literal["off", "smoke", "affected"]


class EvalSettings(BaseSettings):
    """Settings for ``docent eval``, the ingest trigger and the evals API."""

    model_config = SettingsConfigDict(env_prefix="DOCENT_EVAL_", env_file=".env", extra="ignore")

    # The judge is any LiteLLM model string, kept apart from the answering model.
    judge_model: str = "docent-local/qwen2.5-coder-1.5b"
    judge_api_base: str | None = None
    judge_timeout_s: float = Field(300.0, gt=0)
    judge_retries: int = Field(1, ge=0, le=5)
    judge_max_tokens: int = Field(1024, ge=64, le=8192)
    # json_schema constrains local models to the exact output schema (llama.cpp grammar);
    # "json" is plain JSON mode, for hosted models without structured outputs.
    judge_json_mode: Literal["json_schema", "json"] = "json_schema"
    # Questions Ragas generates per answer for answer relevancy (Ragas' default is 3).
    relevancy_strictness: int = Field(1, ge=1, le=5)

    metrics: list[str] = Field(default_factory=lambda: list(ALL_METRICS))
    smoke_metrics: list[str] = Field(default_factory=lambda: list(SMOKE_METRICS))
    # Questions answered/scored at once; None = 1 for in-process local models (they
    # share one llama.cpp context, so more only queues) and 4 otherwise.
    concurrency: int | None = Field(None, ge=1, le=64)

    # Take answers and scores from earlier runs when their inputs are byte-identical
    # (see eval/reuse.py); off = every answer generated and judged afresh.
    reuse: bool = True

    trigger: TriggerMode = "affected"
    # An ingest that touches more questions than this (a first ingest, a big move)
    # evaluates the smoke set instead of hours of "affected" questions.
    affected_max: int = Field(25, ge=1)

    # Gate (eval/gate.py): per gated metric, the largest allowed drop (absolute, 0..1) of one
    # question whose inputs changed (raised to the measured noise when that is larger) and of
    # the mean those questions moved. The judge-free ones also gate ``--fast`` runs.
    gate_thresholds: dict[str, float] = Field(
        default_factory=lambda: {"faithfulness": 0.05, "grounding": 0.05, "abstention_accuracy": 0.05}
    )
    # A committed baseline run (JSON written by a previous run); default: the previous run.
    baseline: Path | None = None

    runs_dir: Path | None = None  # default: <DOCENT_DATA_DIR>/evals
    golden_path: Path = Path(__file__).with_name("golden.jsonl")
    # "Low faithfulness" for the report's list of pages cited in poorly grounded answers.
    low_faithfulness: float = Field(0.5, ge=0, le=1)
    trend_runs: int = Field(30, ge=2, le=500)

    @field_validator("metrics", "smoke_metrics")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(ALL_METRICS))
        if unknown:
            raise ValueError(f"unknown metrics {unknown}; choose from {list(ALL_METRICS)}")
        return [m for m in ALL_METRICS if m in value]  # run order, not listing order

    def resolved_runs_dir(self, data_dir: Path) -> Path:
        return (self.runs_dir or data_dir / "evals").expanduser()

    def judge_identity(self) -> str:
        """The judge settings a score depends on (part of its reuse key)."""
        return (
            f"{self.judge_model}|{self.judge_api_base}|{self.judge_json_mode}|{self.judge_max_tokens}|"
            f"relevancy-{self.relevancy_strictness}"
        )

    def judge_llm(self, answering: LLMSettings) -> LLMSettings:
        """LLM settings for the judge; llama.cpp sizing is shared so one loaded model serves both."""
        return answering.model_copy(
            update={
                "model": self.judge_model,
                "fallbacks": [],
                "api_base": self.judge_api_base,
                "router_config": None,
                "timeout_s": self.judge_timeout_s,
                "retries": self.judge_retries,
                "max_tokens": self.judge_max_tokens,
                "temperature": 0.0,
            }
        )

    def metrics_for(self, subset: str) -> list[str]:
        """Runs that follow a docs change (smoke, changed/affected) use the cheaper smoke metrics."""
        return list(self.smoke_metrics if subset in ("smoke", "changed", "affected") else self.metrics)
