"""Self-tests of the OAuth provider harness (tests/oauth_server)."""
