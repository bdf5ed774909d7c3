"""Accounts, API access tokens, partner account creation and request authentication.

    POST /v3/accounts (partner id/secret from the operator config) -> account + first token
    Authorization: Bearer ac_... -> auth.authenticated (routes ask for `who: auth.Auth`) -> Principal

Tokens are ``ac_`` + 32 random bytes; only their SHA-256 is stored (a fast hash is enough for
256-bit random secrets: there is nothing to brute-force).
"""
