"""Wire shapes of the accounts endpoints, for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from lockstitch.kit.openapi import json_body


class CreateAccountRequest(BaseModel):
    partner_id: str = Field(min_length=1)
    partner_secret: str = Field(min_length=1)
    first_name: str = Field(min_length=1, max_length=200)
    last_name: str = Field(min_length=1, max_length=200)
    company: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320)
    region: str = Field(default="us-east-1", description="us-east-1 or eu-central-1")


class CreateAccountResponse(BaseModel):
    access_token: str
    stitch_account_id: int


class AccountErrorBody(BaseModel):
    code: str
    message: str
    errors: dict[str, str] | None = None


CREATE_REQUEST = json_body(CreateAccountRequest)
CREATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": CreateAccountResponse, "description": "The account and its first API token"},
    400: {"model": AccountErrorBody, "description": "BadRequest (invalid form data) or ExistingUser"},
    401: {"model": AccountErrorBody, "description": "Unknown partner or wrong partner secret"},
    404: {"model": AccountErrorBody, "description": "Method not allowed"},
}
