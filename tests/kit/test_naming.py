"""Deriving names from display names (Stitch's rules)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lockstitch.kit.naming import derive_name, is_valid_name


@pytest.mark.parametrize(
    ("display_name", "name"),
    [
        ("Shopify", "shopify"),
        ("Google Analytics", "google_analytics"),
        ("DISPLAY_NAME!!!", "display_name"),
        ("####", ""),
        ("Café Orders", "cafe_orders"),
        ("my-source.v2", "my_source_v2"),
        ("  spaced   out  ", "spaced_out"),
        ("2020 Sales", "_sales"),
        ("$money", "money"),
        ("_private", "_private"),
        ("Price$", "price$"),
        ("日本", ""),
    ],
)
def test_derivation(display_name: str, name: str) -> None:
    assert derive_name(display_name) == name


@given(st.text(max_size=80))
def test_derived_names_are_valid_or_empty_or_long(display_name: str) -> None:
    name = derive_name(display_name)
    assert name == "" or is_valid_name(name) or len(name) >= 50


@pytest.mark.parametrize("name", ["a" * 50, "1abc", "$abc", "Abc", "a-b", ""])
def test_invalid_names(name: str) -> None:
    assert not is_valid_name(name)


@pytest.mark.parametrize("name", ["a", "_", "a" * 49, "a1$_"])
def test_valid_names(name: str) -> None:
    assert is_valid_name(name)
