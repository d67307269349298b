"""Domain errors with messages that are safe to show a user.

The HTTP layer maps each to a status code in one place; the CLI prints the message
and exits non-zero. Messages never carry document text.
"""

from __future__ import annotations


class DocentError(Exception):
    """Base class: ``str(err)`` is a safe, actionable message."""

    status_code = 500


class ConfigError(DocentError):
    """Settings are invalid or inconsistent; the message says how to fix them."""

    status_code = 500


class StoreLockedError(DocentError):
    """Another process holds the embedded store."""

    status_code = 503


class StoreUnavailableError(DocentError):
    """The index cannot be reached (server down, store corrupt or locked)."""

    status_code = 503


class IndexMismatchError(DocentError):
    """The index was built with a different embedding model or dimension."""

    status_code = 409


class ModelFileError(DocentError):
    """A model file is missing or does not match its expected digest."""

    status_code = 500
