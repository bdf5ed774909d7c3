"""Every place a partner names for a tap to connect to goes through the outbound policy.

A property a tap connects to (a host, a base URL, an API endpoint) is partner input: its mapping
must convert it as ``host`` or ``url`` so ``catalog.tap_config.check_addresses`` checks it before
the tap starts. A property whose value only completes a fixed provider domain (Zendesk's
``subdomain``) is not a place and stays a string.
"""

from __future__ import annotations

import re

import pytest

from lockstitch.catalog.loader import load_catalog
from lockstitch.catalog.source_type import SourceType

CATALOG = load_catalog()
# Names that hold a place to connect to, on Stitch's cards.
PLACE = re.compile(r"(^|_)(host|url|base_url|api_url|endpoint|identity|organization_uri|qb_url)$")
# On the card but not a connection target, each for a reason.
NOT_A_PLACE = {
    "redirect_uri",  # Lockstitch's own callback, filled by the system
    "site_urls",  # Google Search Console property ids (the tap calls Google's API)
    "uat_urls",  # Codat's list of URLs to report on, not where the tap connects
    "space_uri",  # an identifier inside the provider's API
    "instance_url",  # Salesforce's, from its token answer (the tap reaches it after login)
    "check_hostname",  # a TLS flag
}


def _is_place(source_type: SourceType, name: str) -> bool:
    if name in NOT_A_PLACE:
        return False
    schema = source_type.properties[name].definition.json_schema or {}
    formats = {schema.get("format")} | {o.get("format") for o in schema.get("anyOf", [])}
    return bool(PLACE.search(name)) or bool(formats & {"uri", "hostname", "ipv4", "ipv6"})


@pytest.mark.parametrize(
    "source_type", [t for t in CATALOG.source_types() if t.definition.tap], ids=lambda t: t.type
)
def test_places_are_checked_before_a_tap_connects(source_type: SourceType) -> None:
    tap = source_type.definition.tap
    assert tap is not None
    unchecked = [
        name
        for name, mapping in tap.config.items()
        if name in source_type.properties
        and _is_place(source_type, name)
        and mapping.convert not in ("host", "tls-host", "url")
    ]
    assert not unchecked, f"{source_type.type}: map {unchecked} with convert: host or url"
