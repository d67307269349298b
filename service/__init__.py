"""The chat service: retrieval, cited answers through LiteLLM, and the HTTP API."""
