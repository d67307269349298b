"""The entry points: the `docent` command and the ASGI app factory.

The composition root. It wires service, ingest and eval together, and nothing imports
it (an import-linter contract in pyproject.toml fails `make lint` if anything does).
"""
