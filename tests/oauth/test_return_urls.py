"""Return URLs and origins: only registered origins, no open redirects."""

from __future__ import annotations

import pytest

from lockstitch.oauth.return_urls import UrlError, origin_of, parse_origin, with_params


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://App.Example.com/done?x=1", "https://app.example.com"),
        ("https://app.example.com:443/done", "https://app.example.com"),
        ("https://app.example.com:8443/", "https://app.example.com:8443"),
        ("http://localhost:3000/cb", "http://localhost:3000"),
        ("http://127.0.0.1/cb", "http://127.0.0.1"),
    ],
)
def test_origins(url: str, origin: str) -> None:
    assert origin_of(url) == origin


@pytest.mark.parametrize(
    "url",
    [
        "http://app.example.com/cb",  # plain http off loopback
        "javascript:alert(1)",
        "//evil.example.com/x",
        "https://user:pass@app.example.com/",
        "https:///nohost",
        "ftp://app.example.com/",
        "https://app.example.com:99999/",
        "https://app.example.com/\r\nSet-Cookie: x",
        "",
        "relative/path",
    ],
)
def test_refused_urls(url: str) -> None:
    with pytest.raises(UrlError):
        origin_of(url)


def test_parse_origin_refuses_paths() -> None:
    assert parse_origin("https://App.example.com/") == "https://app.example.com"
    with pytest.raises(UrlError):
        parse_origin("https://app.example.com/path")


def test_with_params_keeps_the_query_and_drops_the_fragment() -> None:
    assert with_params("https://a.test/cb?x=1#frag", {"status": "succeeded", "source_id": "5"}) == (
        "https://a.test/cb?x=1&status=succeeded&source_id=5"
    )


def test_a_return_urls_own_result_parameters_are_replaced_not_repeated() -> None:
    """Issue 8, finding 6: ``?source_id=999&status=succeeded`` in the return_url gave the
    partner's page two of each, the forged ones first. Now only the true result is there; the
    partner's other parameters stay byte for byte."""
    url = "https://a.test/cb?x=1&source_id=999&status=succeeded&error=none&y=a%20b"
    assert with_params(url, {"source_id": "2", "status": "failed", "error": "access_denied"}) == (
        "https://a.test/cb?x=1&y=a%20b&source_id=2&status=failed&error=access_denied"
    )
    assert with_params("https://a.test/cb?status=failed", {"source_id": "2", "status": "succeeded"}) == (
        "https://a.test/cb?source_id=2&status=succeeded"
    )
