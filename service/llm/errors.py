"""Errors of the generation layer, with messages safe to show a user."""

from __future__ import annotations

from docent.errors import DocentError


class ModelUnavailableError(DocentError):
    """No configured model answered (all failed or the deadline passed).

    The message never carries provider internals (URLs, keys, stack traces); those go
    to the log instead.
    """

    status_code = 503
