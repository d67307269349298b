"""The expensive objects a running service holds, built once in the lifespan."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from docent import plugins
from docent.embedder import Embedder, build_embedder
from docent.index import IndexStore, open_store
from docent.index.resilient import ResilientStore
from docent.settings import Settings
from docent.sparse import Bm25Encoder
from ingest.visibility import VisibilityPolicy
from service.answerer import Answerer
from service.conversations import ConversationStore
from service.extractive import resolve_mode
from service.ingest_jobs import IngestJobs
from service.llm.chat_model import RouterChatModel
from service.llm.chat_types import ChatModel
from service.rate_limit import FailedAuthThrottle, SlidingWindowLimiter
from service.rerank import LLMReranker
from service.retrieval import Reranker, Retriever
from service.widget_tokens import WidgetGuard

if TYPE_CHECKING:
    from ingest.pipeline import IngestSummary

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Runtime:
    """Store, embedder, retriever, model, conversations and (embedded mode) the docs watcher."""

    settings: Settings
    store: IndexStore
    embedder: Embedder
    retriever: Retriever
    model: ChatModel
    conversations: ConversationStore
    reranker: Reranker | None = None
    watcher: Any = None  # ingest.worker.Watcher when the server hosts ingestion
    # Called after each hosted ingest that changed docs (the eval trigger, wired by entrypoints/asgi.py).
    on_ingest_change: Callable[[dict[str, Any], Runtime], object] | None = None
    _threads: list[threading.Thread] = field(default_factory=list)
    _ingest_lock: threading.Lock = field(default_factory=threading.Lock)
    # Per-process guards and jobs, built on first use (so settings adjusted before the first
    # request apply) and then kept for the runtime's life: counters, the widget secret.
    _staff_limiter: SlidingWindowLimiter | None = None
    _auth_failures: FailedAuthThrottle | None = None
    _widget_guard: WidgetGuard | None = None
    _ingest_jobs: IngestJobs | None = None
    _lazy_lock: threading.Lock = field(default_factory=threading.Lock)
    _owns_store: bool = True  # False for a store handed to ``build`` (the caller closes it)

    @property
    def staff_limiter(self) -> SlidingWindowLimiter:
        """Requests per minute for each staff key."""
        with self._lazy_lock:
            if self._staff_limiter is None:
                self._staff_limiter = SlidingWindowLimiter(self.settings.auth.rate_per_minute_key, 60.0)
            return self._staff_limiter

    @property
    def auth_failures(self) -> FailedAuthThrottle:
        """Failed sign-ins per client address."""
        with self._lazy_lock:
            if self._auth_failures is None:
                self._auth_failures = FailedAuthThrottle(self.settings.auth.failures_per_minute_ip)
            return self._auth_failures

    @property
    def widget_guard(self) -> WidgetGuard:
        """The widget's token secret, sites and rate limits."""
        with self._lazy_lock:
            if self._widget_guard is None:
                self._widget_guard = WidgetGuard(self.settings.widget)
            return self._widget_guard

    @property
    def ingest_jobs(self) -> IngestJobs:
        """Ingests started over the admin API (one at a time, through ``ingest``)."""
        with self._lazy_lock:
            if self._ingest_jobs is None:
                self._ingest_jobs = IngestJobs(lambda rebuild: self.ingest(rebuild=rebuild).to_json())
            return self._ingest_jobs

    @property
    def visibility(self) -> VisibilityPolicy:
        """The docs folder's access rules, exactly as ingest applies them (for /docs and the console)."""
        return VisibilityPolicy.from_settings(self.settings.visibility)

    @property
    def answerer(self) -> Answerer:
        """The one answer path over this runtime's current parts (chat route, ``docent ask``, eval).

        A view, not a copy: a part swapped on the runtime (a test's failing retriever, a
        scripted model) is what the next answer uses.
        """
        return Answerer(self.retriever, self.model, self.settings.chat, self.reranker,
                        resolve_mode(self.settings.chat.answer_mode, self.settings.resolved_llm().model))

    @classmethod
    def build(cls, settings: Settings, *, store: IndexStore | None = None, embedder: Embedder | None = None,
              model: ChatModel | None = None, lock_info: dict[str, Any] | None = None,
              start_watcher: bool | None = None,
              on_ingest_change: Callable[[dict[str, Any], Runtime], object] | None = None) -> Runtime:
        """Open everything; the caller owns ``close()``.

        The one place services are assembled: ``docent serve``, ``docent ask``, ``docent
        eval``, the ASGI factory, the ``ingest --watch`` worker's evaluations and the tests
        all build through it. ``store``, ``embedder`` and ``model`` replace the part the
        settings describe: a store given here stays the caller's (``close()`` leaves it open).
        """
        plugins.load(settings.plugins)  # providers (and other extensions) before any model is built
        owns_store = store is None
        if store is None:
            # Opened lazily and reopened after failures: the service starts (not ready) while
            # the store is locked, damaged or unreachable, and recovers when it comes back.
            resilient = ResilientStore(lambda: open_store(settings, role="server", lock_info=lock_info))
            if resilient.problem:
                log.warning("index store not available yet: %s", resilient.problem)
            store = resilient
        try:
            embedder = embedder or build_embedder(settings)
            retriever = Retriever(store, embedder, Bm25Encoder(), prefetch=settings.chat.prefetch)
            model = model or RouterChatModel.from_settings(settings.resolved_llm(), settings.models_dir)
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            conversations = ConversationStore(settings.resolved_database_url())
        except BaseException:
            if owns_store:
                store.close()
            raise
        reranker = LLMReranker(model) if settings.chat.rerank == "llm" else None
        runtime = cls(settings, store, embedder, retriever, model, conversations, reranker,
                      on_ingest_change=on_ingest_change, _owns_store=owns_store)
        embedded = not settings.resolved_index().url
        if start_watcher if start_watcher is not None else (settings.watch and embedded):
            runtime.start_watcher()
        return runtime

    def _changed(self, entry: dict[str, Any]) -> None:
        """A hosted ingest changed docs: run the hook (the eval trigger) with the change-log entry."""
        if self.on_ingest_change is not None:
            self.on_ingest_change(entry, self)

    def ingest(self, *, rebuild: bool = False) -> IngestSummary:
        """Ingest the docs folder in this process (the admin API); one ingest at a time.

        The hosted watcher, when there is one, runs it (its lock also covers its own
        runs); otherwise an ingestor over the same store, with the same change hook.
        """
        if self.watcher is not None:
            summary: IngestSummary = self.watcher.ingest_now(rebuild=rebuild)
            return summary
        from ingest.worker import build_ingestor

        with self._ingest_lock:
            ingestor = build_ingestor(self.settings, self.store, self.embedder)
            return ingestor.run(self.settings.docs_dir, rebuild=rebuild, progress=False, on_change=self._changed)

    def start_watcher(self) -> None:
        """Host the ingestion worker in-process (the embedded store allows one process)."""
        from ingest.worker import Watcher, build_ingestor

        self.watcher = Watcher(build_ingestor(self.settings, self.store, self.embedder), self.settings.docs_dir,
                               on_change=self._changed)
        self._threads.append(self.watcher.start_thread())

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            for thread in self._threads:
                thread.join(timeout=5)
        self.conversations.close()
        if not self._owns_store:
            return
        if self.watcher is not None:
            # Wait out an ingest in flight: closing the store under it would lose the run.
            with self.watcher.run_lock:
                self.store.close()
        else:
            self.store.close()
