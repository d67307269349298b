"""`docent keys create` prints a usable key once and a settings entry holding only its hash."""

from __future__ import annotations

import hashlib
import json

from typer.testing import CliRunner

from docent.settings import StaffKey
from entrypoints.cli import app


def test_keys_create_prints_key_and_hash_entry() -> None:
    result = CliRunner().invoke(app, ["keys", "create", "--name", "alice", "--group", "support",
                                      "--group", "billing", "--admin"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    key = lines[0].rsplit(" ", 1)[-1]
    entry = StaffKey.model_validate(json.loads(lines[-1]))
    assert key.startswith("dk_") and len(key) > 40
    assert entry.sha256 == hashlib.sha256(key.encode()).hexdigest() and key not in lines[-1]
    assert entry.groups == ["support", "billing"] and entry.admin and entry.name == "alice"
    again = CliRunner().invoke(app, ["keys", "create", "--name", "bob"])
    assert again.output.splitlines()[0].rsplit(" ", 1)[-1] != key  # fresh randomness each time
    assert json.loads(again.output.strip().splitlines()[-1])["admin"] is False
