"""Domain errors with messages that are safe to show a user: all of them, in this one module.

The HTTP layer maps each class to a status code in one table
(``service.api.errors.STATUS``); the CLI prints the message and exits non-zero. The
classes say what went wrong, never how a transport reports it. Messages never carry
document text.
"""

from __future__ import annotations


class DocentError(Exception):
    """Base class: ``str(err)`` is a safe, actionable message."""


class ConfigError(DocentError):
    """Settings are invalid or inconsistent; the message says how to fix them."""


class ModelFileError(DocentError):
    """A model file is missing or does not match its expected digest."""


class MigrationError(DocentError):
    """The migration could not start or did not verify; the target's alias was not moved."""


# --- the caller: who they are, what they may do, how often ---------------------------


class UnauthorizedError(DocentError):
    """Missing or wrong credentials. ``challenge`` names the scheme to ask for, if any."""

    def __init__(self, message: str, challenge: str | None = None) -> None:
        super().__init__(message)
        self.challenge = challenge


class ForgedTokenError(UnauthorizedError):
    """A malformed or forged widget token: a failed authentication, counted per address."""

    def __init__(self, message: str) -> None:
        super().__init__(message, challenge="Bearer")


class ForbiddenError(DocentError):
    """The caller is known but may not do this (wrong origin, not an admin)."""


class RateLimitedError(DocentError):
    """Too many requests; ``retry_after`` is the whole seconds until one is allowed."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# --- the request ---------------------------------------------------------------------


class InvalidRequestError(DocentError):
    """The request is well-formed but its content is refused."""


class InvalidMessageError(InvalidRequestError):
    """A chat message that is empty or over ``chat.max_message_chars``."""


class NotFoundError(DocentError):
    """Nothing this caller may see exists at the address."""


class UnknownConversationError(NotFoundError):
    """The id names no conversation this caller may continue."""


class RunNotFoundError(NotFoundError):
    """No evaluation run (or no file of it) by that id."""


# --- conflicts -----------------------------------------------------------------------


class BusyError(DocentError):
    """A job of this kind is already running; try again when it is done."""


class IngestBusyError(BusyError):
    """An ingest job is already running in this process."""


class EvalBusyError(BusyError):
    """Another evaluation holds the runs folder."""


class IndexMismatchError(DocentError):
    """The index was built with a different embedding model or dimension."""


class NotConfiguredError(DocentError):
    """This server is not set up for what was asked (e.g. no helpdesk for handoffs): retrying will not help."""


# --- dependencies that are down for now ----------------------------------------------


class UnavailableError(DocentError):
    """Something the answer needs is unavailable right now; retrying later may work."""


class StoreLockedError(UnavailableError):
    """Another process holds the embedded store."""


class StoreUnavailableError(UnavailableError):
    """The index cannot be reached (server down, store corrupt or locked)."""


class ModelUnavailableError(UnavailableError):
    """No configured model answered (all failed or the deadline passed).

    The message never carries provider internals (URLs, keys, stack traces); those go
    to the log instead.
    """
