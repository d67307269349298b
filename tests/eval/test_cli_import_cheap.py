"""Mounting `docent eval` costs nothing: importing the sub-app loads neither LiteLLM nor Ragas."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_cli_import_cheap() -> None:
    """entrypoints/cli.py can add_typer(eval_app) at import time and keep `docent --help` instant."""
    code = (
        "import sys, eval.cli; heavy = [m for m in ('litellm', 'ragas', 'torch', 'instructor') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
