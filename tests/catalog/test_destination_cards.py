"""The destination types Lockstitch ships: Stitch's cards where Stitch has the type, runnable targets."""

from __future__ import annotations

from typing import Any

import pytest

from lockstitch.catalog.destination_type import DestinationType
from lockstitch.catalog.loader import load_catalog
from tests.stitch_docs import doc_example

SHIPPED = load_catalog()
STITCH_TYPES: list[dict[str, Any]] = doc_example("destination-types/list-destination-types", "Response")
CREATED = doc_example("destinations/v4/create-a-destination-v4", "Response")


def _type(name: str) -> DestinationType:
    found = SHIPPED.destination_type(name)
    assert found is not None, name
    return found


def test_shipped_types() -> None:
    assert {t.type for t in SHIPPED.destination_types()} == {
        "postgres",
        "s3",
        "lockstitch.duckdb",
        "lockstitch.jsonl",
    }


def test_postgres_card_is_stitchs() -> None:
    reference = next(card for card in STITCH_TYPES if card["type"] == "postgres")
    card = _type("postgres").type_card("standard")
    assert card["steps"] == reference["steps"]  # properties, flags, json_schema, key order
    assert card == reference
    assert list(card) == list(reference)


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
    assert card["details"]["access"] is True


@pytest.mark.parametrize("destination_type", SHIPPED.destination_types(), ids=lambda t: t.type)
def test_every_type_names_a_pinned_target(destination_type: DestinationType) -> None:
    target = destination_type.definition.target
    assert target is not None
    assert target.version[0].isdigit()
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
