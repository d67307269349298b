"""Evaluating on any documentation corpus: ``docent eval --docs DIR --questions FILE``.

A doc writer points the suite at their own folder and question set (golden format,
``eval/dev/README.md``). The folder is ingested into a data dir of its own (default
``<data_dir>/eval-corpora/<slug>``, so the product's index is never touched), reused
incrementally by the next run; runs are stored under that data dir too (``evals/``), so
the gate and the trend chart compare a corpus only with itself. ``--corpus NAME``
resolves a named development set through ``eval/dev/corpora.json``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eval import golden

if TYPE_CHECKING:
    from docent.settings import Settings

REPO = Path(__file__).resolve().parent.parent
CORPORA_FILE = Path(__file__).with_name("dev") / "corpora.json"


class CorpusError(ValueError):
    """A corpus or question set that cannot be evaluated; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class Corpus:
    """A docs folder, its question set, and the data dir it is indexed in."""

    name: str  # the slug: the data dir's folder name under eval-corpora/
    docs: Path | None  # None: evaluate the product's own index (only --questions given)
    questions: Path


def slug(text: str) -> str:
    """``My Docs/`` -> ``my-docs``: safe as one folder name."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:48] or "docs"


def folder_slug(docs: Path) -> str:
    """The folder's name and a short hash of its absolute path (two ``docs/`` folders differ)."""
    resolved = docs.resolve()
    return f"{slug(resolved.name)}-{hashlib.sha256(str(resolved).encode()).hexdigest()[:8]}"


def named(name: str, corpora_file: Path | None = None) -> Corpus:
    """A corpus listed in ``corpora.json`` (paths relative to the repository root)."""
    corpora_file = corpora_file or CORPORA_FILE
    try:
        entries: list[dict[str, Any]] = json.loads(corpora_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CorpusError(f"cannot read {corpora_file}: {exc}") from None
    known = {str(e.get("name")): e for e in entries if isinstance(e, dict)}
    if name not in known:
        raise CorpusError(f"unknown corpus {name!r}; {corpora_file} lists: {', '.join(sorted(known)) or 'none'}")
    entry = known[name]
    if "docs" not in entry or "questions" not in entry:
        raise CorpusError(f"{corpora_file}: corpus {name!r} needs docs and questions")
    # Relative paths are from the repository root; absolute ones stay as they are.
    return Corpus(slug(name), (REPO / str(entry["docs"])).resolve(), (REPO / str(entry["questions"])).resolve())


def resolve(docs: Path | None, questions: Path | None, corpus: str | None) -> Corpus | None:
    """What the CLI options ask for; None when none was given (the golden set, as before)."""
    if corpus is not None:
        if docs is not None:
            raise CorpusError("give either --corpus or --docs, not both")
        chosen = named(corpus)
        result = Corpus(chosen.name, chosen.docs, questions or chosen.questions)
    elif docs is not None:
        if questions is None:
            raise CorpusError("--docs needs --questions FILE (the question set written for that folder)")
        result = Corpus(folder_slug(docs), docs, questions)
    elif questions is not None:
        result = Corpus("", None, questions)
    else:
        return None
    check(result)
    return result


def check(corpus: Corpus) -> list[golden.GoldenItem]:
    """The corpus's questions; CorpusError for a missing folder or file, or a malformed line."""
    if corpus.docs is not None and not corpus.docs.is_dir():
        raise CorpusError(f"docs folder not found: {corpus.docs}")
    if not corpus.questions.is_file():
        raise CorpusError(f"question file not found: {corpus.questions}")
    try:
        items = golden.load(corpus.questions)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorpusError(
            f"{exc}. Each line is a JSON object with at least id and question "
            "(and reference, sources [{doc, section}], kind; see eval/dev/README.md)"
        ) from None
    if not items:
        raise CorpusError(f"{corpus.questions}: no questions")
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise CorpusError(f"{corpus.questions}: question id {item.id!r} appears twice")
        seen.add(item.id)
    return items


def corpus_settings(settings: Settings, corpus: Corpus, data_dir: Path | None = None) -> Settings:
    """``settings`` for evaluating ``corpus``: its own data dir and docs folder.

    The models folder is shared with the main data dir (a link), so the embedder's ONNX
    export and local GGUF files are not fetched again. On a Qdrant server, the corpus
    gets its own collection.
    """
    if corpus.docs is None:
        return settings
    target = (data_dir or settings.data_dir / "eval-corpora" / corpus.name).expanduser().resolve()
    target.mkdir(parents=True, exist_ok=True)
    models = target / "models"
    shared = settings.models_dir.expanduser().resolve()
    if not models.exists() and not models.is_symlink() and shared != models:
        shared.mkdir(parents=True, exist_ok=True)
        # No symlinks here (some Windows setups): the corpus gets a private models folder.
        with contextlib.suppress(OSError):
            models.symlink_to(shared, target_is_directory=True)
    update: dict[str, Any] = {"data_dir": target, "docs_dir": corpus.docs.resolve(), "database_url": None}
    if settings.resolved_index().url:
        update["index"] = settings.index.model_copy(
            update={"collection": f"{settings.index.collection}-eval-{corpus.name}"}
        )
    return settings.model_copy(update=update)


def ingest(settings: Settings, *, progress: bool = True) -> Any:
    """Bring the corpus's index up to date with its folder (incremental); the ingest summary."""
    from ingest import worker

    return worker.run(settings, settings.docs_dir, progress=progress)
