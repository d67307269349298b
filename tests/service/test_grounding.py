"""The grounding verifier, sentence by sentence: planted inventions fail, what the source says passes.

The planted cases are the failures seen on a real third-party manual: the prompt's own
example sentence, invented short steps, swapped numbers, a fact from the wrong source, a
setting the docs never name, steps out of order. The passing cases are verbatim and
lightly reworded sentences, nested configuration keys, code copied from the source, and
every sentence of real foreign pages (read in place) cited to its own page.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from docent.embedder import Embedder
from service.citations import split_sentences
from service.grounding import Thresholds, Verifier

SOURCES = [
    "To reset your password, open **Settings** > **Account** and click **Reset password**. "
    "Then confirm the email we send you. The reset link expires after 24 hours.\n\n"
    "```yaml\nproxy:\n  password_file: /etc/app/proxy.pass\n```",
    "Administrators choose the two-factor policy in Organization settings. Members can then enrol "
    "an authenticator app from their profile.",
]
FOREIGN = Path(__file__).resolve().parents[3] / "shared" / "corpora"


def verdicts(text: str, sources: list[str] = SOURCES, **kw: object) -> list[tuple[bool, str]]:
    return [(c.supported, c.reason) for c in Verifier(sources, **kw).verify(text).claims]  # type: ignore[arg-type]


@pytest.mark.parametrize(("sentence", "reason"), [
    ("The agent listens on port 7400 [1].", "missing"),  # the old prompt example, copied by the 1.5B model
    ("The reset link expires after 48 hours [1].", "missing"),  # a swapped number
    ("Navigate to the Settings section.", "low_support"),  # an invented short step
    ("Click Save.", "low_support"),
    ("Click **Save changes** [1].", "missing"),  # a UI label the source never shows
    ("Open **Settings** > **Security** > **Reset** [1].", "missing"),  # a menu path with an invented segment
    ("Administrators choose the two-factor policy in Organization settings [1].", "missing"),  # wrong source
    ("Restart your device if necessary to finish the reset process [1].", "low_support"),
    ("Set `proxy.password_env` to read it from the environment [1].", "missing"),  # a plausible, absent setting
])
def test_planted_unsupported_sentences_fail(sentence: str, reason: str) -> None:
    assert verdicts(sentence) == [(False, reason)]


@pytest.mark.parametrize("sentence", [
    "The reset link expires after 24 hours [1].",
    "Open **Settings** > **Account** and click **Reset password** [1].",
    "Administrators choose the two-factor policy in Organization settings [2].",
    "The reset links expire after 24 hours [1].",  # plural and verb forms are the same words
    "Store it in `proxy.password_file` [1].",  # a nested YAML key, named the usual dotted way
    "Members can enrol an authenticator app [2][1].",  # the union of two cited sources
    "To reset it:",  # a lead-in is structure, not a claim
])
def test_supported_sentences_pass(sentence: str) -> None:
    assert all(ok for ok, _ in verdicts(sentence)), verdicts(sentence)


def test_steps_must_follow_the_source_order() -> None:
    ordered = "1. Click **Reset password** [1].\n2. Confirm the email we send you [1]."
    swapped = "1. Confirm the email we send you [1].\n2. Click **Reset password** [1]."
    assert verdicts(ordered) == [(True, ""), (True, "")]
    assert verdicts(swapped) == [(True, ""), (False, "order")]


def test_withdrawal_keeps_the_rest_of_the_answer_as_written() -> None:
    text = ("To reset it:\n\n1. Open **Settings** > **Account** [1].\n2. Click Save.\n"
            "3. Click **Reset password** [1].\n\n```yaml\nproxy:\n  password_file: /etc/app/proxy.pass\n```\n\n"
            "The link expires after 24 hours [1]. It also expires when you log in [1].")
    grounding = Verifier(SOURCES).verify(text)
    assert grounding.unsupported == ["Click Save.", "It also expires when you log in."]
    assert grounding.text == ("To reset it:\n\n1. Open **Settings** > **Account** [1].\n"
                              "3. Click **Reset password** [1].\n\n"
                              "```yaml\nproxy:\n  password_file: /etc/app/proxy.pass\n```\n\n"
                              "The link expires after 24 hours [1].")
    assert grounding.score == pytest.approx(4 / 6)  # two steps, the code block and a sentence of six claims


def test_code_must_come_from_a_source() -> None:
    assert verdicts("```yaml\nproxy:\n  password_file: /etc/app/proxy.pass\n```") == [(True, "")]
    assert verdicts("```bash\nsudo app reset --all --force\n```") == [(False, "low_support")]


def test_an_unmarked_sentence_is_checked_against_every_source() -> None:
    assert verdicts("Members can then enrol an authenticator app from their profile.") == [(True, "")]
    assert verdicts("Members can enrol a hardware key by phone.") == [(False, "low_support")]


def test_a_paraphrase_passes_on_the_embedding_signal_only(embedder: Embedder) -> None:
    # Half its content words are the source's: borderline, so the sentence embedding decides.
    paraphrase = "Admins pick the two-factor rule in Organization settings [2]."
    unrelated = "Admins pick the colour theme in Organization settings [2]."
    assert verdicts(paraphrase) == [(False, "low_support")]
    with_embed = {"embed": embedder.embed_documents, "thresholds": Thresholds(min_similarity=0.7)}
    assert verdicts(paraphrase, **with_embed) == [(True, "")]
    assert verdicts(unrelated, **with_embed) == [(False, "low_support")]


@pytest.mark.skipif(not FOREIGN.is_dir(), reason="../shared/corpora is not on this machine")
@pytest.mark.parametrize("page", ["zulip-help/help/schedule-a-message.md",
                                  "fastapi-docs/docs/en/docs/tutorial/cors.md"])
def test_every_sentence_of_a_real_page_is_supported_by_that_page(page: str) -> None:
    text = (FOREIGN / page).read_text(encoding="utf-8")
    sentences = [s for s in split_sentences(text) if not s.startswith(("```", "#", "{", "<", "---", "|"))]
    assert len(sentences) > 10
    grounding = Verifier([text]).verify("\n".join(f"{s} [1]" for s in sentences))
    failed = [c.text for c in grounding.claims if not c.supported]
    assert not failed, failed[:5]


def test_similarity_is_cached_per_sentence() -> None:
    calls: list[int] = []

    def embed(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        return np.ones((len(texts), 2), dtype=np.float32) / np.sqrt(2)

    verifier = Verifier(SOURCES, embed=embed)
    for _ in range(3):  # the stream verifies the growing text again after each sentence
        verifier.verify("Admins pick the two-factor rule in Organization settings [2].")
    assert calls == [1, 2]  # the sentence once, source 2's sentences once


def test_a_claim_that_drops_or_adds_the_sources_negation_fails() -> None:
    source = ["Your data lives in your own bucket. The service never deletes it when you cancel your plan."]
    assert verdicts("The service deletes it when you cancel your plan [1].", source) == [(False, "negation")]
    assert verdicts("The service does not delete it when you cancel your plan [1].", source) == [(True, "")]
    assert verdicts("Your data does not live in your own bucket [1].", source) == [(False, "negation")]
