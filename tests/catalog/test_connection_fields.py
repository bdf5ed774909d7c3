"""Every place a plugin connects to goes through the outbound policy: one rule, no forgotten field.

A property whose json_schema says it is a host or a URL (``format: hostname``, ``ipv4``, ``ipv6``,
``uri``, alone or in an ``anyOf``) and that a type maps into its plugin's config must be mapped
with ``convert: host`` or ``convert: url`` (``catalog.tap_config.check_addresses``). The only
exceptions are values that are not places to connect to, named here with the reason.
"""

from __future__ import annotations

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
                if mapping is None or not (_formats(prop.json_schema) & PLACES):
                    continue
                seen += 1
                if mapping.convert not in ("host", "url") and (type_name, prop.name) not in NOT_A_CONNECTION:
                    unchecked.append(f"{type_name}.{prop.name}")
    assert not unchecked, f"hosts or URLs handed to a plugin without the outbound policy: {unchecked}"
    assert seen >= 6  # hp-postgres host and ssh_host, hp-mysql host, rest-api api_url, postgres host...
