"""Plugins: modules that extend Docent at start-up, such as one that adds a LiteLLM provider.

A plugin is an importable module named in ``settings.plugins`` (``DOCENT_PLUGINS``) or
advertised by an installed distribution in the ``docent.plugins`` entry-point group.
:func:`load` imports each one once per process and calls its ``register()`` function,
if it has one. A provider plugin's ``register()`` typically adds a
``litellm.llms.custom_llm.CustomLLM`` handler with
``service.llm.provider_util.register_provider``, after which ``<provider>/<model>``
works as ``DOCENT_MODEL``, a fallback or a judge, through the same Router path as any
hosted model. The test suite's scripted ``docent-fake`` provider
(``tests/fakes/llm.py``) registers this way.

The composition roots call :func:`load` before building a model (``Runtime.build``,
the eval judge), so every entry point sees the same providers.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Sequence
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from docent.errors import ConfigError

__all__ = ["ENTRY_POINT_GROUP", "SETTING", "load"]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "docent.plugins"
SETTING = "DOCENT_PLUGINS"

# Re-entrant: a plugin's register() may itself call load().
_lock = threading.RLock()
# Plugin keys (module names; "module:attr" for entry points naming a function) whose
# register() has run or is running.
_loaded: set[str] = set()
_entry_points_loaded = False


def load(modules: Sequence[str] = ()) -> None:
    """Import each module in ``modules`` and the ``docent.plugins`` entry points, once each.

    Idempotent and thread-safe. Raises ConfigError, naming ``DOCENT_PLUGINS``, when a
    named module cannot be imported.
    """
    with _lock:
        _load_entry_points()
        for name in modules:
            _load_module(name.strip())


def loaded() -> frozenset[str]:
    """The plugins loaded so far in this process."""
    with _lock:
        return frozenset(_loaded)


def _run(key: str, register: Callable[[], Any]) -> None:
    _loaded.add(key)
    try:
        register()
    except BaseException:
        _loaded.discard(key)  # a later load() tries again
        raise
    log.debug("plugin %s registered", key)


def _register_module(key: str, module: Any) -> None:
    register = getattr(module, "register", None)
    if callable(register):
        _run(key, register)
    else:
        _loaded.add(key)


def _load_module(name: str) -> None:
    if not name or name in _loaded:
        return
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            raise ConfigError(
                f"{SETTING} names the plugin module {name!r}, but there is no such module. Install the "
                "package that provides it, or fix the name in DOCENT_PLUGINS (a JSON list or comma-separated "
                "module names, e.g. DOCENT_PLUGINS=my_company.docent_provider)."
            ) from exc
        raise _import_failed(name, exc) from exc
    except Exception as exc:  # the plugin's own import-time error
        raise _import_failed(name, exc) from exc
    _register_module(name, module)


def _import_failed(name: str, exc: BaseException) -> ConfigError:
    return ConfigError(f"{SETTING} names the plugin module {name!r}, which failed to import: "
                       f"{type(exc).__name__}: {exc}")


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for point in entry_points(group=ENTRY_POINT_GROUP):
        _load_entry_point(point)


def _load_entry_point(point: EntryPoint) -> None:
    key = point.value.replace(" ", "")
    if key in _loaded:
        return
    dist = getattr(point.dist, "name", None) or "an installed package"
    try:
        target = point.load()
    except Exception as exc:
        raise ConfigError(f"The {ENTRY_POINT_GROUP} entry point {point.name!r} of {dist} ({point.value}) "
                          f"failed to import: {type(exc).__name__}: {exc}") from exc
    if point.attr:
        if not callable(target):
            raise ConfigError(f"The {ENTRY_POINT_GROUP} entry point {point.name!r} of {dist} ({point.value}) "
                              "is not a function or a module")
        _run(key, target)
    else:
        _register_module(key, target)
