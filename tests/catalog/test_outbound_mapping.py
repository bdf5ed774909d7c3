"""Places inside a JSON property (``url_fields``) go through the outbound policy too.

Mapped hosts and URLs of every type are held to the policy by ``test_connection_fields.py``; a
JSON property holding URLs (Workday RaaS's reports) is checked field by field here.
"""

from __future__ import annotations

import json

import pytest

from lockstitch.catalog.loader import load_catalog
from lockstitch.catalog.tap_config import ConfigError, build_config, check_addresses
from lockstitch.kit.outbound import OutboundPolicy, unreachable

CATALOG = load_catalog()


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
