"""The evaluation suite: golden set, retrieval metrics, Ragas scores, history and reports."""
