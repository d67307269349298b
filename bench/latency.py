"""Time to first useful response: a real `docent serve`, streaming, on foreign corpora.

Three parts, one run, every figure a median and p95 (nearest rank) over the questions:

1. **Latency** (``--modes``, ``--users``, ``--variant``): for each corpus of
   ``eval/dev/corpora.json`` (read in place from ``../shared/corpora``), a server with the
   default local model answers in-scope development questions over SSE, with the answer
   cache off so every question pays its real cost. Timed from the request: the ``sources``
   event, the first ``delta``, and ``final``. ``--users 4`` sends four questions at once
   (each user's own timings). A variant is a label and ``DOCENT_*`` settings
   (``--variant before:DOCENT_CHAT__PROMPT_TOKEN_BUDGET=0``): before/after figures of one
   change come from the same run on the same machine. Every answer is written to
   ``--answers-out`` (JSON lines) to be read against its sources.
2. **Cache** (``--cache``): the scripted ``docent-fake/echo-cite`` model (the cache's cost
   does not depend on the model), the cache on. The development questions are asked once
   (filling the cache), then replayed mixed 50/50 with paraphrases and followed by the
   near-miss questions of ``eval/dev/cache_pairs.jsonl``: hit rate, hit latency (time to
   ``final`` of a ``cached: true`` answer) and false hits (a near miss served from the cache).
3. **Two workers and Redis** (``--redis``): two servers over two identically ingested data
   dirs (the embedded store is single-process, so each replica has its own copy, as read
   replicas would) sharing one ``redis-server``: questions asked on one are replayed on the
   other, which must serve them from the shared cache.

    .venv/bin/python bench/latency.py [--corpora zulip-help fastapi-docs] [--questions 6]
        [--modes extractive generative] [--users 1 4] [--variant NAME:K=V,K=V ...]
        [--cache] [--redis] [--answers-out FILE] [--skip-latency]

Tables go to stdout, then one JSON line with every figure.
"""
# ruff: noqa: E402 - the path fix must run before the bench imports

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == _ROOT / "bench":
    sys.path[0] = str(_ROOT)

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from bench._service import machine, pct, serve

LOCAL_MODEL = "docent-local/qwen2.5-coder-1.5b"
FAKE_MODEL = "docent-fake/echo-cite"


@dataclass
class Timing:
    """One streamed answer, timed from the request (seconds; None: the event never came)."""

    question: str
    sources_s: float | None = None
    first_delta_s: float | None = None
    final_s: float | None = None
    answerable: bool = False
    cached: bool = False
    abstain_reason: str | None = None
    answer: str = ""
    citations: list[dict[str, Any]] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


def corpora(names: list[str]) -> list[dict[str, str]]:
    known = {c["name"]: c for c in json.loads((_ROOT / "eval/dev/corpora.json").read_text())}
    missing = [n for n in names if n not in known]
    if missing:
        raise SystemExit(f"unknown corpus {missing}; known: {sorted(known)}")
    out = []
    for name in names:
        entry = dict(known[name])
        docs = (_ROOT / entry["docs"]).resolve()
        if not docs.is_dir():
            raise SystemExit(f"{name}: {docs} is missing (../shared/corpora is read in place)")
        entry["docs"] = str(docs)
        out.append(entry)
    return out


def questions(path: str, n: int, *, in_scope: bool = True) -> list[str]:
    rows = [json.loads(line) for line in (_ROOT / path).read_text().splitlines() if line.strip()]
    rows = [r for r in rows
            if (r.get("kind") != "unanswerable") == in_scope and r.get("visibility", "public") == "public"]
    return [r["question"] for r in rows[:n]]


@contextlib.contextmanager
def ingested(docs: str) -> Iterator[Path]:
    """A fresh data dir with ``docs`` ingested (models linked from the checkout's data dir)."""
    data = Path(tempfile.mkdtemp(prefix="docent-latency-"))
    try:
        if (_ROOT / "data" / "models").exists():
            (data / "models").symlink_to(_ROOT / "data" / "models", target_is_directory=True)
        subprocess.run([sys.executable, "-m", "entrypoints.cli", "ingest", "-q"], cwd=_ROOT, check=True,
                       env={**os.environ, "DOCENT_DATA_DIR": str(data), "DOCENT_DOCS_DIR": docs},
                       stdout=subprocess.DEVNULL)
        yield data
    finally:
        shutil.rmtree(data, ignore_errors=True)


def clone(data: Path) -> Path:
    """A second data dir with the same index (a replica): copied, not re-ingested."""
    copy = Path(tempfile.mkdtemp(prefix="docent-replica-"))
    shutil.rmtree(copy)
    shutil.copytree(data, copy, symlinks=True, ignore=shutil.ignore_patterns(".lock", "*.db", "serve-*.log"))
    return copy


async def ask(client: httpx.AsyncClient, question: str) -> Timing:
    """One streamed /v1/chat question, timed event by event."""
    t = Timing(question)
    t0 = time.perf_counter()
    try:
        async with client.stream("POST", "/v1/chat", json={"message": question, "stream": True}) as resp:
            if resp.status_code != 200:
                t.error = f"HTTP {resp.status_code}: {(await resp.aread())[:200]!r}"
                return t
            event = ""
            async for line in resp.aiter_lines():
                if line.startswith("event: "):
                    event = line[7:].strip()
                    continue
                if not line.startswith("data: "):
                    continue
                now = time.perf_counter() - t0
                data = json.loads(line[6:])
                if event == "sources" and t.sources_s is None:
                    t.sources_s = now
                    t.sources = data.get("sources", data) if isinstance(data, dict) else data
                elif event == "delta" and t.first_delta_s is None:
                    t.first_delta_s = now
                elif event == "final":
                    t.final_s = now
                    t.answerable = bool(data.get("answerable"))
                    t.cached = bool(data.get("cached"))
                    t.abstain_reason = data.get("abstain_reason")
                    t.answer = data.get("answer", "")
                    t.citations = [{k: c.get(k) for k in ("marker", "doc_path", "heading_path", "snippet")}
                                   for c in data.get("citations", [])]
                elif event == "error":
                    t.error = str(data)
    except httpx.HTTPError as exc:
        t.error = f"{type(exc).__name__}: {exc}"
    return t


async def run_users(base: str, qs: list[str], users: int) -> list[Timing]:
    """``users`` clients at once, each taking the next question until none is left."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for q in qs:
        queue.put_nowait(q)
    out: list[Timing] = []

    async def user() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=600) as client:
            while not queue.empty():
                out.append(await ask(client, queue.get_nowait()))

    await asyncio.gather(*(user() for _ in range(users)))
    return out


def summary(ts: list[Timing]) -> dict[str, Any]:
    def stats(values: list[float | None]) -> dict[str, float | None]:
        vals = [v for v in values if v is not None]
        if not vals:
            return {"p50": None, "p95": None}
        return {"p50": round(statistics.median(vals), 3), "p95": round(pct(vals, 0.95), 3)}

    answered = [t for t in ts if t.answerable]
    return {"n": len(ts), "answered": len(answered), "errors": sum(t.error is not None for t in ts),
            "sources_s": stats([t.sources_s for t in ts]),
            "first_delta_s": stats([t.first_delta_s for t in answered]),
            "final_s": stats([t.final_s for t in ts])}


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
    name, _, pairs = text.partition(":")
    env = dict(p.split("=", 1) for p in pairs.split(",") if p)
    return name or "default", env


def latency(corpus: dict[str, str], data: Path, args: argparse.Namespace, out: dict[str, Any], log: Any) -> None:
    qs = questions(corpus["questions"], args.questions)
    for variant in args.variant or ["after:"]:
        name, env = parse_variant(variant)
        for mode in args.modes:
            server_env = {"DOCENT_CHAT__ANSWER_MODE": mode, "DOCENT_CACHE__ENABLED": "false",
                          "DOCENT_DOCS_DIR": corpus["docs"], **env}
            with serve(data, args.model, server_env, settle_s=2.0) as srv:
                # The first question after a restart (the model is warmed in the background at start-up).
                first = asyncio.run(run_users(srv.base, qs[-1:], 1))[0]
                out[f"{corpus['name']}/{name}/{mode}/first_after_start_s"] = first.final_s
                for users in args.users:
                    ts = asyncio.run(run_users(srv.base, qs[:-1] if users == 1 else qs, users))
                    key = f"{corpus['name']}/{name}/{mode}/{users}u"
                    out[key] = summary(ts)
                    print(f"{key:44} " + fmt(out[key]), flush=True)
                    for t in ts:
                        log.write(json.dumps({"corpus": corpus["name"], "variant": name, "mode": mode,
                                              "users": users, **asdict(t)}) + "\n")


def fmt(s: dict[str, Any]) -> str:
    def pair(k: str) -> str:
        v = s[k]
        return f"{v['p50']}/{v['p95']}" if v["p50"] is not None else "-"
    return (f"n={s['n']:2} answered={s['answered']:2} err={s['errors']} sources {pair('sources_s'):>13}  "
            f"first delta {pair('first_delta_s'):>13}  final {pair('final_s'):>13}")


def cache_pairs(corpus: str) -> list[dict[str, Any]]:
    path = _ROOT / "eval/dev/cache_pairs.jsonl"
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if r.get("set") == corpus]


def cache_replay(base_fill: str, base_ask: str, corpus: dict[str, str], n: int) -> dict[str, Any]:
    """Fill the cache through ``base_fill``, replay through ``base_ask``: hit rate, hit latency, false hits."""
    pairs = cache_pairs(corpus["name"])
    originals = questions(corpus["questions"], n)
    paraphrases = [(p["a"], p["b"]) for p in pairs if p["same"]]
    near_misses = [(p["a"], p["b"]) for p in pairs if not p["same"]]
    fill = list(dict.fromkeys(originals + [a for a, _ in paraphrases + near_misses]))
    filled = asyncio.run(run_users(base_fill, fill, 1))
    stored = {t.question for t in filled if t.answerable}
    rng = random.Random(7)
    replay = [(q, "repeat") for q in originals if q in stored]
    para = [(b, "paraphrase") for a, b in paraphrases if a in stored]
    replay = replay[: max(len(para), 1)] + para  # 50/50 repeats and paraphrases
    rng.shuffle(replay)
    near = [(b, "near_miss") for a, b in near_misses if a in stored]
    got = {}
    for q, kind in replay + near:
        got[(q, kind)] = asyncio.run(run_users(base_ask, [q], 1))[0]
    hits = [t for (q, k), t in got.items() if k != "near_miss" and t.cached]
    offered = [t for (q, k), t in got.items() if k != "near_miss"]
    false_hits = [q for (q, k), t in got.items() if k == "near_miss" and t.cached]
    para_hits = sum(t.cached for (q, k), t in got.items() if k == "paraphrase")
    lat = [t.final_s * 1000 for t in hits if t.final_s is not None]
    return {"stored": len(stored), "replayed": len(offered), "hit_rate": round(len(hits) / max(len(offered), 1), 3),
            "paraphrase_hits": f"{para_hits}/{len(para)}",
            "hit_ms": {"p50": round(statistics.median(lat), 1) if lat else None,
                       "p95": round(pct(lat, 0.95), 1) if lat else None},
            "near_misses": len(near), "false_hits": len(false_hits), "false_hit_questions": false_hits}


def cache_part(corpus: dict[str, str], data: Path, args: argparse.Namespace, out: dict[str, Any]) -> None:
    env = {"DOCENT_CACHE__ENABLED": "true", "DOCENT_DOCS_DIR": corpus["docs"]}
    for db in data.glob("answer_cache.db*"):
        db.unlink()  # start empty
    with serve(data, FAKE_MODEL, env, settle_s=2.0) as srv:
        key = f"{corpus['name']}/cache/sqlite/1 worker"
        out[key] = cache_replay(srv.base, srv.base, corpus, args.cache_questions)
        print(f"{key:44} {out[key]}", flush=True)
    if not args.redis:
        return
    from tests.redis_server import running_redis

    with contextlib.ExitStack() as stack:
        redis = stack.enter_context(running_redis(Path(tempfile.mkdtemp(prefix="docent-redis-"))))
        replica = clone(data)
        stack.callback(shutil.rmtree, replica, True)
        env = {**env, "DOCENT_REDIS_URL": redis.url}
        a = stack.enter_context(serve(data, FAKE_MODEL, env, settle_s=2.0))
        b = stack.enter_context(serve(replica, FAKE_MODEL, env, settle_s=2.0))
        key = f"{corpus['name']}/cache/redis/2 workers"
        out[key] = cache_replay(a.base, b.base, corpus, args.cache_questions)
        print(f"{key:44} {out[key]}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpora", nargs="+", default=["zulip-help", "fastapi-docs"])
    ap.add_argument("--questions", type=int, default=6, help="in-scope questions per corpus (latency part)")
    ap.add_argument("--modes", nargs="+", default=["extractive", "generative"], choices=["extractive", "generative"])
    ap.add_argument("--users", nargs="+", type=int, default=[1, 4])
    ap.add_argument("--variant", action="append", help="NAME:DOCENT_X=1,DOCENT_Y=2 (repeatable; default 'after:')")
    ap.add_argument("--model", default=LOCAL_MODEL)
    ap.add_argument("--cache", action="store_true", help="also the cache replay (fake model)")
    ap.add_argument("--cache-questions", type=int, default=20)
    ap.add_argument("--redis", action="store_true", help="also two workers sharing a redis-server")
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--answers-out", default="latency-answers.jsonl")
    args = ap.parse_args()
    out: dict[str, Any] = {"machine": machine()}
    chosen = corpora(args.corpora)
    with open(args.answers_out, "w", encoding="utf-8") as log:
        for corpus in chosen:
            t0 = time.perf_counter()
            with ingested(corpus["docs"]) as data:
                out[f"{corpus['name']}/ingest_s"] = round(time.perf_counter() - t0, 1)
                if not args.skip_latency:
                    latency(corpus, data, args, out, log)
                if args.cache or args.redis:
                    cache_part(corpus, data, args, out)
    out["machine_after"] = machine()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
