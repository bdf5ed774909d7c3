"""The types Lockstitch ships serve the same report cards as Stitch's reference data."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockstitch.catalog.loader import PACKAGED_SOURCES, load_catalog, load_source_type
from lockstitch.catalog.source_type import SourceType
from lockstitch.kit.errors import ConfigurationError
from tests.stitch_docs import reference_cards

SHIPPED = load_catalog()
REQUIRED = [
    "platform.google-analytics",
    "platform.hubspot",
    "platform.salesforce",
    "platform.google-sheets",
    "platform.quickbooks",
    "platform.xero",
    "platform.github",
    "platform.hp-postgres",
    "platform.hp-mysql",
]


def test_required_types_are_shipped() -> None:
    names = {t.type for t in SHIPPED.source_types()}
    assert set(REQUIRED) <= names
    assert any(n.startswith("lockstitch.") for n in names), "a local file source of Lockstitch's own"
    for name in names:
        assert name.startswith(("platform.", "lockstitch.")), name


@pytest.mark.parametrize(
    "name", sorted(t.type for t in SHIPPED.source_types() if t.type in reference_cards())
)
def test_card_matches_stitch(name: str) -> None:
    reference = reference_cards()[name]
    card = SHIPPED.source_type(name).type_card("enterprise")  # type: ignore[union-attr]
    assert card["steps"] == reference["steps"]
    assert (card["current_step"], card["current_step_type"]) == (
        reference["current_step"],
        reference["current_step_type"],
    )
    assert card["upgrade_available"] == reference["upgrade_available"]
    # On an enterprise plan every shipped type is open, except deprecated ones: Stitch serves
    # those with access false on every plan (spec 3.3), and so does Lockstitch.
    open_to_all = reference["details"]["pipeline_state"] != "deprecated"
    assert card["details"] == {**reference["details"], "access": open_to_all}
    assert list(card) == list(reference)


@pytest.mark.parametrize("source_type", SHIPPED.source_types(), ids=lambda t: t.type)
def test_every_shipped_type_names_its_tap(source_type: SourceType) -> None:
    tap = source_type.definition.tap
    assert tap is not None, f"{source_type.type} has no tap"
    assert tap.package
    assert tap.executable
    assert tap.version[0].isdigit(), "pinned to an exact version"
    if source_type.has_oauth_step:
        assert source_type.definition.oauth is not None, f"{source_type.type} needs an OAuth provider"


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
        (
            "type: x\ndetails: {protocol: x}\nsteps: [{type: form, properties: [{name: p, is_required: true, "
            "is_credential: false, system_provided: false, property_type: user_provided, "
            "json_schema: {type: 7}}]}]\n",
            "x.yaml",
        ),
        (
            "type: x\ndetails: {protocol: x}\nsteps: [{type: form, properties: [{name: key, "
            "is_required: true, is_credential: false, system_provided: true, property_type: read_only, "
            "json_schema: null}]}]\n",
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
