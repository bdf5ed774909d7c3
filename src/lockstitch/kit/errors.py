"""Typed errors that know their HTTP status and their Stitch wire shape.

Stitch's Connect API answers errors in several JSON shapes depending on the endpoint family
(spec section 4). Each shape is one subclass here; services raise them and one handler in
``app.py`` renders ``error.status_code`` and ``error.body()``. Services never build responses.

Messages must never contain a secret: they are built from names and ids, never from values
the client sent for credential properties.
"""

from __future__ import annotations

from typing import Any


class LockstitchError(Exception):
    """Base for every error that becomes an HTTP response."""

    status_code: int = 400
    headers: dict[str, str] | None = None

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code

    def body(self) -> Any:
        raise NotImplementedError


class SourceError(LockstitchError):
    """Sources and source types: ``{"error": "<Code>", "data": {"message": ..., ...}}``."""

    def __init__(self, code: str, message: str, *, status_code: int = 400, **data: Any) -> None:
        super().__init__(message, status_code=status_code)
        self.code = code
        self.data = data

    def body(self) -> Any:
        return {"error": self.code, "data": {"message": self.message, **self.data}}


class AccountError(LockstitchError):
    """Accounts (v3): ``{"code": ..., "message": ..., "errors": {...}}``."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        errors: dict[str, str] | None = None,
        status_code: int = 400,
    ) -> None:
        super().__init__(message, status_code=status_code)
        self.code = code
        self.errors = errors

    def body(self) -> Any:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


class PlainError(LockstitchError):
    """Destinations and stream GETs answer with a bare JSON string."""

    def body(self) -> Any:
        return self.message


class JobError(LockstitchError):
    """Replication jobs: ``{"error": {"type": ..., "message": ...}}``."""

    def __init__(self, error_type: str, message: str, *, status_code: int = 400) -> None:
        super().__init__(message, status_code=status_code)
        self.error_type = error_type

    def body(self) -> Any:
        return {"error": {"type": self.error_type, "message": self.message}}


class ConfigurationError(Exception):
    """The operator's configuration cannot work (missing key, bad TOML...). Stops start-up."""
