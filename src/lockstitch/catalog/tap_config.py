"""A plugin's config file from a connection's properties, through the type's declared mapping.

Stitch keeps every property as a string under Stitch's name (``dbname``, ``"port": "5432"``);
taps want their own names and JSON types (``database``, ``"port": 5432``). The mapping in the
type's YAML (``catalog.models.ConfigMapping``) says where each property goes and how it converts;
fixed ``settings`` come first and mapped values land on top of them.

Two kinds of values are partner input pointing somewhere on the server's side, and each has one
gate: hosts and URLs the plugin will connect to (``check_addresses``: the outbound policy, a
host replaced by the address checked), and local paths (``kit.paths``: inside the account's
files root, globs expanded and links followed).

In the catalogue (it interprets the type's data) so that the runner (taps) and destinations
(targets) both reach it from above.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lockstitch.catalog.models import ConfigMapping, TokenRelayDef
from lockstitch.kit.outbound import OutboundPolicy, Refused, unreachable
from lockstitch.kit.paths import PathRefusedError, confine_glob


class ConfigError(Exception):
    """A property cannot become what the plugin needs (message names the property, never its value)."""


@dataclass(frozen=True)
class LocalFiles:
    """Where ``local-path`` properties may lead: the account's files root, never the server's
    own files (``kit.paths``)."""

    root: Path
    server_paths: tuple[Path, ...] = ()


def build_config(
    mapping: Mapping[str, ConfigMapping],
    settings: Mapping[str, Any],
    values: Mapping[str, Any],
    *,
    files: LocalFiles | None = None,
) -> dict[str, Any]:
    """``settings`` overlaid with every mapped property that has a value. Hosts and URLs must
    have been through ``check_addresses`` first (its replacements merged into ``values``)."""
    config: dict[str, Any] = copy.deepcopy(dict(settings))
    for name, target in mapping.items():
        value = values.get(name)
        if value is None or value == "":
            continue
        _put(config, target.key.split("."), _convert(name, value, target.convert, files))
    return config


def relayed_config(
    relay: TokenRelayDef,
    mapping: Mapping[str, ConfigMapping],
    settings: Mapping[str, Any],
    values: Mapping[str, Any],
    *,
    files: LocalFiles | None,
    relay_url: str,
    client_id: str,
    client_secret: str,
    refresh_token: str,
) -> dict[str, Any]:
    """The config of a tap pointed at a token relay (``runner.token_relay``): the relay's
    settings over the type's, the mapped values, then the relay's URL and throwaway client in
    the keys the type names. One rule for real runs and the catalogue verifier."""
    config = build_config(mapping, {**settings, **relay.settings}, values, files=files)
    config.update(
        {
            relay.token_url_key: relay_url,
            relay.client_id_key: client_id,
            relay.client_secret_key: client_secret,
            relay.refresh_token_key: refresh_token,
        }
    )
    return config


async def check_addresses(
    policy: OutboundPolicy, mapping: Mapping[str, ConfigMapping], values: Mapping[str, Any]
) -> dict[str, Any]:
    """Every host and URL the mapping hands a plugin (``url_fields`` inside JSON-array properties
    included), through the outbound policy: returns the values to use instead (a host becomes the
    address that was checked). Raises ``ConfigError`` with the uniform message when one is
    refused, before any plugin runs."""
    replaced: dict[str, Any] = {}
    for name, target in mapping.items():
        value = values.get(name)
        if value is None or value == "":
            continue
        for url in _embedded_urls(name, value, target.url_fields):
            await _check(policy, _url_host(name, url))
        if target.convert not in ("host", "tls-host", "url"):
            continue
        if target.tunnelled_by and _is_true(values.get(target.tunnelled_by)):
            continue  # the bastion resolves it; the tunnel's own host is checked instead
        text = str(value)
        checked = await _check(policy, _url_host(name, text) if target.convert == "url" else text)
        if target.convert == "host" and not (target.verified_by and _is_true(values.get(target.verified_by))):
            replaced[name] = checked
    return replaced


async def _check(policy: OutboundPolicy, host: str) -> str:
    """The address the policy checked ``host`` at, or ``ConfigError`` with the uniform message."""
    try:
        checked = await policy.check(host)
    except Refused:
        # Host-less, as a plugin's own failure to connect reads (runner.messages): a partner
        # cannot tell a refused address from a closed port.
        raise ConfigError(unreachable()) from None
    return checked.address


def _embedded_urls(name: str, value: Any, fields: list[str]) -> list[str]:
    """The ``url_fields`` of each object in a JSON-array property (empty when none are declared)."""
    if not fields:
        return []
    shape = ConfigError(f"property {name} must be a JSON array of objects")
    try:
        items = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        raise shape from None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise shape
    urls = []
    for item in items:
        for field in fields:
            url = item.get(field)
            if url is None:
                continue  # the plugin's own complaint: nothing to connect to
            if not isinstance(url, str):
                raise ConfigError(f"property {name}: each {field} must be an absolute http(s) URL")
            urls.append(url)
    return urls


def _url_host(name: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"property {name} must be an absolute http(s) URL")
    return parts.hostname


def _is_true(value: Any) -> bool:
    return value is True or str(value).strip().lower() == "true"


def _convert(name: str, value: Any, how: str, files: LocalFiles | None) -> Any:
    if how == "json":
        return json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value
    if how == "integer":
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"property {name} must be a whole number") from None
    if how == "boolean":
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() == "true"
    if how in ("csv-list", "csv-string"):
        items = value if isinstance(value, list) else str(value).split(",")
        kept = [str(item).strip() for item in items if str(item).strip()]
        return kept if how == "csv-list" else ",".join(kept)
    if how == "local-path":
        return str(_local_path(name, str(value), files))
    return value


def _local_path(name: str, value: str, files: LocalFiles | None) -> Path:
    if files is None:
        raise ConfigError(f"property {name} names a local file but no local files root is configured")
    try:
        return confine_glob(files.root, value, files.server_paths)
    except PathRefusedError:
        raise ConfigError(f"property {name} must name files inside the account's local files root") from None


def read_key(config: Any, key: str) -> Any:
    """The value at a dotted config key (as ``build_config`` writes it), or None when absent:
    how a value the tap rewrote in its config file is found again (``runner.write_back``)."""
    node: Any = config
    for part in key.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def _put(config: dict[str, Any], keys: list[str], value: Any) -> None:
    """Set ``value`` at a dotted path; numeric parts index lists (``files.0.path``)."""
    node: Any = config
    for index, key in enumerate(keys):
        last = index == len(keys) - 1
        if isinstance(node, list):
            position = int(key)
            while len(node) <= position:
                node.append({})
            if last:
                node[position] = value
            else:
                node = node[position]
            continue
        if last:
            node[key] = value
        else:
            nxt = keys[index + 1]
            if not isinstance(node.get(key), (dict, list)):
                node[key] = [] if nxt.isdigit() else {}
            node = node[key]
