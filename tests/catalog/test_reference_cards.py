"""The types Lockstitch ships serve the same report cards as Stitch's reference data."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockstitch.catalog.loader import PACKAGED_SOURCES, load_catalog, load_source_type
from lockstitch.catalog.source_type import SourceType
from lockstitch.kit.errors import ConfigurationError
from tests.stitch_docs import reference_cards

SHIPPED = load_catalog()
CONFIGURABLE = sorted(name for name, card in reference_cards().items() if card.get("steps"))
# The Stitch names Lockstitch serves: platform.* (SaaS and databases), webhook.* and import_api
# (push sources), hp.rando (Stitch's test source), and Lockstitch's own lockstitch.* types.
PREFIXES = ("platform.", "webhook.", "hp.", "lockstitch.")


def test_required_types_are_shipped() -> None:
    names = {t.type for t in SHIPPED.source_types()}
    assert set(CONFIGURABLE) <= names, sorted(set(CONFIGURABLE) - names)
    assert len(CONFIGURABLE) == 184
    assert any(n.startswith("lockstitch.") for n in names), "a local file source of Lockstitch's own"
    for name in names:
        assert name.startswith(PREFIXES) or name == "import_api", name
    legacy = {name for name, card in reference_cards().items() if not card.get("steps")}
    assert len(legacy) == 44
    assert not legacy & names, "legacy cards (no steps) are not served as types"


@pytest.mark.parametrize("name", CONFIGURABLE)
def test_card_matches_stitch(name: str) -> None:
    """The card a standard account gets (the account Stitch's reference was read with) is the
    reference card, except ``access`` false where the type has no tap."""
    reference = reference_cards()[name]
    source_type = SHIPPED.source_type(name)
    assert source_type is not None, f"{name} is not shipped"
    card = source_type.type_card("standard")
    runnable = source_type.definition.tap is not None
    assert card == {
        **reference,
        "details": {**reference["details"], "access": reference["details"]["access"] and runnable},
    }
    assert list(card) == list(reference)
    assert list(card["details"]) == list(reference["details"])
    enterprise = source_type.type_card("enterprise")
    usable = runnable and reference["details"]["pipeline_state"] not in ("alpha", "deprecated")
    assert enterprise == {**card, "details": {**card["details"], "access": usable}}


@pytest.mark.parametrize("source_type", SHIPPED.source_types(), ids=lambda t: t.type)
def test_every_shipped_type_names_its_tap_or_says_why(source_type: SourceType) -> None:
    tap = source_type.definition.tap
    if tap is None:
        assert source_type.details.access is False
        assert source_type.definition.notes.strip(), f"{source_type.type} must say why it has no tap"
        return
    assert tap.package
    assert tap.executable
    assert tap.version[0].isdigit(), "pinned to an exact version"
    oauth_step = [p.name for s in source_type.definition.steps if s.type == "oauth" for p in s.properties]
    if any("refresh_token" in name for name in oauth_step):
        assert source_type.definition.oauth is not None, f"{source_type.type} needs an OAuth provider"
    oauth = source_type.definition.oauth
    if oauth is not None:
        assert oauth.provider in SHIPPED.providers
        assert {oauth.refresh_token} <= set(oauth_step) | set(source_type.properties)


def test_operator_directory_adds_and_overrides(tmp_path: Path) -> None:
    original = (PACKAGED_SOURCES / "platform.github.yaml").read_text()
    (tmp_path / "github.yaml").write_text(
        original.replace("pipeline_state: released", "pipeline_state: beta")
    )
    catalog = load_catalog([tmp_path])
    github = catalog.source_type("platform.github")
    assert github is not None
    assert github.details.pipeline_state == "beta"
    assert github.origin == str(tmp_path / "github.yaml")
    assert len(catalog.source_types()) == len(SHIPPED.source_types())


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("type: x\nsteps: []\ndetails: {protocol: x}\n", "steps"),
        ("type: x\nsteps: [{type: bogus}]\ndetails: {protocol: x}\n", "steps.0.type"),
        ("type: x\nsteps: [{type: form}]\n", "details"),
        ("type: [\n", "not valid YAML"),
        ("type: x\nsteps: [{type: form}]\nnotes: gone\ndetails: {protocol: x}\n", "access false"),
        ("type: x\nsteps: [{type: form}]\ndetails: {protocol: x, access: false}\n", "say why in notes"),
        ("type: x\nsteps: [{type: form}]\nnotes: '  '\ndetails: {protocol: x, access: false}\n", "notes"),
        (
            "type: x\ndetails: {protocol: x}\nsteps: [{type: form, properties: [{name: p, is_required: true, "
            "is_credential: false, system_provided: false, property_type: user_provided, "
            "json_schema: {type: 7}}]}]\ntap: {package: p, version: '1', executable: p}\n",
            "x.yaml",
        ),
        (
            "type: x\ndetails: {protocol: x}\nsteps: [{type: form, properties: [{name: key, "
            "is_required: true, is_credential: false, system_provided: true, property_type: read_only, "
            "json_schema: null}]}]\ntap: {package: p, version: '1', executable: p}\n",
            "required read-only properties need system_values: key",
        ),
    ],
)
def test_bad_definition_names_the_file_and_problem(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(text)
    with pytest.raises(ConfigurationError) as raised:
        load_source_type(path)
    assert str(path) in str(raised.value)
    assert fragment in str(raised.value)


def test_missing_operator_directory_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_catalog([tmp_path / "nope"])
