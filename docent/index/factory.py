"""Open the store the settings name: a Qdrant server if a URL is set, else the embedded one."""

from __future__ import annotations

from typing import Any

from docent.index.base import IndexStore
from docent.settings import Settings


def open_store(settings: Settings, role: str, lock_info: dict[str, Any] | None = None) -> IndexStore:
    """Open (and, for the embedded store, lock) the index store.

    ``role`` ("server", "ingest", ...) is recorded in the lock so a second process can
    say who holds the store.
    """
    index_settings = settings.resolved_index()
    if index_settings.url:
        from docent.index.server import ServerStore

        return ServerStore.connect(index_settings)
    from docent.index.edge import EdgeStore

    return EdgeStore(settings.store_dir, role, lock_info)
