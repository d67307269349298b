"""The generation layer: one ``ChatModel`` path through LiteLLM's Router.

Modules, one job each:

- ``chat_types``: the ``ChatModel`` protocol and ``Completion``/``StreamEvent`` values.
- ``chat_model``: ``RouterChatModel``, its implementation over a LiteLLM Router.
- ``router_factory``: builds that Router (primary + fallbacks, or a Router YAML file).
- ``model_files``: locate, join and verify packaged GGUF files.
- ``llama_runner``: one llama.cpp context, its lock, and cancellable generation.
- ``local_provider``: the ``docent-local`` LiteLLM provider backed by ``llama_runner``.
- ``provider_util``: registration and response helpers for in-process providers:
  ``docent-local`` and any a plugin adds (``docent/plugins.py``), such as the tests'
  scripted ``docent-fake`` (``tests/fakes/llm.py``).

Nothing is imported here so that ``import service.llm.model_files`` stays cheap
(LiteLLM takes seconds to import).
"""
