"""The ingestion worker: docs folder -> Document -> Section -> Chunk -> index."""
