"""Named docs sources: a folder, a Git repository or a website, each materialised into a
folder the Ingestor reads and indexed under ``<name>/`` in the one shared index."""
