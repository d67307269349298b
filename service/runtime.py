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
from service.answer_cache import AnswerCache, build_answer_cache
from service.answerer import Answerer
from service.conversations import ConversationStore
from service.extractive import resolve_mode
from service.handoff import build_target
from service.handoff_outbox import HandoffOutbox
from service.ingest_jobs import IngestJobs
from service.llm.chat_model import RouterChatModel
from service.llm.chat_types import ChatModel
from service.rate_limit import FailedAuthThrottle, Limiter
from service.rerank import LLMReranker
from service.retrieval import Reranker, Retriever
from service.shared_state import SharedState, build_limiter
from service.source_syncs import SourceSyncs
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
    answer_cache: AnswerCache | None = None  # settings.cache; evicted by every hosted ingest (_changed)
    _threads: list[threading.Thread] = field(default_factory=list)
    _ingest_lock: threading.Lock = field(default_factory=threading.Lock)
    # Per-process guards and jobs, built on first use (so settings adjusted before the first
    # request apply) and then kept for the runtime's life: counters, the widget secret.
    _staff_limiter: Limiter | None = None
    _auth_failures: FailedAuthThrottle | None = None
    _widget_guard: WidgetGuard | None = None
    _ingest_jobs: IngestJobs | None = None
    _source_syncs: SourceSyncs | None = None
    _handoffs: HandoffOutbox | None = None
    _shared_state: SharedState | None = None  # Redis (settings.redis_url), opened on first use
    _lazy_lock: threading.Lock = field(default_factory=threading.Lock)
    _owns_store: bool = True  # False for a store handed to ``build`` (the caller closes it)

    @property
    def shared_state(self) -> SharedState | None:
        """The Redis that several workers share (limits, widget sessions), or None without one."""
        with self._lazy_lock:
            return self._shared()

    def _shared(self) -> SharedState | None:
        # Under ``_lazy_lock``. Connecting is lazy too: a Redis that is down does not stop start-up.
        if self._shared_state is None and self.settings.redis_url:
            self._shared_state = SharedState(self.settings.redis_url)
        return self._shared_state

    @property
    def staff_limiter(self) -> Limiter:
        """Requests per minute for each staff key (not applied while Redis is down: fails open)."""
        with self._lazy_lock:
            if self._staff_limiter is None:
                self._staff_limiter = build_limiter(self._shared(), "staff-key", self.settings.auth.rate_per_minute_key,
                                                    on_outage="open")
            return self._staff_limiter

    @property
    def auth_failures(self) -> FailedAuthThrottle:
        """Failed sign-ins per client address."""
        with self._lazy_lock:
            if self._auth_failures is None:
                limit = self.settings.auth.failures_per_minute_ip
                # While Redis is down, failures are counted per worker: guessing stays bounded.
                self._auth_failures = FailedAuthThrottle(limit, limiter=build_limiter(
                    self._shared(), "auth-failures", limit, on_outage="local"))
            return self._auth_failures

    @property
    def widget_guard(self) -> WidgetGuard:
        """The widget's token secret, sites and rate limits."""
        with self._lazy_lock:
            if self._widget_guard is None:
                self._widget_guard = WidgetGuard(self.settings.widget, self._shared())
            return self._widget_guard

    @property
    def ingest_jobs(self) -> IngestJobs:
        """Ingests started over the admin API (one at a time, through ``ingest``)."""
        with self._lazy_lock:
            if self._ingest_jobs is None:
                self._ingest_jobs = IngestJobs(lambda rebuild: self.ingest(rebuild=rebuild).to_json())
            return self._ingest_jobs

    @property
    def source_syncs(self) -> SourceSyncs:
        """Syncs of one named source started over the admin API (through ``sync_source``)."""
        with self._lazy_lock:
            if self._source_syncs is None:
                self._source_syncs = SourceSyncs(self.settings, self.sync_source)
            return self._source_syncs

    @property
    def handoffs(self) -> HandoffOutbox:
        """The handoff outbox over the conversation store, sending through ``settings.handoff``'s target."""
        with self._lazy_lock:
            if self._handoffs is None:
                self._handoffs = HandoffOutbox(self.conversations.engine, build_target(self.settings.handoff),
                                               self.settings.handoff)
            return self._handoffs

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
                        resolve_mode(self.settings.chat.answer_mode, self.settings.resolved_llm().model),
                        self.answer_cache)

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
                      on_ingest_change=on_ingest_change, _owns_store=owns_store,
                      answer_cache=_answer_cache(settings, embedder, retriever))
        embedded = not settings.resolved_index().url
        if start_watcher if start_watcher is not None else (settings.watch and embedded):
            runtime.start_watcher()
        return runtime

    def _changed(self, entry: dict[str, Any]) -> None:
        """A hosted ingest changed docs: evict the answers built from them, then run the hook
        (the eval trigger) with the change-log entry."""
        if self.answer_cache is not None:
            try:
                gone = self.answer_cache.docs_changed(list(entry.get("changed") or []),
                                                      list(entry.get("removed") or []),
                                                      list(entry.get("added") or []))
                log.info("answer cache: %d entries evicted after a docs change", gone)
            except Exception:  # Redis down: entries are still checked against the index on every read
                log.exception("answer cache eviction after a docs change failed")
        if self.on_ingest_change is not None:
            self.on_ingest_change(entry, self)
        if self.settings.gaps.recheck_groups:
            from service.gaps_recheck import start_recheck

            start_recheck(self)  # re-ask open gap groups (a thread of its own: ingest does not wait)

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
            if rebuild and self.settings.sources:  # the sources' pages go into the new build too
                from ingest.sources.rebuild import rebuild as rebuild_all

                return rebuild_all(self.settings, self.store, self.embedder, progress=False, on_change=self._changed)
            ingestor = build_ingestor(self.settings, self.store, self.embedder)
            return ingestor.run(self.settings.docs_dir, rebuild=rebuild, progress=False, on_change=self._changed)

    def sync_source(self, name: str) -> None:
        """Sync one named source in this process (the admin API): through the hosted scheduler,
        as its own schedule does, or else the same ``sync_source`` over this runtime's store."""
        from ingest.sources.schedule import Scheduler
        from ingest.sources.sync import find_source, sync_source

        if isinstance(self.watcher, Scheduler):
            self.watcher.sync(name)
            return
        with self._ingest_lock:
            sync_source(self.settings, find_source(self.settings, name), self.store, self.embedder,
                        on_change=self._changed)

    def warm_model(self) -> threading.Thread | None:
        """Load the local model in the background at start-up (its system prompts are evaluated
        and kept as it loads), so the first question after a restart is not the slow one."""
        model = self.model
        if not isinstance(model, RouterChatModel):
            return None

        def warm() -> None:
            try:
                model.warm()
            except Exception:  # a broken model file is reported by the first answer, as before
                log.warning("could not warm the local model at start-up", exc_info=True)

        thread = threading.Thread(target=warm, name="docent-warm-model", daemon=True)
        thread.start()
        return thread

    def start_watcher(self) -> None:
        """Host the ingestion worker in-process (the embedded store allows one process).

        With named sources (settings.sources) the worker is their scheduler, which takes the
        docs watcher's place: ``ingest()`` then syncs every source.
        """
        from ingest.worker import Watcher, build_ingestor

        if self.settings.sources:
            from ingest.sources.schedule import Scheduler

            self.watcher = Scheduler(self.settings, self.store, self.embedder, on_change=self._changed)
            self._threads.append(self.watcher.start_thread())
            return
        self.watcher = Watcher(build_ingestor(self.settings, self.store, self.embedder), self.settings.docs_dir,
                               on_change=self._changed)
        self._threads.append(self.watcher.start_thread())

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            for thread in self._threads:
                thread.join(timeout=5)
        if self._handoffs is not None:
            self._handoffs.stop_background()
        self.conversations.close()
        if self.answer_cache is not None:
            self.answer_cache.close()
        if self._shared_state is not None:
            self._shared_state.close()
        if not self._owns_store:
            return
        if self.watcher is not None:
            # Wait out an ingest in flight: closing the store under it would lose the run.
            with self.watcher.run_lock:
                self.store.close()
        else:
            self.store.close()


def _answer_cache(settings: Settings, embedder: Embedder, retriever: Retriever) -> AnswerCache | None:
    """The answer cache, keyed by everything that shapes an answer besides the caller's scope."""
    llm = settings.resolved_llm()
    config = {"llm": llm.model_dump(include={"model", "fallbacks", "api_base", "router_config", "temperature",
                                             "max_tokens"}),
              "mode": resolve_mode(settings.chat.answer_mode, llm.model), "embedder": embedder.name,
              "chat": settings.chat.model_dump(exclude={"support_url", "support_label", "history_turns",
                                                        "max_message_chars", "max_result_chars"})}
    return build_answer_cache(settings, embedder, retriever.searchable_index, config)
