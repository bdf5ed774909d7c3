"""OpenAPI models of the OAuth extension endpoints."""

from __future__ import annotations

from pydantic import BaseModel, Field


class AuthorizeRequest(BaseModel):
    return_url: str = Field(description="Where the browser goes afterwards; its origin must be registered.")


class AuthorizeResponse(BaseModel):
    authorization_url: str
    expires_at: str


class LastError(BaseModel):
    class_: str = Field(alias="class")
    message: str | None
    at: str | None


class CredentialHealth(BaseModel):
    source_id: int
    provider: str
    app: str = Field(description='"managed" (the operator\'s app) or "source" (the partner\'s own)')
    status: str = Field(
        description="valid, refreshing, backing_off, pending (awaiting validation), incomplete, "
        "needs_reauth, invalid_client"
    )
    access_token_expires_at: str | None
    last_refreshed_at: str | None
    refresh_due_at: str | None
    last_error: LastError | None


class VendedToken(BaseModel):
    access_token: str
    token_type: str
    expires_at: str


class ReturnOrigins(BaseModel):
    origins: list[str] = Field(description="Origins such as https://app.example.com")
