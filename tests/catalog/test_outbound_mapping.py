"""Every place a partner names for a tap to connect to goes through the outbound policy.

A property a tap connects to (a host, a base URL, an API endpoint) is partner input: its mapping
must convert it as ``host`` or ``url`` so ``catalog.tap_config.check_addresses`` checks it before
the tap starts. A property whose value only completes a fixed provider domain (Zendesk's
``subdomain``) is not a place and stays a string.
"""

from __future__ import annotations

import json
import re

import pytest

from lockstitch.catalog.loader import load_catalog
from lockstitch.catalog.source_type import SourceType
from lockstitch.catalog.tap_config import ConfigError, build_config, check_addresses
from lockstitch.kit.outbound import OutboundPolicy, unreachable

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


async def _resolve(name: str) -> list[str]:
    return {"wd.partner.example": ["198.51.100.7"], "inside.partner.example": ["10.0.0.5"]}[name]


# 198.51.100.0/24 is a documentation range, so allowed explicitly; 10.0.0.5 stays private.
POLICY = OutboundPolicy(allow_private=False, allowed_cidrs=["198.51.100.0/24"], resolver=_resolve)


def _reports(*urls: str) -> str:
    return json.dumps([{"report_name": f"r{i}", "report_url": url} for i, url in enumerate(urls)])


async def test_urls_inside_a_json_property_are_checked_before_the_tap_connects() -> None:
    """Workday RaaS's ``reports`` is a JSON string of reports whose ``report_url`` the tap
    downloads: every one goes through the outbound policy (one private address refuses the whole
    config, with the uniform message), its name kept for TLS; the value reaches the tap as given."""
    workday = CATALOG.source_type("platform.workday-raas")
    assert workday is not None
    tap = workday.definition.tap
    assert tap is not None
    good = _reports("https://wd.partner.example/ccx/a", "https://wd.partner.example/ccx/b")
    assert await check_addresses(POLICY, tap.config, {"reports": good}) == {}
    assert build_config(tap.config, tap.settings, {"reports": good})["reports"] == good

    inside = _reports("https://wd.partner.example/ccx/a", "https://inside.partner.example/ccx/b")
    with pytest.raises(ConfigError) as refused:
        await check_addresses(POLICY, tap.config, {"reports": inside})
    assert str(refused.value) == unreachable()
    assert "inside.partner.example" not in str(refused.value)

    for bad in ("not json", '{"report_url": "https://wd.partner.example/"}', "[1]"):
        with pytest.raises(ConfigError, match="property reports must be a JSON array of objects"):
            await check_addresses(POLICY, tap.config, {"reports": bad})
    with pytest.raises(ConfigError, match="property reports must be an absolute http"):
        await check_addresses(POLICY, tap.config, {"reports": _reports("file:///etc/passwd")})
