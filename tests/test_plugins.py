"""Plugins (docent/plugins.py): modules named in DOCENT_PLUGINS, or entry points, register once.

The tests' own scripted ``docent-fake`` provider is such a plugin (tests/fakes/llm.py):
production code never registers it, so a server reaches it only when DOCENT_PLUGINS
names it, exactly as it would reach a user's own LiteLLM provider.
"""

from __future__ import annotations

import sys
import threading
import time
import uuid
from importlib.metadata import EntryPoint
from pathlib import Path

import httpx
import pytest

from docent import plugins
from docent.errors import ConfigError
from docent.settings import Settings
from tests.service.live_server import docent_serve

PORTS_DOC = ("---\ntitle: Ports\n---\n# Ports\n## Status server\n"
             "The status server listens on port 7421 on the loopback interface.\n")
QUESTION = {"message": "Which port does the status server use?"}


def _plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> str:
    """A uniquely named module under tmp_path (on sys.path) with ``body``; its name."""
    name = f"docent_test_plugin_{uuid.uuid4().hex[:12]}"
    (tmp_path / f"{name}.py").write_text(body)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    return name


COUNTING = ("import threading, time\nCALLS = []\n"
            "def register():\n    time.sleep(0.05)\n    CALLS.append(threading.get_ident())\n")


def test_plugin_named_in_settings_is_imported_and_registered_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DOCENT_PLUGINS (JSON or comma separated) names a module: imported, register() called once,
    however many callers (threads included) load it."""
    name = _plugin(tmp_path, monkeypatch, COUNTING)
    monkeypatch.setenv("DOCENT_PLUGINS", f'["{name}"]')
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.plugins == [name]
    monkeypatch.setenv("DOCENT_PLUGINS", f"{name}, tests.fakes.llm")
    assert Settings(_env_file=None).plugins == [name, "tests.fakes.llm"]  # type: ignore[call-arg]
    monkeypatch.delenv("DOCENT_PLUGINS")
    assert Settings(_env_file=None).plugins == []  # type: ignore[call-arg]

    threads = [threading.Thread(target=plugins.load, args=(settings.plugins,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    plugins.load(settings.plugins)
    assert len(sys.modules[name].CALLS) == 1  # type: ignore[attr-defined]
    assert name in plugins.loaded()


def test_a_module_without_register_is_just_imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = _plugin(tmp_path, monkeypatch, "IMPORTED = True\n")
    plugins.load([name])
    assert sys.modules[name].IMPORTED  # type: ignore[attr-defined]


def test_unknown_plugin_is_a_config_error_naming_the_setting() -> None:
    with pytest.raises(ConfigError, match="DOCENT_PLUGINS") as err:
        plugins.load(["no_such_docent_plugin_xyz"])
    assert "no_such_docent_plugin_xyz" in str(err.value) and "no such module" in str(err.value)


def test_plugin_that_fails_to_import_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plugin whose own dependency is missing (or that raises) says so, naming the setting."""
    broken = _plugin(tmp_path, monkeypatch, "import no_such_dependency_xyz\n")
    with pytest.raises(ConfigError, match=f"DOCENT_PLUGINS names the plugin module '{broken}', which failed"):
        plugins.load([broken])
    raising = _plugin(tmp_path, monkeypatch, "raise RuntimeError('bad plugin config')\n")
    with pytest.raises(ConfigError, match="bad plugin config"):
        plugins.load([raising])


def test_runtime_build_loads_the_plugins_first(settings: Settings) -> None:
    """The composition root loads settings.plugins before it opens or builds anything."""
    from service.runtime import Runtime

    settings.plugins = ["no_such_docent_plugin_xyz"]
    with pytest.raises(ConfigError, match="DOCENT_PLUGINS"):
        Runtime.build(settings, start_watcher=False)


def test_entry_points_in_the_docent_plugins_group_are_loaded_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An installed package can advertise a plugin (a module, or module:function) instead."""
    module = _plugin(tmp_path, monkeypatch, COUNTING)
    function = _plugin(tmp_path, monkeypatch, COUNTING.replace("def register", "def setup"))
    points = [EntryPoint(name="mod", value=module, group=plugins.ENTRY_POINT_GROUP),
              EntryPoint(name="fn", value=f"{function}:setup", group=plugins.ENTRY_POINT_GROUP)]
    asked: list[str] = []

    def fake_entry_points(*, group: str) -> list[EntryPoint]:
        asked.append(group)
        return points

    monkeypatch.setattr(plugins, "entry_points", fake_entry_points)
    monkeypatch.setattr(plugins, "_entry_points_loaded", False)
    plugins.load()
    plugins.load([module])
    assert asked == [plugins.ENTRY_POINT_GROUP]
    assert len(sys.modules[module].CALLS) == 1  # type: ignore[attr-defined]
    assert len(sys.modules[function].CALLS) == 1  # type: ignore[attr-defined]


def _chat_once_indexed(url: str) -> dict[str, object]:
    """Wait for the start-up ingest (search finds the page), then ask once."""
    deadline = time.monotonic() + 120
    with httpx.Client(base_url=url, timeout=60) as client:
        while not client.post("/v1/search", json={"query": QUESTION["message"]}).json()["results"]:
            assert time.monotonic() < deadline, "the start-up ingest did not finish"
            time.sleep(0.5)
        response = client.post("/v1/chat", json=QUESTION)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_server_answers_with_docent_fake_through_the_plugin(tmp_path: Path, models_cache: Path) -> None:
    """``docent serve`` with DOCENT_MODEL=docent-fake/echo-cite answers from the docs because
    DOCENT_PLUGINS names tests.fakes.llm (docent_serve passes the suite's value on)."""
    docs = tmp_path / "corpus"
    docs.mkdir()
    (docs / "ports.md").write_text(PORTS_DOC)
    env = {"DOCENT_DOCS_DIR": str(docs), "DOCENT_WATCH": "true", "DOCENT_CHAT__REWRITE": "concat",
           "DOCENT_EVAL_TRIGGER": "off", "DOCENT_PLUGINS": '["tests.fakes.llm"]'}
    with docent_serve(tmp_path / "server", models_cache, env) as server:
        body = _chat_once_indexed(server.url)
    assert body["answerable"] and not body["degraded"], body
    assert "7421" in str(body["answer"]) and "[1]" in str(body["answer"])


def test_server_without_the_plugin_does_not_know_docent_fake(tmp_path: Path, models_cache: Path) -> None:
    """Without DOCENT_PLUGINS nothing registers docent-fake (production code never does): the
    server refuses to start, with a message naming the model and the setting."""
    with pytest.raises(AssertionError, match="docent serve exited 2") as err, \
            docent_serve(tmp_path, models_cache, {"DOCENT_PLUGINS": "[]"}):
        pass
    assert "docent-fake/echo-cite" in str(err.value) and "DOCENT_PLUGINS" in str(err.value)
