"""Translating OpenAI request parameters into llama-cpp-python's create_chat_completion kwargs."""

from __future__ import annotations

from service.llm.llama_runner import llama_options


def test_llama_options_passes_sampling_parameters_through() -> None:
    """temperature, top_p, seed, stop and max_tokens reach llama.cpp; unknown keys do not."""
    params = {"temperature": 0.0, "top_p": 0.9, "seed": 7, "stop": ["\n\n"], "max_tokens": 32, "user": "x"}
    assert llama_options(params) == {"temperature": 0.0, "top_p": 0.9, "seed": 7, "stop": ["\n\n"],
                                     "max_tokens": 32}


def test_llama_options_maps_json_schema_to_llamacpp_schema() -> None:
    """OpenAI's json_schema response_format becomes llama.cpp's json_object + schema grammar."""
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    fmt = {"type": "json_schema", "json_schema": {"name": "A", "schema": schema}}
    assert llama_options({"response_format": fmt})["response_format"] == {"type": "json_object",
                                                                         "schema": schema}


def test_llama_options_keeps_plain_json_object_and_ignores_text() -> None:
    """json_object stays a JSON grammar request; type text adds no constraint."""
    assert llama_options({"response_format": {"type": "json_object"}}) == {
        "response_format": {"type": "json_object"}
    }
    assert llama_options({"response_format": {"type": "text"}}) == {}
