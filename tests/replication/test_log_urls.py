"""Signed log URLs and the keyring's derived keys, without a server."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from lockstitch.kit.crypto import Keyring, generate_key, parse_key
from lockstitch.replication import log_urls
from lockstitch.replication.log_urls import LinkRejectedError

JOB = "116078.233312.sync.e4d8eae5-b23e-11ea-94a1-02cbbd504f7d"
NOW = 1_700_000_000


def _parts(url: str) -> tuple[str, str, str]:
    split = urlsplit(url)
    query = parse_qs(split.query)
    return split.path, query["expires"][0], query["signature"][0]


def test_derived_keys_are_per_purpose_newest_first() -> None:
    k1, k2 = generate_key("k1"), generate_key("k2")
    ring = Keyring.from_specs([k2, k1])
    keys = ring.derived_keys(b"lockstitch log urls")
    assert len(keys) == 2
    assert all(len(key) == 32 for key in keys)
    assert keys[1] == Keyring.from_specs([k1]).derived_keys(b"lockstitch log urls")[0]
    assert ring.derived_keys(b"another purpose")[0] != keys[0]
    assert ring.derived_keys(b"lockstitch log urls") == keys  # deterministic
    assert parse_key(k2).material not in keys  # never the material itself


def test_signed_url_round_trip() -> None:
    ring = Keyring.from_specs([generate_key("k1")])
    url = log_urls.signed_url("https://lockstitch.example.com/", ring, JOB, NOW)
    path, expires, signature = _parts(url)
    assert url.startswith(f"https://lockstitch.example.com/logs/{JOB}?")
    assert path == f"/logs/{JOB}"
    assert int(expires) == NOW + log_urls.LIFETIME_SECONDS
    log_urls.verify(ring, JOB, expires, signature, NOW)
    log_urls.verify(ring, JOB, expires, signature, NOW + log_urls.LIFETIME_SECONDS)
    with pytest.raises(LinkRejectedError, match="expired"):
        log_urls.verify(ring, JOB, expires, signature, NOW + log_urls.LIFETIME_SECONDS + 1)


def test_rejections() -> None:
    ring = Keyring.from_specs([generate_key("k1")])
    _, expires, signature = _parts(log_urls.signed_url("http://x", ring, JOB, NOW))
    cases = [
        (JOB + "x", expires, signature),
        (JOB, str(int(expires) + 1), signature),
        (JOB, expires, signature[:-1]),
        (JOB, expires, "é" * 64),
        (JOB, expires, ""),
        (JOB, None, signature),
        (JOB, expires, None),
        (JOB, "١٢٣", signature),
        (JOB, "9" * 5000, signature),
    ]
    for job, exp, sig in cases:
        with pytest.raises(LinkRejectedError):
            log_urls.verify(ring, job, exp, sig, NOW)
    # Another deployment's keys sign nothing here.
    stranger = Keyring.from_specs([generate_key("k1")])
    with pytest.raises(LinkRejectedError):
        log_urls.verify(stranger, JOB, expires, signature, NOW)


def test_urls_signed_before_a_rotation_still_verify() -> None:
    k1, k2 = generate_key("k1"), generate_key("k2")
    _, expires, signature = _parts(log_urls.signed_url("http://x", Keyring.from_specs([k1]), JOB, NOW))
    log_urls.verify(Keyring.from_specs([k2, k1]), JOB, expires, signature, NOW)
    with pytest.raises(LinkRejectedError):
        log_urls.verify(Keyring.from_specs([k2]), JOB, expires, signature, NOW)
