"""Errors raised by the store."""

from __future__ import annotations


class StoreError(RuntimeError):
    """Base class of store errors."""


class MongoUnavailableError(StoreError, ConnectionError):
    """MongoDB cannot be reached or started. The message names the setting to check."""

    def __init__(self, message: str, *, uri: str | None = None) -> None:
        super().__init__(message)
        self.uri = uri


class MongodNotFoundError(StoreError, FileNotFoundError):
    """No embedded mongod binary is installed."""


class MongoAuthenticationError(MongoUnavailableError, PermissionError):
    """MongoDB refused the credentials: those of ``MONGODB_URI``/``MONGODB_READ_URI``, or the
    embedded server's ``credentials.json``. The message says which, and what to restore."""
