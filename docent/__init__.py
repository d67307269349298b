"""Docent's shared kernel: settings, the chunk schema, the embedder and the index adapter.

``ingest`` writes the index through these modules and ``service`` reads it through
them; neither imports the other's internals, and nothing imports ``eval``.
"""
