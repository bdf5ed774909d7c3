"""OAuth extension errors, in the sources error shape (they live under /v4/sources/{id}/...)."""

from __future__ import annotations

from lockstitch.kit.errors import SourceError


def invalid_body(message: str) -> SourceError:
    return SourceError("InvalidBody", message)


def no_oauth(source_type: str) -> SourceError:
    return SourceError("InvalidType", f"source type ({source_type}) has no OAuth step")


def no_managed_app(provider: str) -> SourceError:
    return SourceError(
        "ManagedOAuthUnavailable",
        f"no managed OAuth app is configured for provider ({provider}); "
        "send client_id, client_secret and refresh_token from your own app instead",
    )


def bad_return_url(reason: str) -> SourceError:
    return SourceError("InvalidReturnUrl", f"return_url {reason}")


def unregistered_origin(origin: str) -> SourceError:
    return SourceError(
        "InvalidReturnUrl",
        f"return_url's origin ({origin}) is not registered for this account; "
        "add it with PUT /v4/account/return-origins",
    )


def too_many_origins(limit: int) -> SourceError:
    return SourceError("InvalidBody", f"at most {limit} origins")


def no_credentials(source_id: int) -> SourceError:
    return SourceError("NotFound", f"source ({source_id}) has no OAuth credentials", status_code=404)


def scope_required() -> SourceError:
    return SourceError(
        "AccessDenied",
        "this API token may not read credentials: it needs the credentials:read scope",
        status_code=403,
    )


def credentials_invalid(status: str, message: str) -> SourceError:
    return SourceError("CredentialsInvalid", message, status_code=409, status=status)


def credentials_unavailable(message: str) -> SourceError:
    error = SourceError("CredentialsUnavailable", message, status_code=503)
    error.headers = {"Retry-After": "30"}
    return error
