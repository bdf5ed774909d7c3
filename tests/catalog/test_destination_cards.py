"""The destination types Lockstitch ships: Stitch's cards where Stitch has the type, runnable targets."""

from __future__ import annotations

from typing import Any

import pytest

from lockstitch.catalog.destination_type import DestinationType
from lockstitch.catalog.loader import load_catalog
from tests.stitch_docs import doc_example, reference_cards

SHIPPED = load_catalog()
STITCH_TYPES: list[dict[str, Any]] = doc_example("destination-types/list-destination-types", "Response")
CREATED = doc_example("destinations/v4/create-a-destination-v4", "Response")


def reference_cards_with_details() -> list[dict[str, Any]]:
    """source-types.json's destination entries (details only, no steps)."""
    return [card for card in reference_cards().values() if card["type"] in STITCH_NAMES]


def _type(name: str) -> DestinationType:
    found = SHIPPED.destination_type(name)
    assert found is not None, name
    return found


# Spec 2.3's destination types: every one of Stitch's, in one place.
STITCH_NAMES = (
    "s3",
    "databricks_delta",
    "dataworld",
    "bigquery_v2",
    "azure_sqldw",
    "mssql_server",
    "mysql_destination",
    "panoply",
    "postgres",
    "redshift",
    "snowflake",
)
# Types whose target cannot run here, or whose card Lockstitch cannot complete yet.
UNAVAILABLE = {"redshift", "panoply", "databricks_delta", "bigquery_v2", "dataworld"}


def test_shipped_types() -> None:
    shipped = {t.type for t in SHIPPED.destination_types()}
    assert set(STITCH_NAMES) | {"lockstitch.duckdb", "lockstitch.jsonl"} == shipped


@pytest.mark.parametrize(
    "name", [card["type"] for card in STITCH_TYPES if SHIPPED.destination_type(card["type"])]
)
def test_card_is_stitchs_where_stitch_has_one(name: str) -> None:
    """Stitch's own cards (doc-examples' list-destination-types): served exactly, steps,
    properties, flags, json_schema, details and key order."""
    reference = next(card for card in STITCH_TYPES if card["type"] == name)
    card = _type(name).type_card("standard")
    if name in UNAVAILABLE:  # the one difference: Lockstitch cannot load there (yet)
        assert card["details"]["access"] is False
        reference = {**reference, "details": {**reference["details"], "access": False}}
    assert card["steps"] == reference["steps"]
    assert card == reference
    assert list(card) == list(reference)


def test_every_stitch_reference_card_is_compared() -> None:
    compared = {card["type"] for card in STITCH_TYPES if SHIPPED.destination_type(card["type"])}
    assert compared >= {"azure_sqldw", "redshift", "postgres", "snowflake"}


def test_details_are_stitchs() -> None:
    """pipeline_state and protocol as Stitch's source-types.json lists the destination types
    (panoply loads as redshift, dataworld as s3)."""
    listed = {card["type"]: card["details"] for card in reference_cards_with_details()}
    for name in set(STITCH_NAMES) - {"postgres", "azure_sqldw"}:
        details = _type(name).details
        assert (details.pipeline_state, details.protocol) == (
            listed[name]["pipeline_state"],
            listed[name]["protocol"],
        ), name


def test_postgres_card_of_a_created_destination_is_stitchs() -> None:
    provided = frozenset(p["name"] for p in CREATED["report_card"]["steps"][0]["properties"] if p["provided"])
    assert _type("postgres").card(provided) == CREATED["report_card"]


@pytest.mark.parametrize("destination_type", SHIPPED.destination_types(), ids=lambda t: t.type)
def test_card_shape(destination_type: DestinationType) -> None:
    reference = doc_example("destination-types/get-a-destination-type", "Response")
    card = destination_type.type_card("standard")
    assert list(card) == list(reference)
    assert list(card["details"]) == list(reference["details"])
    assert [s["type"] for s in card["steps"]] == ["form", "fully_configured"]
    assert card["steps"][1]["properties"] == []
    property_keys = list(reference["steps"][0]["properties"][0])
    for prop in card["steps"][0]["properties"]:
        assert list(prop) == property_keys
    assert card["details"]["access"] is (destination_type.type not in UNAVAILABLE)


@pytest.mark.parametrize("destination_type", SHIPPED.destination_types(), ids=lambda t: t.type)
def test_every_type_names_a_pinned_target(destination_type: DestinationType) -> None:
    """An available type names an exactly pinned target; any target's mapping names only the
    card's properties; an unavailable type says why in its description."""
    target = destination_type.definition.target
    if destination_type.type in UNAVAILABLE:
        assert "Not" in destination_type.definition.description, destination_type.type
    else:
        assert target is not None
    if target is None:
        return
    assert target.version[0].isdigit()
    assert all(part.isdigit() for part in target.version.split(".")), target.version
    assert target.executable
    for name in target.config:
        assert name in destination_type.properties, f"mapping names unknown property {name}"


def test_targets() -> None:
    postgres = _type("postgres").definition.target
    duckdb = _type("lockstitch.duckdb").definition.target
    jsonl = _type("lockstitch.jsonl").definition.target
    assert postgres is not None
    assert duckdb is not None
    assert jsonl is not None
    assert (postgres.package, postgres.version, postgres.executable, postgres.sdk) == (
        "meltanolabs-target-postgres",
        "0.8.1",
        "target-postgres",
        True,
    )
    assert {k: (m.key, m.convert) for k, m in postgres.config.items()} == {
        "host": ("host", "host"),  # through the outbound policy, then pinned
        "port": ("port", "integer"),
        "username": ("user", "string"),
        "password": ("password", "string"),
        "database": ("database", "string"),
        "ssl": ("ssl_enable", "boolean"),
        "sslrootcert": ("ssl_certificate_authority", "string"),
    }
    assert postgres.schema_key == "default_target_schema"
    assert (duckdb.package, duckdb.version) == ("target-duckdb", "0.8.0")
    assert duckdb.extra_requirements == ["duckdb<1.3"]  # newer duckdb drops the first record
    assert duckdb.config["path"].key == "filepath"
    assert duckdb.schema_key == "default_target_schema"
    assert (jsonl.package, jsonl.version) == ("target-jsonl", "0.1.4")
    assert jsonl.config["path"].key == "destination_path"
    assert jsonl.settings["do_timestamp_file"] is False
    assert jsonl.schema_key is None
