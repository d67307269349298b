"""Router construction from settings or from a LiteLLM Router YAML file."""

from __future__ import annotations

from docent.offline import ensure_offline

ensure_offline()  # before litellm is imported

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from docent.errors import ConfigError  # noqa: E402
from docent.settings import LLMSettings  # noqa: E402
from service.llm.chat_model import RouterChatModel  # noqa: E402
from service.llm.chat_types import ChatMessage  # noqa: E402
from service.llm.router_factory import load_router_file, model_list_from_settings  # noqa: E402
from tests.fakes.llm import FakeLLM  # noqa: E402


def test_model_list_from_settings_names_primary_and_fallbacks() -> None:
    """llm.model becomes group primary (with api_base), fallbacks fallback-1.. in order."""
    llm = LLMSettings(model="openai/m", api_base="http://127.0.0.1:8001/v1", fallbacks=["a/x", "b/y"])
    model_list, fallbacks = model_list_from_settings(llm)
    assert [d["model_name"] for d in model_list] == ["primary", "fallback-1", "fallback-2"]
    assert model_list[0]["litellm_params"] == {"model": "openai/m", "api_base": "http://127.0.0.1:8001/v1"}
    assert fallbacks == [{"primary": ["fallback-1", "fallback-2"]}]


def test_router_config_yaml_drives_the_router(
    tmp_path: Path, fake_llm: FakeLLM, rag_messages: list[ChatMessage]
) -> None:
    """With router_config set, the YAML's model_list is used and fallbacks default to every other group."""
    config = tmp_path / "router.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: primary\n    litellm_params: {model: docent-fake/fail}\n"
        "  - model_name: backup\n    litellm_params: {model: docent-fake/abstain}\n"
        "router_settings:\n  num_retries: 0\n"
    )
    llm = LLMSettings(model="ignored/model", router_config=config)
    result = RouterChatModel.from_settings(llm, tmp_path / "models").complete_sync(rag_messages)
    assert result.model == "docent-fake/abstain" and result.fallback_used


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("model_list: [{model_name: main, litellm_params: {model: a/b}}]\n", "model_name: primary"),
        ("model_list: []\n", "model_list"),
        (
            "model_list: [{model_name: primary, litellm_params: {model: a/b}}]\n"
            "fallbacks: [{primary: [nope]}]\n",
            "nope",
        ),
        ("model_list: [unclosed\n", "YAML"),
    ],
)
def test_load_router_file_rejects_bad_config(tmp_path: Path, text: str, problem: str) -> None:
    """Invalid router YAML raises ConfigError naming the setting and the problem."""
    config = tmp_path / "router.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError, match="DOCENT_LLM__ROUTER_CONFIG") as err:
        load_router_file(config)
    assert problem in str(err.value)


def test_load_router_file_missing_file_is_config_error(tmp_path: Path) -> None:
    """A router_config path that does not exist raises ConfigError."""
    with pytest.raises(ConfigError, match="cannot read"):
        load_router_file(tmp_path / "absent.yaml")
