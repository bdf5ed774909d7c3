"""Test-only OAuth 2.0 / OIDC provider (npm oidc-provider) and a fault-injecting proxy; see harness.py."""
