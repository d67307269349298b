"""`bench/ingest.py --corpora`: bench/formats.py's per-corpus table (chunks, plumbing, time), on our own corpora."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, write


def test_bench_ingest_corpora_prints_the_formats_table(tmp_path: Path) -> None:
    """Each corpus gets a row with its chunks and plumbing chunks; --only picks corpora; --help works."""
    corpora = tmp_path / "corpora"
    write(corpora, "docusaurus-docs/intro.mdx", "---\ntitle: Intro\n---\n\nimport Tabs from '@theme/Tabs';\n\n"
          "# Intro\n\n:::note\n\nExports run nightly.\n\n:::\n\n<CtaBox headline=\"Try it\" />\n")
    write(corpora, "zulip-help/help/streams.md", "# Streams\n\nStreams group conversations by topic.\n")
    write(corpora, "zulip-help/help/notes.txt", "Open {{ settings_url }} to change the stream's topic.\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "bench/ingest.py", "--corpora", str(corpora)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = {r["corpus"]: r for r in json.loads(proc.stdout.strip().splitlines()[-1])}
    assert set(rows) == {"docusaurus-docs", "zulip-help"}
    assert rows["docusaurus-docs"]["chunks"] >= 1 and rows["docusaurus-docs"]["plumbing_chunks"] == 0
    assert rows["zulip-help"]["plumbing_chunks"] == 1  # a plain-text page keeps its Jinja tag
    header = proc.stdout.splitlines()[0].split()
    assert header[:6] == ["corpus", "files", "docs", "fragments", "chunks", "plumbing"] and header[-1] == "s"
    only = subprocess.run([sys.executable, "bench/ingest.py", "--corpora", str(corpora), "--only", "zulip-help"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert [r["corpus"] for r in json.loads(only.stdout.strip().splitlines()[-1])] == ["zulip-help"]
    helped = subprocess.run([sys.executable, "bench/ingest.py", "--help"], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=300, check=False)
    assert helped.returncode == 0 and "--corpora" in helped.stdout and "--sections" in helped.stdout


def test_bench_ingest_corpora_embed_times_a_whole_ingest(tmp_path: Path) -> None:
    """With --embed each corpus also gets the time of a real ingest (embedding included) in a fresh index."""
    corpora = tmp_path / "corpora"
    write(corpora, "zulip-help/help/streams.md", "# Streams\n\nStreams group conversations by topic.\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "bench/ingest.py", "--corpora", str(corpora), "--embed"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads(proc.stdout.strip().splitlines()[-1])
    assert rows[0]["corpus"] == "zulip-help" and rows[0]["ingest_seconds"] > 0
    assert proc.stdout.splitlines()[0].split()[-2:] == ["ingest", "s"]
