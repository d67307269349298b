"""The benchmark corpus: a frozen copy of the docs, its chunks, queries, and a one-paragraph edit."""

from __future__ import annotations

import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from docent.schema import Chunk
from ingest.documents import Document, discover, read_all
from ingest.pipeline import chunk_document

_PROSE = re.compile(r"^[A-Za-z`\"'(]")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_FRONT_MATTER_END = re.compile(r"\A---[ \t]*\r?\n.*?\r?\n---[ \t]*\r?\n", re.S)


@dataclass(frozen=True, slots=True)
class Corpus:
    """A snapshot of the docs folder and what Docent makes of it."""

    root: Path
    files: list[Path]
    docs: list[Document]
    chunks: list[Chunk]
    words: int  # whitespace-separated words in the raw files: the same text both pipelines read

    @property
    def chunk_texts(self) -> list[str]:
        return [c.embed_text for c in self.chunks]


def snapshot(source: Path, target: Path) -> Path:
    """Copy the docs folder so edits made by others during the run cannot skew it."""
    if not source.is_dir():
        raise SystemExit(f"corpus folder {source} does not exist")
    shutil.copytree(source, target)
    return target


def load_corpus(root: Path, max_words: int, base_url: str = "/docs") -> Corpus:
    """Read and chunk the corpus exactly as an ingest with these settings would."""
    files = discover(root)
    docs = [d for d in read_all(root, base_url) if isinstance(d, Document)]
    chunks = [chunk for doc in docs for chunk in chunk_document(doc, max_words).values()]
    words = sum(len(p.read_text(encoding="utf-8", errors="replace").split()) for p in files)
    return Corpus(root, files, docs, chunks, words)


def queries_from_headings(corpus: Corpus, n: int, seed: int = 7) -> list[str]:
    """``n`` search queries: section headings of three words or more, sampled reproducibly.

    Headings are what a user would type ("Restoring to another machine"), they exist
    in any docs folder, and they are not copied from the chunk bodies verbatim.
    """
    headings = sorted({h for c in corpus.chunks for h in c.heading_path[1:] if len(h.split()) >= 3})
    if not headings:
        headings = sorted({c.title for c in corpus.chunks})
    rng = random.Random(seed)
    picked = rng.sample(headings, min(n, len(headings)))
    while len(picked) < n:  # small corpora: cycle rather than fail
        picked.append(headings[len(picked) % len(headings)])
    return picked


def largest_page(files: list[Path]) -> Path:
    """The page whose edit costs the most bookkeeping (most chunks to keep and re-label)."""
    markdown = [p for p in files if p.suffix.lower() in (".md", ".markdown")]
    if not markdown:
        raise SystemExit("the re-ingest benchmark needs at least one Markdown page")
    return max(markdown, key=lambda p: p.stat().st_size)


def edit_one_paragraph(page: Path, revision: int) -> None:
    """Append a sentence to the first prose paragraph of ``page`` (outside code fences)."""
    text = page.read_text(encoding="utf-8")
    match = _FRONT_MATTER_END.match(text)
    head, body = (text[: match.end()], text[match.end():]) if match else ("", text)
    lines = body.split("\n")
    in_fence = False
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if not in_fence and _PROSE.match(line) and len(line.split()) >= 8:
            lines[i] = f"{line} This sentence was added by the re-ingest benchmark (revision {revision})."
            page.write_text(head + "\n".join(lines), encoding="utf-8")
            return
    raise SystemExit(f"no prose paragraph to edit in {page}")
