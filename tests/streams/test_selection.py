"""The pure selection rules: the spec 3.9 table, merged metadata, replication rules, the run catalog,
and reading a tap's catalog."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from lockstitch.streams import discovery, selection
from lockstitch.streams.errors import InvalidCatalogError
from lockstitch.streams.selection import breadcrumb_key, field_replicated
from tests.stitch_docs import doc_example
from tests.streams.conftest import db_entry, saas_entry, unsupported_entry, view_entry


@dataclass
class FakeStream:
    tap_stream_id: str
    stream_name: str
    schema: dict[str, Any]
    discovered_metadata: list[dict[str, Any]]
    chosen_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    catalog_entry: dict[str, Any] = field(default_factory=dict)


def stream_of(entry: dict[str, Any], **chosen: dict[str, Any]) -> FakeStream:
    """A stream as discovery stores it; ``chosen`` maps "[]" or a field name to the partner's keys."""
    (found,) = discovery.parse_catalog({"streams": [entry]})
    choices = {
        "[]" if name == "stream" else breadcrumb_key(["properties", name]): values
        for name, values in chosen.items()
    }
    return FakeStream(
        found.tap_stream_id,
        found.stream_name,
        found.schema,
        found.discovered_metadata,
        choices,
        found.catalog_entry,
    )


# Spec 3.9, every row: (inclusion, selected, selected-by-default) -> replicated.
REPLICATION_TABLE = [
    ("available", True, None, True),
    ("available", True, True, True),
    ("available", True, False, True),
    ("available", False, None, False),
    ("available", False, True, True),
    ("available", False, False, False),
    ("available", None, True, True),
    ("available", None, False, False),
    ("available", None, None, False),
    *[("automatic", s, d, True) for s in (True, False, None) for d in (True, False, None)],
    *[("unsupported", s, d, False) for s in (True, False, None) for d in (True, False, None)],
]


@pytest.mark.parametrize(("inclusion", "selected", "by_default", "replicated"), REPLICATION_TABLE)
def test_field_replication_table(
    inclusion: str, selected: bool | None, by_default: bool | None, replicated: bool
) -> None:
    assert field_replicated(inclusion, selected, by_default) is replicated


def test_missing_inclusion_reads_as_available() -> None:
    assert field_replicated(None, None, True) is True
    assert field_replicated(None, None, None) is False


def test_discovered_selected_is_not_the_partners_choice() -> None:
    entry = saas_entry()
    entry["metadata"][0]["metadata"]["selected"] = True  # some taps write it at discovery
    stream = stream_of(entry)
    assert selection.stream_level_metadata(stream)["selected"] is None
    assert not selection.selection_complete([stream])


def test_every_schema_entry_carries_a_boolean_selected() -> None:
    """Spec 9.21: every metadata entry, selected stream or not, carries ``selected`` as a
    boolean, keyed the way Stitch's example is (clients index it directly)."""
    for chosen in ({}, {"collection_id": {"selected": True}}):
        for entry in selection.merged_metadata(stream_of(saas_entry(), **chosen)):
            assert isinstance(entry["metadata"]["selected"], bool), entry


def test_schema_selected_reads_the_choice_else_what_is_replicated() -> None:
    """A chosen value is shown as chosen; a field nobody chose reads whether it is replicated
    (automatic: true, available without selected-by-default: false); the stream reads false."""
    unselected = {
        tuple(m["breadcrumb"]): m["metadata"]["selected"]
        for m in selection.merged_metadata(stream_of(saas_entry()))
    }
    assert unselected[()] is False
    assert unselected[("properties", "id")] is True  # automatic
    assert unselected[("properties", "position")] is False
    chosen = selection.merged_metadata(
        stream_of(
            saas_entry(),
            stream={"selected": True},
            collection_id={"selected": True},
            updated_at={"selected": False},
        )
    )
    by_field = {tuple(m["breadcrumb"]): m["metadata"]["selected"] for m in chosen}
    assert by_field[()] is True
    assert by_field[("properties", "collection_id")] is True
    assert by_field[("properties", "updated_at")] is False  # the partner's own false is kept
    assert by_field[("properties", "position")] is False


def test_schema_matches_stitchs_example_key_for_key() -> None:
    """Stitch's documented example, selections applied: the same breadcrumbs, the same keys in
    every entry, the same ``selected`` where the partner chose (the example shows automatic
    fields as false; Lockstitch shows what the partner chose there)."""
    example = doc_example("streams/retrieve-a-streams-schema-v4")
    choices = {
        ("stream" if not m["breadcrumb"] else m["breadcrumb"][1]): {"selected": m["metadata"]["selected"]}
        for m in example["metadata"]
    }
    ours = selection.merged_metadata(stream_of(saas_entry(), **choices))
    assert [m["breadcrumb"] for m in ours] == [m["breadcrumb"] for m in example["metadata"]]
    for mine, theirs in zip(ours, example["metadata"], strict=True):
        assert mine["metadata"] == theirs["metadata"]


def test_selection_complete_needs_a_replicated_field() -> None:
    bare = {
        "tap_stream_id": "t",
        "stream": "t",
        "schema": {"properties": {"a": {"type": "string"}}},
        "metadata": [{"breadcrumb": ["properties", "a"], "metadata": {"inclusion": "available"}}],
    }
    assert not selection.selection_complete([stream_of(bare, stream={"selected": True})])
    assert selection.selection_complete([stream_of(bare, stream={"selected": True}, a={"selected": True})])
    # An automatic field is enough; a selected field of an unselected stream is not.
    assert selection.selection_complete([stream_of(saas_entry(), stream={"selected": True})])
    assert not selection.selection_complete([stream_of(saas_entry(), collection_id={"selected": True})])


def test_replication_key_rules() -> None:
    saas = stream_of(saas_entry())
    assert selection.replication_key_problem(saas, "updated_at") is None
    assert selection.replication_key_problem(saas, "created_at") == "expected one of: updated_at"
    db = stream_of(db_entry())
    assert selection.replication_key_problem(db, "id") is None  # integer
    assert selection.replication_key_problem(db, "updated_at") is None  # date-time
    assert (
        selection.replication_key_problem(db, "name") == "expected an integer, date-time or timestamp field"
    )
    assert selection.replication_key_problem(db, "nope") == "no such field"
    nullable = {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]}
    sdk = db_entry()
    sdk["schema"]["properties"]["name"] = nullable
    assert selection.replication_key_problem(stream_of(sdk), "name") is None
    sdk["schema"]["properties"]["name"] = {"anyOf": 5}  # a tap's odd schema is not a crash
    assert selection.replication_key_problem(stream_of(sdk), "name") is not None


def test_log_based_availability() -> None:
    assert selection.log_based_available(stream_of(db_entry()))
    assert not selection.log_based_available(stream_of(view_entry()))
    assert not selection.log_based_available(stream_of(saas_entry()))


def test_forced_method_forms() -> None:
    assert selection.forced_method({"forced-replication-method": "INCREMENTAL"}) == "INCREMENTAL"
    assert selection.forced_method({"forced-replication-method": {"replication-method": "FULL_TABLE"}}) == (
        "FULL_TABLE"
    )
    assert selection.forced_method({"forced-replication-method": ""}) is None  # SDK SQL taps
    assert selection.forced_method({}) is None


def _md(entry: dict[str, Any], breadcrumb: list[str]) -> dict[str, Any]:
    return next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == breadcrumb)


def test_singer_catalog_expresses_the_selection() -> None:
    db = stream_of(
        db_entry(),
        stream={"selected": True, "replication-method": "INCREMENTAL", "replication-key": "updated_at"},
        age={"selected": False},  # sbd true: still replicated (table row false,true)
        name={"selected": True},
    )
    saas = stream_of(saas_entry())
    catalog = selection.singer_catalog([db, saas])
    first, second = catalog["streams"]
    assert first["tap_stream_id"] == "demni2mf59dt10-public-customers"
    assert first["stream"] == "customers"
    assert first["table_name"] == "customers"  # the tap's own entry keys come back
    assert first["schema"] == db_entry()["schema"]  # full schema, not cut to the selection
    assert first["replication_method"] == "INCREMENTAL"
    assert first["replication_key"] == "updated_at"
    assert first["key_properties"] == ["id"]
    stream_md = _md(first, [])
    assert stream_md["selected"] is True
    assert stream_md["replication-method"] == "INCREMENTAL"
    assert stream_md["replication-key"] == "updated_at"
    assert _md(first, ["properties", "id"])["selected"] is True  # automatic
    assert _md(first, ["properties", "age"])["selected"] is True
    assert _md(first, ["properties", "name"])["selected"] is True
    assert _md(first, ["properties", "has_magic"])["selected"] is True  # sbd true
    # Not chosen, but the replication key: a run cannot do without it.
    assert _md(first, ["properties", "updated_at"])["selected"] is True
    # Unselected streams are listed, deselected; the forced method and its only key are used.
    assert _md(second, [])["selected"] is False
    assert second["replication_method"] == "INCREMENTAL"
    assert second["replication_key"] == "updated_at"


def test_singer_catalog_defaults() -> None:
    sdk_sql = db_entry()
    sdk_sql["replication_method"] = ""
    _md(sdk_sql, [])["forced-replication-method"] = ""
    (entry,) = selection.singer_catalog([stream_of(sdk_sql, stream={"selected": True})])["streams"]
    assert entry["replication_method"] == "FULL_TABLE"
    assert "replication_key" not in entry
    view = stream_of(view_entry(), stream={"selected": True, "view-key-properties": ["id"]})
    (entry,) = selection.singer_catalog([view])["streams"]
    assert entry["key_properties"] == ["id"]
    assert _md(entry, [])["view-key-properties"] == ["id"]
    assert _md(entry, ["properties", "id"])["selected"] is True  # the view's chosen primary key
    assert _md(entry, ["properties", "name"])["selected"] is False
    forced = stream_of(unsupported_entry(), stream={"selected": True}, Blob={"selected": False})
    (entry,) = selection.singer_catalog([forced])["streams"]
    assert entry["replication_method"] == "FULL_TABLE"
    assert _md(entry, ["properties", "Blob"])["selected"] is False
    full_table = stream_of(db_entry(), stream={"selected": True, "replication-method": "FULL_TABLE"})
    (entry,) = selection.singer_catalog([full_table])["streams"]
    assert _md(entry, ["properties", "updated_at"])["selected"] is False  # no key, not chosen


@pytest.mark.parametrize(
    "bad",
    [
        None,
        [],
        {"streams": {}},
        {"streams": ["x"]},
        {"streams": [{"stream": "x"}]},
        {"streams": [{"tap_stream_id": ""}]},
        {"streams": [{"tap_stream_id": "x" * 501}]},
        {"streams": [{"tap_stream_id": "x", "schema": []}]},
        {"streams": [{"tap_stream_id": "x", "metadata": {}}]},
        {"streams": [{"tap_stream_id": "x", "metadata": [{"breadcrumb": "properties"}]}]},
        {"streams": [{"tap_stream_id": "x", "metadata": [{"breadcrumb": [1], "metadata": {}}]}]},
        {"streams": [{"tap_stream_id": "x"}, {"tap_stream_id": "x"}]},
    ],
)
def test_unusable_catalogs(bad: Any) -> None:
    with pytest.raises(InvalidCatalogError):
        discovery.parse_catalog(bad)


def test_stream_name_prefers_the_table() -> None:
    (found,) = discovery.parse_catalog(
        {"streams": [{"tap_stream_id": "public-orders", "stream": "public-orders", "table_name": "orders"}]}
    )
    assert found.stream_name == "orders"
    (found,) = discovery.parse_catalog({"streams": [{"tap_stream_id": "orders-id"}]})
    assert found.stream_name == "orders-id"


def test_the_catalog_entry_keeps_the_taps_top_level_keys() -> None:
    entry = {**saas_entry(), "table_name": "collects_table", "key_properties": ["id"]}
    assert selection.catalog_entry(stream_of(entry)) == {
        "stream": "collects",
        "table_name": "collects_table",
        "key_properties": ["id"],
    }
