"""Prompts are files, loaded by name and filled with ``string.Template`` ($name).

Braces are common in docs (JSON, YAML), so ``$`` placeholders keep them literal.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from string import Template

# What answer_system.txt tells the model to reply when the sources lack the answer.
NOT_IN_DOCS = "NOT_IN_DOCS"
_FOLDER = Path(__file__).with_name("prompts")


@cache
def load(name: str) -> Template:
    """The prompt ``service/prompts/<name>.txt``."""
    text = (_FOLDER / f"{name}.txt").read_text(encoding="utf-8")
    return Template(text.rstrip("\n"))


def render(name: str, **values: str) -> str:
    """Fill a prompt; a missing value is a bug, so it raises."""
    return load(name).substitute(**values)
