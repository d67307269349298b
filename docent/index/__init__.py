"""The index adapter: one small interface, an embedded (qdrant-edge) and a server (qdrant-client) backend."""

from docent.index.base import DocEntry, Index, IndexStore, SearchQuery
from docent.index.factory import open_store

__all__ = ["DocEntry", "Index", "IndexStore", "SearchQuery", "open_store"]
