"""Every place a plugin connects to goes through the outbound policy: one rule, no forgotten field.

A property whose json_schema says it is a host or a URL (``format: hostname``, ``ipv4``, ``ipv6``,
``uri``, alone or in an ``anyOf``), or whose name says so (Stitch's cards type many base URLs
and API hosts as bare strings: ``base_url``, ``api_url``, ``endpoint``...), and that a type maps
into its plugin's config must be mapped with ``convert: host``, ``tls-host`` or ``url``
(``catalog.tap_config.check_addresses``). The only exceptions are values that are not places to
connect to, named here with the reason. A value that only completes a provider's fixed domain
(Zendesk's ``subdomain``) is not a place.
"""

from __future__ import annotations

import re
from typing import Any

from lockstitch.catalog.loader import load_catalog

# Mapped, uri-shaped, and never connected to by the plugin.
NOT_A_CONNECTION = {
    ("platform.hubspot", "redirect_uri"): "the OAuth redirect the grant was made with, sent as a parameter",
    # The Snowflake connector takes an account identifier and always connects to
    # <account>.snowflakecomputing.com: the partner cannot point it outside Snowflake's domain.
    ("snowflake", "host"): "handed to the target as its Snowflake account, under snowflakecomputing.com",
    ("platform.deputy", "redirect_uri"): "the OAuth redirect the grant was made with, sent as a parameter",
}
PLACES = {"hostname", "ipv4", "ipv6", "uri", "idn-hostname"}
# Names that hold a place to connect to, on Stitch's cards.
PLACE_NAME = re.compile(r"(^|_)(host|url|base_url|api_url|endpoint|identity|organization_uri|qb_url)$")
# Named like a place on the card, but not one (any type).
NOT_A_PLACE = {
    "site_urls": "Google Search Console property ids (the tap calls Google's API)",
    "uat_urls": "Codat's list of URLs to report on, not where the tap connects",
    "space_uri": "an identifier inside the provider's API",
    "instance_url": "Salesforce's, from its token answer (the tap reaches it after login)",
    "check_hostname": "a TLS flag",
}


def _formats(schema: Any) -> set[str]:
    if not isinstance(schema, dict):
        return set()
    found = {schema["format"]} if isinstance(schema.get("format"), str) else set()
    for option in schema.get("anyOf", []) + schema.get("oneOf", []):
        found |= _formats(option)
    return found


def test_every_mapped_host_or_url_is_checked() -> None:
    catalog = load_catalog([])
    unchecked = []
    kinds = [(t.type, t.definition.steps, t.definition.tap) for t in catalog.source_types()]
    kinds += [(t.type, t.definition.steps, t.definition.target) for t in catalog.destination_types()]
    seen = 0
    for type_name, steps, plugin in kinds:
        if plugin is None:
            continue
        for step in steps:
            for prop in step.properties:
                mapping = plugin.config.get(prop.name)
                place = bool(_formats(prop.json_schema) & PLACES) or bool(PLACE_NAME.search(prop.name))
                if mapping is None or not place or prop.name in NOT_A_PLACE:
                    continue
                seen += 1
                checked = mapping.convert in ("host", "tls-host", "url")
                if not checked and (type_name, prop.name) not in NOT_A_CONNECTION:
                    unchecked.append(f"{type_name}.{prop.name}")
    assert not unchecked, f"hosts or URLs handed to a plugin without the outbound policy: {unchecked}"
    assert seen >= 20  # hp-postgres host and ssh_host, hp-mysql host, rest-api api_url, postgres host...
