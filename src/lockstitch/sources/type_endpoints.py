"""``/v4/source-types``: report cards of the types this server can run.

The catalogue itself is data (``catalog``, below every domain); this router answers in the
sources family's shapes (``sources.errors``, ``sources.schemas``), so it lives here.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from lockstitch.accounts.auth import Auth
from lockstitch.context import context_of
from lockstitch.kit.http import StitchRoutes
from lockstitch.kit.json import JSONResponse
from lockstitch.sources import errors, schemas

router = APIRouter(tags=["source types"])
route = StitchRoutes(router, schemas.error_responses)


@route("GET", "/v4/source-types", "List source types", list[schemas.SourceTypeCard], (401, 404))
async def list_source_types(request: Request, who: Auth) -> JSONResponse:
    catalog = context_of(request).catalog
    return JSONResponse([t.type_card(who.pricing_tier) for t in catalog.source_types()])


@route("GET", "/v4/source-types/{source_type}", "Get a source type", schemas.SourceTypeCard, (400, 401, 404))
async def get_source_type(request: Request, source_type: str, who: Auth) -> JSONResponse:
    found = context_of(request).catalog.source_type(source_type)
    if found is None:
        raise errors.invalid_type(source_type)
    return JSONResponse(found.type_card(who.pricing_tier))
