"""The two S3 types' cards are Stitch's, and their plugins are pinned with mappings that name
only card properties and the keys the plugins read."""

from __future__ import annotations

from lockstitch.catalog.loader import load_catalog
from tests.stitch_docs import doc_example

SHIPPED = load_catalog()


def test_s3_card_is_stitchs() -> None:
    reference = next(
        card
        for card in doc_example("destination-types/list-destination-types", "Response")
        if card["type"] == "s3"
    )
    s3 = SHIPPED.destination_type("s3")
    assert s3 is not None
    card = s3.type_card("standard")
    assert card == reference
    assert list(card) == list(reference)
    assert [list(p) for p in card["steps"][0]["properties"]] == [
        list(p) for p in reference["steps"][0]["properties"]
    ]


def test_s3_target() -> None:
    s3 = SHIPPED.destination_type("s3")
    assert s3 is not None
    target = s3.definition.target
    assert target is not None
    assert (target.package, target.version, target.executable) == (
        "pipelinewise-target-s3-csv",
        "2.0.0",
        "target-s3-csv",
    )
    assert target.ignore_requires_python is True  # 2.0.0 says <3.11 but runs there (s3.yaml)
    assert {k: (m.key, m.convert) for k, m in target.config.items()} == {
        "s3_bucket": ("s3_bucket", "string"),
        "csv_delimiter": ("delimiter", "string"),
        "s3_key_format_string": ("naming_convention", "string"),
    }
    assert target.settings == {"add_metadata_columns": True, "compression": "none"}
    assert target.schema_key is None


def test_s3_csv_tap() -> None:
    """tap-s3-csv's REQUIRED_CONFIG_KEYS (start_date, bucket, account_id, external_id,
    role_name) and tables all come from the card; role_name and external_id are filled by the
    system at creation (read-only on Stitch's card)."""
    source_type = SHIPPED.source_type("platform.s3-csv")
    assert source_type is not None
    tap = source_type.definition.tap
    assert tap is not None
    assert (tap.package, tap.version, tap.executable, tap.catalog_flag) == (
        "tap-s3-csv",
        "2.3.1",
        "tap-s3-csv",
        "--catalog",
    )
    keys = {m.key for m in tap.config.values()}
    assert {"start_date", "bucket", "account_id", "external_id", "role_name", "tables"} == keys
    assert all(name in source_type.properties for name in tap.config)
    filled = source_type.system_values(7, 42)
    assert (filled["image_version"], filled["role_name"], filled["external_id"]) == (
        "1.latest",
        "lockstitch_7",
        "lockstitch_connection_42",
    )
