"""The packaged OAuth provider specs: every one loads, names only absolute https endpoints, and
says what its provider documents about rotation and token lifetime.

The tables below are the facts from the providers' docs (and, where the docs are silent, from
how the Singer tap Stitch ran treats the refresh token); a YAML that drifts from them fails here.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from lockstitch.catalog.providers import PACKAGED_PROVIDERS, ProviderSpec, load_providers
from lockstitch.kit.errors import ConfigurationError

# Provider name -> the Stitch source types (without `platform.`) whose oauth step uses it.
USED_BY: dict[str, list[str]] = {
    "google": [
        "google-analytics",
        "google-sheets",
        "adwords",
        "google-ads",
        "doubleclick-campaign-manager",
        "google-search-console",
    ],
    "microsoft": ["bing-ads"],
    "harvest": ["harvest", "harvest-forecast"],
    "salesforce": ["salesforce", "pardot"],
    "campaign-monitor": ["campaign-monitor"],
    "eloqua": ["eloqua"],
    "atlassian": ["jira-cloud"],
    "asana": ["asana"],
    "ebay": ["ebay"],
    "helpscout": ["helpscout"],
    "deputy": ["deputy"],
    "outreach": ["outreach"],
    "adroll": ["adroll"],
    "square": ["square"],
    "snapchat": ["snapchat-ads"],
    "crossbeam": ["crossbeam"],
    "quickbooks": ["quickbooks"],
    "xero": ["xero"],
    "hubspot": ["hubspot"],
    # Long-lived access tokens: specs for future managed handshakes.
    "facebook": ["facebook"],
    "linkedin": ["linkedin-ads"],
    "intercom": ["intercom"],
    "mailchimp": ["mailchimp"],
    "stripe": ["stripe"],
    "pinterest": ["pinterest-ads"],
    "zendesk-chat": ["zendesk-chat"],
    "github": ["github"],
    "slack": ["slack"],
    "pipedrive": ["pipedrive"],
    "zoom": ["zoom"],
}

# Providers whose refresh returns a new refresh token and retires the old one, and why we say so.
ROTATING: dict[str, str] = {
    "atlassian": "rotating refresh tokens: the old one is invalidated after a 10-minute leeway",
    "xero": "refresh tokens rotate on every use (30-minute grace for a lost answer)",
    "quickbooks": "Intuit replaces refresh tokens regularly; the answer carries the one to use next",
    "zoom": "each refresh returns a new refresh token and invalidates the old one",
    "eloqua": "docs silent on retirement; tap-eloqua stores the new refresh token every refresh",
    "helpscout": "docs silent on retirement; tap-helpscout stores the new refresh token every refresh",
    "deputy": "docs silent on retirement; tap-deputy stores the new refresh token every refresh",
    "adroll": "docs not checked; tap-adroll stores the new refresh token every refresh",
    # The generic provider points at unknown servers: assume the worst (never resend).
    "oauth2": "unknown servers: assumed rotating so a spent token is never sent again",
}

# A documented grace for a used refresh token, in seconds (only where the provider states one).
GRACE: dict[str, int] = {"xero": 1800, "atlassian": 600}

# Access tokens that do not expire (no refresh flow): default_expires_in is null.
NON_EXPIRING = {"intercom", "mailchimp", "stripe", "zendesk-chat", "github", "slack"}


@pytest.fixture(scope="module")
def specs() -> dict[str, ProviderSpec]:
    return load_providers()


def test_every_packaged_file_loads_under_its_file_name(specs: dict[str, ProviderSpec]) -> None:
    """Every YAML in the providers directory loads, and its `name` is its file name."""
    files = sorted(PACKAGED_PROVIDERS.glob("*.yaml"))
    assert len(files) == len(specs)
    assert {path.stem for path in files} == set(specs)


def test_every_named_provider_exists(specs: dict[str, ProviderSpec]) -> None:
    """Each provider the Stitch types name is packaged (the source-type files rely on the names)."""
    assert sorted(set(USED_BY) - set(specs)) == []


@pytest.mark.parametrize("field", ["authorization_url", "token_url", "revocation_url", "issuer"])
def test_endpoints_are_absolute_https_urls(specs: dict[str, ProviderSpec], field: str) -> None:
    """Every endpoint is an absolute https URL with a host (the outbound policy trusts these)."""
    bad = []
    for name, spec in specs.items():
        value = getattr(spec, field)
        if value is None:
            continue
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.hostname or "{" in value:
            bad.append(f"{name}: {value}")
    assert bad == []


def test_rotating_providers_are_exactly_the_documented_ones(specs: dict[str, ProviderSpec]) -> None:
    """`rotates_refresh_tokens` is true for exactly the providers in ROTATING."""
    rotating = {name for name, spec in specs.items() if spec.rotates_refresh_tokens}
    assert rotating == set(ROTATING)


def test_grace_periods_are_only_the_documented_ones(specs: dict[str, ProviderSpec]) -> None:
    """A refresh-token grace is set only where documented, and only on rotating providers."""
    graces = {n: s.refresh_token_grace_seconds for n, s in specs.items() if s.refresh_token_grace_seconds}
    assert graces == GRACE
    assert set(graces) <= set(ROTATING)


def test_token_lifetimes_are_positive_or_null(specs: dict[str, ProviderSpec]) -> None:
    """`default_expires_in` is a positive number of seconds, or null exactly for non-expiring tokens."""
    assert {n for n, s in specs.items() if s.default_expires_in is None} == NON_EXPIRING
    assert [
        n for n, s in specs.items() if s.default_expires_in is not None and s.default_expires_in <= 0
    ] == []


def test_specs_carry_a_header_comment_naming_their_source() -> None:
    """Each file starts with a comment (where the facts come from), before any key."""
    missing = [
        path.name
        for path in sorted(PACKAGED_PROVIDERS.glob("*.yaml"))
        if not path.read_text(encoding="utf-8").startswith("# ")
    ]
    assert missing == []


def test_separator_is_a_single_character(specs: dict[str, ProviderSpec]) -> None:
    """Scope separators are a space or a comma (how the providers document joining scopes)."""
    assert {s.scope_separator for s in specs.values()} <= {" ", ","}
    assert {n for n, s in specs.items() if s.scope_separator == ","} == {
        "campaign-monitor",
        "facebook",
        "pinterest",
        "slack",
    }


def test_atlassian_asks_for_consent_and_the_api_audience(specs: dict[str, ProviderSpec]) -> None:
    """Atlassian issues a refresh token only with offline_access, audience and prompt=consent."""
    atlassian = specs["atlassian"]
    assert atlassian.authorization_params == {"audience": "api.atlassian.com", "prompt": "consent"}
    assert "offline_access" in atlassian.scopes


def test_a_malformed_spec_is_a_configuration_error(tmp_path: Path) -> None:
    """A spec with an unknown key is refused with the file named, not loaded half-way."""
    spec = yaml.safe_load((PACKAGED_PROVIDERS / "asana.yaml").read_text(encoding="utf-8"))
    spec["rotates_refresh_token"] = True  # misspelt: must not pass silently
    (tmp_path / "asana.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"asana\.yaml"):
        load_providers(tmp_path)
