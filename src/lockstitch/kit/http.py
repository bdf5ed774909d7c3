"""HTTP glue shared by every router: errors that depend on the route, and path clean-up.

Stitch answers 401, 404 (which it also uses for "method not allowed") and oversize bodies in the
error shape of the endpoint's family (spec section 4). ``RouteError`` carries only a status and
a message; the app's error handler picks the family's shape from the request path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from fastapi import APIRouter
from starlette.types import ASGIApp, Receive, Scope, Send

from lockstitch.kit.errors import LockstitchError

Handler = TypeVar("Handler", bound=Callable[..., Any])
ErrorDocs = dict[int | str, dict[str, Any]]


# What most families say of these statuses (spec 4); a family may say more of its own.
ERROR_DESCRIPTIONS = {
    401: "Missing or invalid API access token",
    404: "Unknown path, method not allowed, or nothing to show",
    413: "Request body too large",
}


def error_docs(
    descriptions: Mapping[int, str], statuses: Iterable[int], body: Callable[[int], dict[str, Any]]
) -> ErrorDocs:
    """The OpenAPI responses of a family's error statuses: each with the family's description and
    its error body (``body(status)``: ``{"model": ...}`` or a ``content`` object)."""
    return {status: {"description": descriptions[status], **body(status)} for status in statuses}


class StitchRoutes:
    """Declares a family's Stitch endpoints on ``router``.

    A handler builds its response itself in the family's shape (``response_model=None``: FastAPI
    neither validates nor filters it), so the OpenAPI document learns the 200 body from ``ok`` (a
    model, or a whole response object when a dict) and the error bodies from the family's
    ``error_docs(*statuses)`` (its ``schemas.error_responses``), or from ``errors`` when that is
    an already built mapping.
    """

    def __init__(self, router: APIRouter, error_docs: Callable[..., ErrorDocs]) -> None:
        self.router = router
        self.error_docs = error_docs

    def __call__(
        self, method: str, path: str, summary: str, ok: Any, errors: tuple[int, ...] | ErrorDocs, **extra: Any
    ) -> Callable[[Handler], Handler]:
        success = ok if isinstance(ok, dict) else {"model": ok}
        documented = errors if isinstance(errors, dict) else self.error_docs(*errors)
        return self.router.api_route(
            path,
            methods=[method],
            summary=summary,
            response_model=None,
            responses={200: success, **documented},
            **extra,
        )


class RouteError(LockstitchError):
    """An error whose wire shape is decided by the route family, not by the raiser."""

    def body(self) -> object:
        return {"message": self.message}


class CollapseSlashes:
    """Spec 9.24: repeated slashes in a request path are one (``/v4//sources/5`` is
    ``/v4/sources/5``), so a client that joins ``base + "/" + path`` still finds its routes.

    A plain ASGI wrapper, not a BaseHTTPMiddleware: it only rewrites the scope, costing nothing
    when the path is already clean. Percent-encoded slashes (``%2F``) are data and stay.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and "//" in scope["path"]:
            scope = dict(scope)
            scope["path"] = _collapse(scope["path"])
            raw = scope.get("raw_path")
            if isinstance(raw, bytes):
                scope["raw_path"] = _collapse(raw.decode("latin-1")).encode("latin-1")
        await self.app(scope, receive, send)


def _collapse(path: str) -> str:
    while "//" in path:
        path = path.replace("//", "/")
    return path
