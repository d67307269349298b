"""Budgeted prompts: the units of each source that bear on the question, counted with a real tokenizer.

Real pages of a foreign corpus are read in place from ../shared/corpora (never copied here);
the tokenizer is SmolLM2's own (llama.cpp, vocabulary only); the embedder is the real MiniLM.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from docent.embedder import Embedder
from docent.schema import Hit
from docent.settings import ChatSettings
from docent.sparse import Bm25Encoder
from service import extractive, prompt_budget
from service.answer import Fitted, build_messages, fit_prompt
from service.grounding import Verifier
from service.llm.model_files import resolve_local_model

REPO = Path(__file__).resolve().parents[2]
ZULIP = REPO.parent / "shared" / "corpora" / "zulip-help" / "help"
needs_corpora = pytest.mark.skipif(not ZULIP.is_dir(), reason="no ../shared/corpora")
Counter = Callable[[str], int]

CODE = "```python\nfrom fastapi import FastAPI\n\napp = FastAPI()\n\n@app.get('/items/{item_id}')\nasync def read_item(item_id: int):\n    return {'item_id': item_id}\n```"  # noqa: E501


@pytest.fixture(scope="module")
def count(tmp_path_factory: pytest.TempPathFactory) -> Counter:
    """SmolLM2's tokenizer, as the docent-local runner counts (vocabulary only, no weights)."""
    from llama_cpp import Llama

    path = resolve_local_model("smollm2-135m", tmp_path_factory.mktemp("models"))
    llama = Llama(model_path=str(path), vocab_only=True, verbose=False)
    return lambda text: len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))


def _hit(n: int, title: str, text: str, section: str = "") -> Hit:
    return Hit(f"c{n}", 1.0 / n, {"title": title, "heading_path": [title, section] if section else [title],
                                  "doc_path": f"{title}.md", "text": text})


def _page(name: str) -> str:
    return (ZULIP / name).read_text(encoding="utf-8")


def _fit(question: str, hits: list[Hit], budget: int, count: Counter, embedder: Embedder,
         mode: str = "generative") -> Fitted:
    chat = ChatSettings(prompt_token_budget=budget)
    return fit_prompt(question, question, hits, mode=mode, chat=chat, embedder=embedder, sparse=Bm25Encoder(),
                      count=count)


def _zulip_hits() -> list[Hit]:
    return [_hit(1, "Connect through a proxy", _page("connect-through-a-proxy.md")[:4000]),
            _hit(2, "Change your password", _page("change-your-password.md")[:4000]),
            _hit(3, "Change your email address", _page("change-your-email-address.md")[:4000])]


@needs_corpora
@pytest.mark.parametrize("mode", ["generative", "extractive"])
@pytest.mark.parametrize("budget", [350, 500, 700])
def test_fit_prompt_stays_within_the_budget_by_the_real_tokenizer(
        budget: int, mode: str, count: Counter, embedder: Embedder) -> None:
    """The fitted prompt, recounted with SmolLM2's tokenizer, is within the budget and shorter than whole sources."""
    hits = _zulip_hits()
    fitted = _fit("How do I set up a proxy for the desktop app?", hits, budget, count, embedder, mode)
    whole = _fit("How do I set up a proxy for the desktop app?", hits, 0, count, embedder, mode)
    assert fitted.tokens == prompt_budget.prompt_tokens(fitted.messages, count)
    assert fitted.tokens <= budget < whole.tokens
    assert any(fitted.seen), "something of the sources is kept"


@needs_corpora
def test_fit_prompt_keeps_the_best_sentence_for_the_question(count: Counter, embedder: Embedder) -> None:
    """At a tight budget the sentence that answers the question is still in the prompt."""
    fitted = _fit("Who gives me the URL for the PAC script?", _zulip_hits(), 330, count, embedder)
    user = fitted.messages[1]["content"]
    assert "your network administrator will provide a\nURL for the **PAC script**" not in user  # joined, not raw
    assert "your network administrator will provide a URL for the **PAC script**" in user
    assert "Change your email address" not in user, "an unrelated source gives nothing at this budget"


@needs_corpora
def test_fit_prompt_keeps_source_order_and_numbering(count: Counter, embedder: Embedder) -> None:
    """Kept units read in the source's order, and each source keeps its number (a dropped one leaves a gap)."""
    hits = _zulip_hits()
    fitted = _fit("Where do I enter the proxy bypass rules in the desktop app?", hits, 450, count, embedder)
    units = [u for u in extractive.candidates([h.text for h in hits]) if u.source == 1]
    unique = [u for u in units if sum(v.text == u.text for v in units) == 1]  # the page repeats some steps
    kept = [u for u in unique if u.text in fitted.seen[0]]
    assert len(kept) >= 2
    offsets = [fitted.seen[0].index(u.text) for u in kept]
    assert offsets == sorted(offsets), "units appear in source order"
    tags = re.findall(r'<source id="(\d+)"', fitted.messages[1]["content"])
    assert tags == sorted(tags) and tags[0] == "1"
    assert all(bool(text) == (str(n) in tags) for n, text in enumerate(fitted.seen, start=1))


def test_fit_prompt_keeps_a_code_block_whole_or_not_at_all(count: Counter, embedder: Embedder) -> None:
    """A code block is one unit: in the prompt entire when it fits, absent when it does not."""
    text = ("FastAPI apps declare path operations with decorators. " * 3 + "\n\n" + CODE
            + "\n\nThe path parameter item_id is converted to an int. Docs are served at /docs.")
    hits = [_hit(1, "First steps", text)]
    roomy = _fit("How do I declare a path operation that reads an item id?", hits, 500, count, embedder)
    assert CODE in roomy.seen[0]
    fixed = prompt_budget.prompt_tokens(build_messages("How do I declare a path operation that reads an item id?",
                                                       hits, texts=[""]), count)
    tight = _fit("How do I declare a path operation that reads an item id?", hits, fixed + 40, count, embedder)
    assert "read_item" not in tight.seen[0] and "```" not in tight.seen[0]
    assert tight.seen[0], "a sentence still fits where the block does not"


def test_fit_prompt_offers_a_procedure_whole_with_its_numbers(count: Counter, embedder: Embedder) -> None:
    """A step that bears on the question brings its procedure, in order and numbered as in the source."""
    text = ("Billing is monthly. Invoices are emailed.\n\n"
            "1. Open **Settings**.\n2. Select the **Network** tab.\n3. Click **Manual proxy configuration**.\n"
            "4. Click **Save changes**.\n\nProxy changes apply at once.")
    fitted = _fit("How do I configure a manual proxy?", [_hit(1, "Proxy", text)], 400, count, embedder)
    assert ("1. Open **Settings**.\n2. Select the **Network** tab.\n3. Click **Manual proxy configuration**.\n"
            "4. Click **Save changes**.") in fitted.seen[0]


@needs_corpora
def test_fit_prompt_extractive_ids_run_in_source_order(count: Counter, embedder: Embedder) -> None:
    """The extractive prompt numbers only the kept units, 1..n through the sources, and lists exactly those."""
    fitted = _fit("How do I change my password?", _zulip_hits(), 500, count, embedder, mode="extractive")
    ids = [u.id for u in fitted.units]
    assert ids == list(range(1, len(ids) + 1))
    assert [(u.source, u.position) for u in fitted.units] == sorted((u.source, u.position) for u in fitted.units)
    listed = [int(n) for n in re.findall(r"^\[(\d+)\] ", fitted.messages[1]["content"], re.M)]
    assert listed == ids
    schema = extractive.response_format(fitted.units)["json_schema"]["schema"]
    assert schema["properties"]["ids"]["items"]["enum"] == ids


@needs_corpora
def test_fit_prompt_is_deterministic(count: Counter, embedder: Embedder) -> None:
    """The same question and sources always give the same prompt (prefix reuse and answer reuse rely on it)."""
    runs = [_fit("Can I use a PAC script?", _zulip_hits(), 500, count, embedder, mode) for mode in
            ("generative", "generative", "extractive", "extractive")]
    assert runs[0].messages == runs[1].messages and runs[2].messages == runs[3].messages


def test_fit_prompt_budget_zero_shows_whole_sources(count: Counter, embedder: Embedder) -> None:
    """chat.prompt_token_budget = 0: the prompt is the whole sources, as before budgets."""
    hits = [_hit(1, "Proxies", "Set `proxy.url` to a socks5:// address. The default port is 1080.")]
    fitted = _fit("Which port does SOCKS5 use?", hits, 0, count, embedder)
    assert fitted.messages == build_messages("Which port does SOCKS5 use?", hits, 4000)


def test_verifier_over_fitted_text_rejects_a_sentence_the_model_never_saw(count: Counter, embedder: Embedder) -> None:
    """A claim copied from a unit the budget left out is unsupported: the verifier checks what the model saw."""
    hourly = ("The archive bucket is exported hourly as compressed JSON lines, one file per project and hour, "
              "and failed exports are retried for a whole day before the batch is marked as failed.")
    text = f"The default SOCKS5 port is 1080. Proxy errors are logged at warning level.\n\n{hourly}"
    hits = [_hit(1, "Proxies", text)]
    fixed = prompt_budget.prompt_tokens(build_messages("Which port does SOCKS5 use?", hits, texts=[""]), count)
    fitted = _fit("Which port does SOCKS5 use?", hits, fixed + 60, count, embedder)
    assert "1080" in fitted.seen[0] and "hourly" not in fitted.seen[0]
    verifier = Verifier([f"Proxies\n\n{fitted.seen[0]}"])
    assert verifier.verify("The default SOCKS5 port is 1080 [1].").score == 1.0
    assert verifier.verify(f"{hourly[:-1]} [1].").score == 0.0
