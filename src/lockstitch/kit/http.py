"""HTTP glue shared by every router: the process context, and errors that depend on the route.

Stitch answers 401, 404 (which it also uses for "method not allowed") and oversize bodies in the
error shape of the endpoint's family (spec section 4). ``RouteError`` carries only a status and
a message; the app's error handler picks the family's shape from the request path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from starlette.requests import Request

from lockstitch.kit.errors import LockstitchError

if TYPE_CHECKING:
    from lockstitch.context import Context


class RouteError(LockstitchError):
    """An error whose wire shape is decided by the route family, not by the raiser."""

    def body(self) -> object:
        return {"message": self.message}


def context_of(request: Request) -> Context:
    return cast("Context", request.app.state.ctx)
