"""Copy the active collection from one store to another without re-embedding.

The usual move is embedded (qdrant-edge under the data dir) to a Qdrant server or
cluster, when a deployment outgrows one process. Re-ingesting would also work (the
docs are the source of truth and point ids are deterministic), but it re-embeds every
chunk: about 12 chunks/s on 2 cores, so 100k chunks take over two hours, where a copy
of the stored vectors takes minutes. The copy goes into a fresh collection on the
target that the alias is switched to only once every point has arrived and the counts
match, the same all-or-nothing rule as ``docent ingest --rebuild``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol, cast

from docent.errors import MigrationError
from docent.index.base import Index, IndexStore
from docent.schema import IndexedPoint, IndexMeta
from docent.settings import IndexSettings, Settings


class ScannableIndex(Protocol):
    """A collection that can hand out every point with its vectors (both backends can)."""

    meta: IndexMeta
    name: str

    def scan(self, page_size: int = 256) -> Iterator[list[IndexedPoint]]: ...

    def count(self) -> int: ...


@dataclass(frozen=True, slots=True)
class MigrationSummary:
    """What a migration copied, and where to."""

    source: str
    target: str
    points: int
    embed_model: str
    dim: int
    seconds: float
    replaced: str | None

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "points": self.points,
                "embed_model": self.embed_model, "dim": self.dim, "seconds": round(self.seconds, 2),
                "replaced": self.replaced}


def migrate(source_store: IndexStore, target_store: IndexStore, *, replace: bool = False,
            batch_size: int = 256, progress: bool = False) -> MigrationSummary:
    """Copy ``source_store``'s active collection into a new collection of ``target_store`` and promote it.

    Refuses a target that already has a non-empty active collection unless ``replace``:
    the copy would swap it out. The source is only read.
    """
    started = time.perf_counter()
    source = source_store.open_active()
    if source is None:
        raise MigrationError("The source store has no collection to migrate. Run `docent ingest` first.")
    if not hasattr(source, "scan"):
        raise MigrationError(f"The source backend ({type(source).__name__}) cannot export its points.")
    existing = target_store.open_active()
    if existing is not None and existing.count() and not replace:
        raise MigrationError(
            f"The target already serves collection {existing.name} ({existing.count()} points). "
            "Pass --replace to swap it for the copy."
        )
    total = source.count()
    target = target_store.new_build(source.meta)
    copied = _copy(source, target, total, batch_size, progress)
    target.flush()
    landed = target.count()
    if landed != total or copied != total:
        # The unpromoted collection is left for the store's own clean-up (a server keeps
        # it until the next promote; the embedded store sweeps it on open).
        raise MigrationError(
            f"Copied {copied} points and the target holds {landed}, but the source has {total}; "
            "the alias was not moved. Stop any ingest writing to the source and run the migration again."
        )
    target.optimize()
    target_store.promote(target)
    return MigrationSummary(source.name, target.name, landed, source.meta.embed_model, source.meta.dim,
                            time.perf_counter() - started, existing.name if existing is not None else None)


def _copy(source: Index, target: Index, total: int, batch_size: int, progress: bool) -> int:
    from tqdm import tqdm

    scannable: ScannableIndex = source  # type: ignore[assignment]
    copied = 0
    with tqdm(total=total, unit="pt", desc="migrate", disable=not progress) as bar:
        for page in scannable.scan(batch_size):
            target.upsert(page)
            copied += len(page)
            bar.update(len(page))
    return copied


def target_settings(settings: Settings, url: str, api_key: str | None,
                    collection: str | None = None) -> IndexSettings:
    """The server index settings for ``url``: shard number and replication factor come from ``settings``."""
    update: dict[str, object] = {"url": url, "api_key": api_key}
    if collection:
        update["collection"] = collection
    return settings.resolved_index().model_copy(update=update)


def run(settings: Settings, to_url: str, *, api_key: str | None = None, collection: str | None = None,
        replace: bool = False, batch_size: int = 256, progress: bool = True) -> MigrationSummary:
    """``docent index migrate``: the configured store (usually embedded) to the server at ``to_url``."""
    from docent.index.edge import EdgeStore
    from docent.index.server import ServerStore

    source_settings = settings.resolved_index()
    if source_settings.url and source_settings.url.rstrip("/") == to_url.rstrip("/") and not collection:
        raise MigrationError("The source and the target are the same server and collection.")
    # Opened directly rather than through open_store: a migration wants the bare backend,
    # and the embedded lock makes it fail fast while a server holds the store.
    # Both backends narrow promote()'s argument to their own Index class, hence the casts.
    source = cast(IndexStore, ServerStore.connect(source_settings) if source_settings.url
                  else EdgeStore(settings.store_dir, role="index migrate"))
    try:
        target = cast(IndexStore, ServerStore.connect(target_settings(settings, to_url, api_key, collection)))
        try:
            return migrate(source, target, replace=replace, batch_size=batch_size, progress=progress)
        finally:
            target.close()
    finally:
        source.close()
