"""The keyring: AES-256-GCM, versioned keys, associated data binding a secret to its row."""

from __future__ import annotations

import pytest

from lockstitch.kit.crypto import DecryptionError, Keyring, generate_key, parse_key
from lockstitch.kit.errors import ConfigurationError

AAD = b"lockstitch:source-credential:1:2:password"


def test_roundtrip_and_fresh_nonces() -> None:
    ring = Keyring.from_specs([generate_key("k1")])
    first, second = ring.encrypt("hunter2", AAD), ring.encrypt("hunter2", AAD)
    assert first != second  # a new nonce each time
    assert "hunter2" not in first
    assert ring.decrypt(first, AAD) == ring.decrypt(second, AAD) == "hunter2"
    assert first.startswith("v1.k1.")


def test_ciphertext_bound_to_its_row() -> None:
    ring = Keyring.from_specs([generate_key("k1")])
    sealed = ring.encrypt("hunter2", AAD)
    for other in (
        b"lockstitch:source-credential:1:3:password",
        b"lockstitch:source-credential:2:2:password",
        b"lockstitch:source-credential:1:2:client_secret",
    ):
        with pytest.raises(DecryptionError):
            ring.decrypt(sealed, other)


def test_tampering_is_detected() -> None:
    ring = Keyring.from_specs([generate_key("k1")])
    sealed = ring.encrypt("hunter2", AAD)
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    for bad in (flipped, "v1.k1.", "v2.k1.abc", "plain text", sealed.replace("v1.k1.", "v1.k9.")):
        with pytest.raises(DecryptionError):
            ring.decrypt(bad, AAD)


def test_rotation_newest_seals_all_open() -> None:
    k1, k2 = generate_key("k1"), generate_key("k2")
    old = Keyring.from_specs([k1])
    sealed = old.encrypt("secret-one", AAD)
    both = Keyring.from_specs([k2, k1])
    assert both.newest_id == "k2"
    assert both.decrypt(sealed, AAD) == "secret-one"
    assert both.needs_rotation(sealed)
    resealed = both.reseal(sealed, AAD)
    assert both.key_id_of(resealed) == "k2"
    assert not both.needs_rotation(resealed)
    assert both.decrypt(resealed, AAD) == "secret-one"
    with pytest.raises(DecryptionError, match="unknown key"):
        old.decrypt(resealed, AAD)
    assert Keyring.from_specs([k2]).decrypt(resealed, AAD) == "secret-one"  # k1 can be retired


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nokey", "must look like"),
        ("k1:changeme", "placeholder"),
        ("k1:" + "A" * 43, "entropy"),
        ("k1:abc", "32 bytes"),
        ("k1:!!!!", "base64"),
        ("bad id:" + "Q" * 20 + "w" * 23, "must look like"),
    ],
)
def test_bad_keys_are_refused(spec: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_key(spec)


def test_empty_and_duplicate_keyrings_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        Keyring([])
    key = generate_key("same")
    with pytest.raises(ConfigurationError, match="unique"):
        Keyring.from_specs([key, key])


def test_key_repr_hides_material() -> None:
    key = parse_key(generate_key("k1"))
    assert repr(key) == "Key('k1')"
