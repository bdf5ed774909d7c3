"""The loader refuses a ``tap.writes_back`` that could not work, with the file and the reason:
an OAuth token (relay type or not: the token engine alone stores tokens), a property that is
not ``tap_mutable``, one not mapped as a string. The packaged catalogue passes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from lockstitch.catalog.loader import PACKAGED_SOURCES, load_catalog, load_source_type
from lockstitch.kit.errors import ConfigurationError


def _variant(tmp_path: Path, packaged: str, change: Any) -> Path:
    raw = yaml.safe_load((PACKAGED_SOURCES / packaged).read_text())
    change(raw)
    path = tmp_path / packaged
    path.write_text(yaml.safe_dump(raw))
    return path


def _refused(path: Path) -> str:
    with pytest.raises(ConfigurationError) as refused:
        load_source_type(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: "), message
    return message


def test_packaged_oauth_types_write_back_no_token() -> None:
    """Every packaged type loads; no OAuth type lists its tokens; Google Analytics keeps its
    profile cache."""
    catalog = load_catalog()
    for source_type in catalog.source_types():
        tap, oauth = source_type.definition.tap, source_type.definition.oauth
        if tap is not None and oauth is not None:
            assert oauth.refresh_token not in tap.writes_back, source_type.type
    analytics = catalog.source_type("platform.google-analytics")
    assert analytics is not None
    assert analytics.definition.tap is not None
    assert analytics.definition.tap.writes_back == ["cached_profile_lookup"]


@pytest.mark.parametrize("packaged", ["lockstitch.rest-api.yaml", "platform.quickbooks.yaml"])
def test_a_refresh_token_in_writes_back_is_refused(tmp_path: Path, packaged: str) -> None:
    """A relay type (rest-api) and a type whose tap is handed the token (QuickBooks) alike."""

    def add(raw: dict[str, Any]) -> None:
        raw["tap"]["writes_back"] = ["refresh_token"]

    message = _refused(_variant(tmp_path, packaged, add))
    assert "tap.writes_back: refresh_token is an OAuth token" in message
    assert "token engine alone stores and refreshes it" in message


def test_a_property_the_tap_may_not_change_is_refused(tmp_path: Path) -> None:
    """A property whose card does not say ``tap_mutable`` cannot be written back."""

    def add(raw: dict[str, Any]) -> None:
        raw["tap"]["writes_back"] = ["cached_profile_lookup", "view_id"]

    message = _refused(_variant(tmp_path, "platform.google-analytics.yaml", add))
    assert "tap.writes_back: view_id is not a tap_mutable property" in message


def test_a_property_not_mapped_as_a_string_is_refused(tmp_path: Path) -> None:
    """A converted mapping (here ``json``) is refused: what the tap rewrites is compared with,
    and stored as, the string it was handed."""

    def convert(raw: dict[str, Any]) -> None:
        raw["tap"]["config"]["cached_profile_lookup"]["convert"] = "json"

    message = _refused(_variant(tmp_path, "platform.google-analytics.yaml", convert))
    assert "tap.writes_back: cached_profile_lookup must be mapped in tap.config as a string" in message
