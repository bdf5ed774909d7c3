"""Account errors, in the v3 accounts shape ``{"code", "message", "errors"}``."""

from __future__ import annotations

from lockstitch.kit.errors import AccountError


def invalid_form(errors: dict[str, str]) -> AccountError:
    return AccountError("BadRequest", "Invalid form data.", errors=errors)


def existing_user() -> AccountError:
    return AccountError("ExistingUser", "This email address is already associated with an active user.")


def bad_partner() -> AccountError:
    # One answer for an unknown partner id and a wrong secret: no hint which partner ids exist.
    return AccountError("Unauthorized", "Invalid partner credentials.", errors={}, status_code=401)
