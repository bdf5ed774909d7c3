"""Wire shapes of ``/v3/destinations``, for the OpenAPI document (built by ``v3_views``; the tests
check real responses against them). As in ``schemas``, there is no field for a credential value.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

NO_SECRETS = (
    "Credentials (properties whose is_credential is true, such as password) are never returned, "
    "although Stitch's v3 examples show one: Lockstitch never puts a secret in a response."
)


class LastCheckOut(BaseModel):
    """Always all three keys. While the current check is queued or running, ``error`` is false and
    ``completed_at`` null."""

    error: bool = Field(description="The destination's current connection check failed")
    started_at: str | None = Field(description="UTC, whole seconds: YYYY-MM-DDTHH:MM:SSZ")
    completed_at: str | None = Field(description="Null until the check finished")


class DestinationV3Out(BaseModel):
    model_config = ConfigDict(json_schema_extra={"description": "A v3 Destination object. " + NO_SECRETS})

    id: int
    type: str
    created_at: str
    updated_at: str
    connection: dict[str, str | bool | int] = Field(
        description="The v4 properties; integer and boolean properties (by their json_schema) typed. "
        + NO_SECRETS
    )
    last_check: LastCheckOut


class DestinationV3In(BaseModel):
    """``POST /v3/destinations`` and ``PUT /v3/destinations/{id}``: exactly these two keys."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="A destination type; on PUT, the destination's own")
    connection: dict[str, str | bool | int | None] = Field(
        description="Property values as strings or typed (5432, false); the v4 rules apply"
    )
