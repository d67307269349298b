"""The grounding verifier (service/grounding.py) measured as a hallucination detector.

Two labelled sets, over the foreign development corpora of eval/dev/corpora.json:

- **planted**: generated at run time from the corpora (no corpus text is stored in the
  repository). For every dev question with a gold section, its top-k hits are retrieved
  (the sources exactly as the prompt sees them, ``source_texts(hits, max_source_chars)``),
  and one-sentence answers are made from the gold (else the top) source: correct ones
  (a verbatim sentence with its marker, and a light paraphrase made by code) and planted
  errors (a swapped number, an invented step, a fact from another page cited with this
  source's marker, the old prompt example, a UI label or setting renamed to one the
  sources lack). Deterministic (``--seed``); see bench/_planted.py.
- **real**: answers of the local model (before the verifier), read sentence by sentence
  and labelled by hand in eval/dev/grounding_labels.jsonl (sha1 of each normalised
  sentence, the label and a short note; neither answer nor doc text). The answers come
  from a cache file (``--answers``); the labels match by sha1, so a machine that
  regenerates identical answers (greedy decoding) finds every label, and one that does
  not is told how many it found. ``--make-answers`` writes that cache with the local model
  (``chat.verify`` off). An answer's sources are re-retrieved (same question, same index):
  marker ``[k]`` of the shown text is the k-th cited hit, so the verifier gets the cited
  hits first, in marker order, then the other hits.

Detectors, each flagging sentences as unsupported: the verifier at a grid of
``min_support`` values, without and with the embedding second signal (the MiniLM
embedder of the index); the Ragas faithfulness of the local judge on a subset
(``--ragas N`` real answers and ``--ragas-planted M`` planted ones; slow, about a minute
a row on 2 CPU cores); and verifier OR Ragas. Ragas splits an answer into statements of
its own: each statement is mapped to the answer sentence sharing most content words with
it, and a sentence is flagged when a statement mapped to it is judged unsupported
(planted answers are one sentence, so there the mapping is exact). Positive class =
unsupported; sentences labelled "structure" are not scored, and a sentence repeated
within one answer (a looping model) counts once.

    .venv/bin/python bench/grounding.py --data zulip-help=/tmp/qa/data_zh --data fastapi-docs=/tmp/qa/data_fa
    .venv/bin/python bench/grounding.py --ragas 12 --json data/bench/grounding-ragas.json
    .venv/bin/python bench/grounding.py --make-answers --corpora fastapi-docs --questions 16

Without ``--data NAME=DIR`` a corpus is ingested into data/bench/grounding/<name> (once).

The labelled real answers (eval/dev/grounding_labels.jsonl, 40 answers, 134 distinct
sentences) are those of the 1.5B local model (qwen2.5-coder-1.5b q4_k_m, greedy), before
the verifier: 20 zulip-help dev answers and 5 fastapi-docs dev answers (the latter from
``--make-answers --corpora fastapi-docs --questions 16``), and 15 answers to ad-hoc
Zulip questions over an index of the whole zulip-help checkout (docs root
``../shared/corpora/zulip-help``, doc paths ``help/...``), given as an extra corpus:

    .venv/bin/python bench/grounding.py --data zulip-help=DIR_ZH --data fastapi-docs=DIR_FA \
        --extra zulip-help-root=../shared/corpora/zulip-help --data zulip-help-root=DIR_ROOT

The zulip answers came from older prompts, so ``--make-answers`` today writes different
ones: the bench then reports how many labelled sentences it found (by sha1) and scores
only those; label new answers before trusting the real-answer rows.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from docent.offline import ensure_offline  # noqa: E402

ensure_offline()

import numpy as np  # noqa: E402

from docent.schema import Access, Hit  # noqa: E402
from docent.settings import ChatSettings, Settings  # noqa: E402
from eval.golden import GoldenItem, load  # noqa: E402
from service.answer import source_texts  # noqa: E402
from service.citations import MARKER, content_words, split_sentences  # noqa: E402
from service.grounding import Thresholds, Verifier  # noqa: E402

DEV_CORPORA = ROOT / "eval" / "dev" / "corpora.json"
LABELS = ROOT / "eval" / "dev" / "grounding_labels.jsonl"
ANSWERS = ROOT / "data" / "bench" / "grounding_answers.jsonl"
DATA = ROOT / "data" / "bench" / "grounding"
GRID = (0.6, 0.67, 0.75, 0.85)


@dataclass(frozen=True, slots=True)
class Corpus:
    name: str
    docs: Path
    questions: Path | None  # None: an extra corpus (real answers only; each carries its question)


def corpora(names: Sequence[str] | None, extra: Sequence[str] = ()) -> list[Corpus]:
    """The dev corpora of eval/dev/corpora.json (those in ``names``), then ``NAME=DOCS`` extras."""
    entries = json.loads(DEV_CORPORA.read_text(encoding="utf-8"))
    out = [Corpus(str(e["name"]), (ROOT / e["docs"]).resolve(), ROOT / e["questions"]) for e in entries]
    out = [c for c in out if not names or c.name in names]
    for spec in extra:
        name, docs = spec.split("=", 1)
        out.append(Corpus(name, (ROOT / docs).resolve(), None))
    return out


def normal_sentence(sentence: str) -> str:
    """What a label's sha1 is taken of: the sentence with its whitespace collapsed (markers kept)."""
    return " ".join(sentence.split())


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- the index


def _chat_update() -> dict[str, Any]:
    """Answer as the model writes, unverified (fields that do not exist in this checkout are skipped)."""
    wanted: dict[str, Any] = {"verify": False, "answer_mode": "generative"}
    return {k: v for k, v in wanted.items() if k in ChatSettings.model_fields}


def open_runtime(corpus: Corpus, data: Path) -> Any:
    """A Runtime over ``data`` (ingesting ``corpus.docs`` there first if it holds no index)."""
    from ingest import worker
    from service.runtime import Runtime

    settings = Settings(_env_file=None, data_dir=data, docs_dir=corpus.docs, watch=False)
    settings = settings.model_copy(update={"chat": settings.chat.model_copy(update=_chat_update())})
    if not (data / "index" / "ACTIVE").exists():
        print(f"[{corpus.name}] ingesting {corpus.docs} into {data} (once)", file=sys.stderr, flush=True)
        data.mkdir(parents=True, exist_ok=True)
        worker.run(settings, corpus.docs, progress=False)
    return Runtime.build(settings, start_watcher=False)


def retrieve(rt: Any, question: str) -> list[Hit]:
    chat = rt.settings.chat
    hits: list[Hit] = rt.retriever.search(question, Access.public(), chat.top_k).hits
    return hits


def sources_of(rt: Any, hits: list[Hit]) -> list[str]:
    return source_texts(hits, rt.settings.chat.max_source_chars)


def hit_key(hit: Hit) -> tuple[str, str]:
    return hit.doc_path, " > ".join(hit.payload.get("heading_path") or [])


# --------------------------------------------------------------------------- --make-answers


def make_answers(args: argparse.Namespace) -> int:
    """Answer dev questions with the local model (verifier off) and append them to ``args.answers``."""
    out: Path = args.answers
    out.parent.mkdir(parents=True, exist_ok=True)
    done = {(r["corpus"], r["id"]) for r in read_jsonl(out)} if out.exists() else set()
    with out.open("a", encoding="utf-8") as sink:
        for corpus in corpora(args.corpora):
            if corpus.questions is None:
                continue
            rt = open_runtime(corpus, data_dir(args, corpus))
            try:
                items = [i for i in load(corpus.questions) if i.sources][: args.questions]
                for item in items:
                    if (corpus.name, item.id) in done:
                        continue
                    t0 = time.perf_counter()
                    res = asyncio.run(rt.answerer.answer(item.question, [], Access.public()))
                    row = {"corpus": corpus.name, "id": item.id, "q": item.question, "text": res.text,
                           "answerable": res.answerable, "reason": res.abstain_reason,
                           "cited": [c.chunk_id for c in res.citations],
                           "cites": [[c.doc_path, " > ".join(c.heading_path), c.snippet[:400]] for c in res.citations],
                           "top": [list(hit_key(h)) for h in res.retrieval.hits],
                           "s": round(time.perf_counter() - t0, 1)}
                    sink.write(json.dumps(row) + "\n")
                    sink.flush()
                    print(f"[{corpus.name}] {item.id} {row['s']}s answerable={res.answerable} {res.abstain_reason}",
                          file=sys.stderr, flush=True)
            finally:
                rt.close()
    return 0


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def data_dir(args: argparse.Namespace, corpus: Corpus) -> Path:
    given = dict(d.split("=", 1) for d in args.data or [])
    return Path(given[corpus.name]) if corpus.name in given else DATA / corpus.name


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", nargs="*", help="dev corpora to use (default: all in eval/dev/corpora.json)")
    parser.add_argument("--data", action="append", metavar="NAME=DIR",
                        help="an existing data dir (index) for a corpus; default data/bench/grounding/NAME")
    parser.add_argument("--extra", action="append", metavar="NAME=DOCS",
                        help="an extra corpus (docs root from the repo root) for real answers only: "
                             "its answers carry their question ('q'); give its index with --data")
    parser.add_argument("--answers", type=Path, default=ANSWERS, help=f"answer cache (default {ANSWERS})")
    parser.add_argument("--labels", type=Path, default=LABELS, help=f"sentence labels (default {LABELS})")
    parser.add_argument("--make-answers", action="store_true",
                        help="generate answers with the local model (chat.verify off) into --answers, then exit")
    parser.add_argument("--questions", type=int, default=20, help="with --make-answers: in-scope questions per corpus")
    parser.add_argument("--seed", type=int, default=13, help="planted set seed")
    parser.add_argument("--ragas", type=int, default=0, help="real answers scored by the local Ragas judge")
    parser.add_argument("--ragas-planted", type=int, default=None,
                        help="planted answers scored by Ragas (default: --ragas)")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument("--show", action="store_true", help="print each real sentence with its label and verdicts")
    args = parser.parse_args(argv)
    if args.make_answers:
        return make_answers(args)
    return run(args)


@dataclass(slots=True)
class Row:
    """One answer to check: its text, the question, the sources in marker order, the labels."""

    set: str  # planted | real
    corpus: str
    qid: str
    question: str
    text: str
    sources: list[str]
    labels: list[str | None]  # per split sentence: supported / unsupported / structure / None (unlabelled)
    kind: str = ""  # the planted kind
    flags: dict[str, list[bool]] = field(default_factory=dict)  # detector -> per sentence
    ms: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Detector:
    name: str
    thresholds: Thresholds
    embed: bool


def detectors() -> list[Detector]:
    base = Thresholds()
    out = []
    for embed in (False, True):
        for s in GRID:
            tag = " (default)" if s == base.min_support else ""
            name = f"verifier s={s:g}{' +emb' if embed else ''}{tag}"
            out.append(Detector(name, Thresholds(s, min(base.borderline_support, s), base.min_similarity), embed))
    return out


DEFAULT = "verifier s=0.75 (default)"
DEFAULT_EMB = "verifier s=0.75 +emb (default)"


def gold_index(item: GoldenItem, hits: list[Hit]) -> int:
    """1-based marker of the gold section among the hits (else the gold page, else the top hit)."""
    for want_section in (True, False):
        for i, hit in enumerate(hits, start=1):
            path = list(hit.payload.get("heading_path") or [])
            for src in item.sources:
                if hit.doc_path == src.doc and (not want_section or src.section in path):
                    return i
    return 1


def planted_rows(corpus: Corpus, rt: Any, seed: int) -> list[Row]:
    from bench._planted import plant, prose_sentences, ui_labels

    if corpus.questions is None:
        return []
    items = [i for i in load(corpus.questions) if i.sources]
    prepared = []
    for item in items:
        hits = retrieve(rt, item.question)
        if hits:
            prepared.append((item, hits, sources_of(rt, hits), gold_index(item, hits)))
    chosen = sorted({(hits[n - 1].doc_path, src[n - 1]) for _, hits, src, n in prepared})
    foreign_all = [(doc, s) for doc, text in chosen for s in prose_sentences(text)]
    label_pool = sorted({lab for _, text in chosen for lab in ui_labels(text)})
    rows = []
    for item, hits, sources, n in prepared:
        docs = {h.doc_path for h in hits}
        foreign = [s for doc, s in foreign_all if doc not in docs]
        for p in plant(item.id, seed, sources, n, foreign, label_pool):
            rows.append(Row("planted", corpus.name, item.id, item.question, p.text, sources, [p.label], p.kind))
    return rows


def _cited_order(row: dict[str, Any], hits: list[Hit]) -> list[int] | None:
    """0-based hit indices in marker order: from ``cited`` (chunk ids) or ``cites`` (doc, heading, snippet)."""
    if "cited" in row:
        ids = [h.chunk_id for h in hits]
        return [ids.index(c) for c in row["cited"]] if all(c in ids for c in row["cited"]) else None
    out = []
    for cite in row.get("cites", []):
        doc, heading = cite[0], cite[1]
        snippet = cite[2] if len(cite) > 2 else ""
        match = [i for i, h in enumerate(hits) if h.doc_path == doc and h.text.startswith(snippet)
                 and (snippet or hit_key(h)[1] == heading)]
        if not match or (not snippet and len(match) > 1):  # none, or several chunks it may be
            return None
        out.append(next((i for i in match if i not in out), match[0]))
    return list(dict.fromkeys(out))


def real_rows(corpus: Corpus, rt: Any, answers: list[dict[str, Any]], labels: dict[tuple[str, str], dict[str, str]],
              notes: list[str]) -> list[Row]:
    questions = {i.id: i.question for i in load(corpus.questions)} if corpus.questions else {}
    rows = []
    for a in answers:
        if a["corpus"] != corpus.name:
            continue
        question = a.get("q") or questions[a["id"]]
        hits = retrieve(rt, question)
        if "top" in a and [k[0] for k in a["top"]] != [h.doc_path for h in hits][: len(a["top"])]:
            notes.append(f"{corpus.name} {a['id']}: re-retrieved hits differ from the answer's; skipped")
            continue
        order = _cited_order(a, hits)
        if order is None:
            notes.append(f"{corpus.name} {a['id']}: its citations are not (unambiguously) among the re-retrieved "
                         "hits; skipped")
            continue
        texts = sources_of(rt, hits)
        ordered = [texts[i] for i in order] + [t for i, t in enumerate(texts) if i not in order]
        known = labels.get((corpus.name, a["id"]), {})
        sentence_labels = [known.get(sha1(normal_sentence(s))) for s in split_sentences(a["text"])]
        rows.append(Row("real", corpus.name, a["id"], question, a["text"], ordered, sentence_labels))
    return rows


def run_verifiers(rows: list[Row], embed: Callable[[list[str]], np.ndarray]) -> None:
    """Every detector on every row; one Verifier per row and detector (its source vectors are its own)."""
    for row in rows:
        sentences = split_sentences(row.text)
        for det in detectors():
            t0 = time.perf_counter()
            verifier = Verifier(row.sources, thresholds=det.thresholds, embed=embed if det.embed else None)
            verdicts = verifier.verify(row.text)
            row.ms[det.name] = (time.perf_counter() - t0) * 1000
            flagged = {c.text: not c.supported for c in verdicts.claims}
            row.flags[det.name] = [flagged.get(s, False) for s in sentences]


def _words(text: str) -> set[str]:
    return set(content_words(MARKER.sub("", text)))


def run_ragas(rows: list[Row], settings: Settings, notes: list[str]) -> None:
    """The local judge's Ragas faithfulness; statements mapped to the sentence sharing most words."""
    from eval.faithfulness import score_faithfulness
    from eval.judge import build_judge
    from eval.settings import EvalSettings

    ev = EvalSettings()
    judge = build_judge(ev.judge_llm(settings.resolved_llm()), settings.models_dir, None,
                        json_mode=ev.judge_json_mode, plugins=settings.plugins)
    for k, row in enumerate(rows, start=1):
        sentences = split_sentences(row.text)
        t0 = time.perf_counter()
        try:
            result = asyncio.run(score_faithfulness(judge.llm, row.question, row.text, row.sources))
        except Exception as exc:  # a judge failure is reported, not fatal
            notes.append(f"ragas failed on {row.set} {row.corpus} {row.qid}: {type(exc).__name__}: {exc}"[:300])
            continue
        row.ms["ragas"] = (time.perf_counter() - t0) * 1000
        flags = [False] * len(sentences)
        words = [_words(s) for s in sentences]
        for claim in result.claims:
            if claim.supported or not sentences:
                continue
            sw = _words(claim.statement)
            best = max(range(len(sentences)), key=lambda i: (len(sw & words[i]), -i))
            flags[best] = True
        row.flags["ragas"] = flags
        print(f"  ragas {k}/{len(rows)} {row.set} {row.qid} {row.ms['ragas'] / 1000:.0f}s score={result.score}",
              file=sys.stderr, flush=True)
    for row in rows:
        if "ragas" in row.flags:
            base = row.flags[DEFAULT_EMB]
            row.flags["ragas OR verifier +emb"] = [a or b for a, b in zip(row.flags["ragas"], base, strict=True)]


@dataclass(slots=True)
class Score:
    rows: int = 0
    n: int = 0
    pos: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    ms: list[float] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else None
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else None
        f1 = 2 * p * r / (p + r) if p is not None and r is not None and p + r else None
        return {"rows": self.rows, "sentences": self.n, "unsupported": self.pos, "tp": self.tp, "fp": self.fp,
                "fn": self.fn, "precision": p, "recall": r, "f1": f1,
                "ms_per_row": statistics.mean(self.ms) if self.ms else None}


def score(rows: Iterable[Row], name: str, kind: str | None = None) -> Score:
    out = Score()
    for row in rows:
        if name not in row.flags or (kind and row.kind != kind):
            continue
        keys = [sha1(normal_sentence(x)) for x in split_sentences(row.text)]
        first = [i == keys.index(k) for i, k in enumerate(keys)]  # a sentence repeated in one answer counts once
        pairs = [(lab, f) for lab, f, once in zip(row.labels, row.flags[name], first, strict=True)
                 if once and lab in ("supported", "unsupported")]
        if not pairs:
            continue
        out.rows += 1
        out.ms.append(row.ms.get("ragas" if name.startswith("ragas") else name, 0.0))
        for lab, flagged in pairs:
            bad = lab == "unsupported"
            out.n += 1
            out.pos += bad
            out.tp += bad and flagged
            out.fp += (not bad) and flagged
            out.fn += bad and not flagged
    return out


def _fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def report(rows: list[Row], names: list[str]) -> dict[str, Any]:
    sets = sorted({(r.set, r.corpus) for r in rows})
    groups = [(s, c) for s, c in sets] + [(s, "all") for s in sorted({r.set for r in rows})]
    figures: dict[str, Any] = {}
    header = f"{'set':8} {'corpus':13} {'detector':32} {'rows':>4} {'sent':>5} {'unsup':>5} " \
             f"{'tp':>4} {'fp':>4} {'fn':>4} {'P':>5} {'R':>5} {'F1':>5} {'ms/row':>8}"
    print(header)
    print("-" * len(header))
    for s, c in groups:
        subset = [r for r in rows if r.set == s and (c == "all" or r.corpus == c)]
        for name in names:
            sc = score(subset, name)
            if not sc.rows:
                continue
            fig = sc.figures()
            figures[f"{s}/{c}/{name}"] = fig
            print(f"{s:8} {c:13} {name:32} {fig['rows']:>4} {fig['sentences']:>5} {fig['unsupported']:>5} "
                  f"{fig['tp']:>4} {fig['fp']:>4} {fig['fn']:>4} {_fmt(fig['precision']):>5} "
                  f"{_fmt(fig['recall']):>5} {_fmt(fig['f1']):>5} {_fmt(fig['ms_per_row'], 1):>8}")
        print()
    planted = [r for r in rows if r.set == "planted"]
    if planted:
        from bench._planted import SUPPORTED, UNSUPPORTED

        shown = [DEFAULT, DEFAULT_EMB, "verifier s=0.6 +emb", "verifier s=0.85 +emb", "ragas"]
        print("planted, share flagged per kind (supported kinds: false-positive rate; others: recall)")
        print(f"{'kind':16} {'n':>4} " + " ".join(f"{n[:24]:>24}" for n in shown))
        for kind in (*SUPPORTED, *UNSUPPORTED):
            cells = []
            total = sum(1 for r in planted if r.kind == kind)
            for name in shown:
                sc = score(planted, name, kind)
                share = (sc.tp + sc.fp) / sc.n if sc.n else None
                cells.append(f"{_fmt(share):>24}" if sc.n else f"{'-':>24}")
                figures[f"planted/kind/{kind}/{name}"] = {"n": sc.n, "flagged_share": share}
            print(f"{kind:16} {total:>4} " + " ".join(cells))
        print()
    return figures


def load_labels(path: Path) -> tuple[dict[tuple[str, str], dict[str, str]], int]:
    """(corpus, id) -> sentence sha1 -> label, and how many labelled sentences there are."""
    out: dict[tuple[str, str], dict[str, str]] = {}
    total = 0
    if not path.exists():
        return out, 0
    for row in read_jsonl(path):
        for s in row["sentences"]:
            out.setdefault((row["corpus"], row["id"]), {})[s["sha1"]] = s["label"]
            total += 1
    return out, total


def run(args: argparse.Namespace) -> int:
    t_start = time.perf_counter()
    labels, n_labels = load_labels(args.labels)
    answers = read_jsonl(args.answers) if args.answers.exists() else []
    if not answers:
        print(f"no answer cache at {args.answers}: only the planted set is measured "
              "(make one with --make-answers)", file=sys.stderr)
    notes: list[str] = []
    rows: list[Row] = []
    settings: Settings | None = None
    for corpus in corpora(args.corpora, args.extra or []):
        rt = open_runtime(corpus, data_dir(args, corpus))
        settings = settings or rt.settings
        try:
            def embed(texts: list[str], _rt: Any = rt) -> np.ndarray:
                return np.asarray(_rt.embedder.embed_documents(texts), dtype=np.float32)

            t0 = time.perf_counter()
            planted = planted_rows(corpus, rt, args.seed)
            real = real_rows(corpus, rt, answers, labels, notes)
            print(f"[{corpus.name}] {len(planted)} planted, {len(real)} real answers "
                  f"({time.perf_counter() - t0:.0f}s to retrieve)", file=sys.stderr, flush=True)
            run_verifiers(planted + real, embed)
            rows += planted + real
        finally:
            rt.close()
    real_all = [r for r in rows if r.set == "real"]
    found = sum(len({sha1(normal_sentence(x)) for x, lab in zip(split_sentences(r.text), r.labels, strict=True)
                     if lab is not None}) for r in real_all)
    exact = sum(1 for r in real_all if all(lab is not None for lab in r.labels))
    names = [d.name for d in detectors()]
    if (args.ragas or args.ragas_planted) and settings is not None:
        n_planted = args.ragas if args.ragas_planted is None else args.ragas_planted
        chosen = ragas_subset(real_all, args.ragas) + ragas_subset([r for r in rows if r.set == "planted"], n_planted)
        print(f"ragas on {len(chosen)} rows", file=sys.stderr, flush=True)
        run_ragas(chosen, settings, notes)
        names += ["ragas", "ragas OR verifier +emb"]
        # the verifier on exactly the Ragas rows, for a like-for-like comparison
        for r in chosen:
            if "ragas" in r.flags:
                r.flags["verifier +emb, ragas rows"] = r.flags[DEFAULT_EMB]
                r.ms["verifier +emb, ragas rows"] = r.ms[DEFAULT_EMB]
        names.append("verifier +emb, ragas rows")
    print()
    figures = report(rows, names)
    structure = [(f1, f2) for r in real_all for lab, f1, f2 in zip(r.labels, r.flags[DEFAULT], r.flags[DEFAULT_EMB],
                                                                  strict=True) if lab == "structure"]
    print(f"structure lines (not scored) flagged: {sum(a for a, _ in structure)}/{len(structure)} by {DEFAULT}, "
          f"{sum(b for _, b in structure)}/{len(structure)} by {DEFAULT_EMB}")
    verifier_sha = sha1((ROOT / "service" / "grounding.py").read_text(encoding="utf-8"))[:12]
    print(f"service/grounding.py sha1 {verifier_sha}; planted seed {args.seed}")
    print(f"labels: {n_labels} labelled sentences in {args.labels.name}; {found} found in {len(real_all)} real answers "
          f"({exact} answers with every sentence labelled)")
    for note in notes:
        print("note:", note)
    if args.show:
        show(real_all)
    print(f"took {time.perf_counter() - t_start:.0f}s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"figures": figures, "labels_found": found, "labels_total": n_labels,
                                         "notes": notes, "seed": args.seed, "verifier_sha1": verifier_sha},
                                        indent=1), encoding="utf-8")
    return 0


def ragas_subset(rows: list[Row], n: int) -> list[Row]:
    """``n`` rows, spread over corpora and (planted) kinds, deterministically."""
    if n <= 0:
        return []
    buckets: dict[tuple[str, str], list[Row]] = {}
    for r in rows:
        if any(lab in ("supported", "unsupported") for lab in r.labels):
            buckets.setdefault((r.corpus, r.kind), []).append(r)
    out: list[Row] = []
    queues = [buckets[k] for k in sorted(buckets)]
    while len(out) < n and any(queues):
        for q in queues:
            if q and len(out) < n:
                out.append(q.pop(0))
    return out


def show(rows: list[Row]) -> None:
    """Every real sentence with its label and the default verdicts (for reading disagreements)."""
    for row in rows:
        print(f"\n== {row.corpus} {row.qid} {sha1(row.text)[:8]}")
        for i, s in enumerate(split_sentences(row.text)):
            flags = "".join("F" if row.flags[n][i] else "." for n in (DEFAULT, DEFAULT_EMB))
            print(f"  {row.labels[i] or '?':12} {flags} {sha1(normal_sentence(s))[:10]} {s[:160]}")


if __name__ == "__main__":
    raise SystemExit(main())
