"""OAuth: the managed handshake and a token lifecycle that never silently dies.

    managed:  POST /v4/sources/{id}/oauth/authorize --> provider consent --> GET /oauth/callback
              (state: single use, 10 min, bound to account+source; PKCE S256; iss checked)
              --> code exchange --> OAuthCredential(app="managed")
    own app:  POST/PUT /v4/sources with client_id, client_secret, refresh_token
              --> OAuthCredential(app="source", status="pending") --> validated by a first refresh

    lifecycle (worker, any number of processes): credentials due --> lease --> in-flight marker
              committed --> token request --> new tokens stored with compare-and-swap --> due again
              before expiry. invalid_grant --> needs_reauth (source system-paused, one event);
              invalid_client --> the app is flagged; 5xx/429/timeouts --> back off (Retry-After).

Protocol code (``protocol.py``) is plain RFC 6749 over httpx and imports no web framework.
"""
