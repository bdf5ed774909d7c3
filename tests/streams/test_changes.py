"""Property-based: whatever a client sends as a metadata PUT body, the rules answer with one of the
documented 400 shapes or accept it; they never fail in any other way."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lockstitch.kit.errors import LockstitchError, PlainError
from lockstitch.streams import changes, selection
from lockstitch.streams.errors import InvalidFieldsError
from tests.streams.conftest import db_entry, saas_entry, unsupported_entry, view_entry
from tests.streams.test_selection import FakeStream, stream_of

STREAMS = {
    s.tap_stream_id: s for s in map(stream_of, (db_entry(), saas_entry(), view_entry(), unsupported_entry()))
}
FIELDS = ["id", "age", "name", "updated_at", "Blob", "collection_id", "nope"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
# Mostly well-formed (so that the rules themselves are reached), sometimes anything at all.
field_breadcrumbs = st.sampled_from(FIELDS).map(lambda name: ["properties", name])
breadcrumbs = st.one_of(
    st.just([]), field_breadcrumbs, field_breadcrumbs, st.lists(json_values, max_size=3), json_values
)
metadata_values = st.one_of(
    st.sampled_from(["FULL_TABLE", "INCREMENTAL", "LOG_BASED", *FIELDS]),
    st.booleans(),
    st.lists(st.sampled_from(FIELDS), max_size=2),
    json_values,
)
metadata = st.dictionaries(
    st.sampled_from([*selection.NON_DISCOVERABLE_KEYS, "inclusion"]) | st.text(max_size=3),
    metadata_values,
    max_size=3,
)
entry = st.fixed_dictionaries({"breadcrumb": breadcrumbs, "metadata": metadata})
entries = st.one_of(entry, entry, entry, entry, entry, entry, json_values)
tap_stream_ids = st.sampled_from([*STREAMS, "nope"])
streams = st.fixed_dictionaries(
    {
        "tap_stream_id": st.one_of(tap_stream_ids, tap_stream_ids, tap_stream_ids, json_values),
        "metadata": st.lists(entries, max_size=4),
    }
)
body = st.fixed_dictionaries({"streams": st.lists(streams, max_size=3)})
bodies = st.one_of(body, body, body, json_values)
# Well-formed throughout, known ids and keys: every body reaches the value rules.
writable = st.dictionaries(st.sampled_from(selection.NON_DISCOVERABLE_KEYS), metadata_values, max_size=3)
well_formed_bodies = st.fixed_dictionaries(
    {
        "streams": st.lists(
            st.fixed_dictionaries(
                {
                    "tap_stream_id": st.sampled_from(list(STREAMS)),
                    "metadata": st.lists(
                        st.fixed_dictionaries(
                            {"breadcrumb": st.just([]) | field_breadcrumbs, "metadata": writable}
                        ),
                        max_size=4,
                    ),
                }
            ),
            max_size=3,
        )
    }
)


@settings(max_examples=500, deadline=None)
@given(body=bodies)
def test_any_body_gets_a_documented_answer(body: Any) -> None:
    _check(body)


@settings(max_examples=500, deadline=None)
@given(body=well_formed_bodies)
def test_any_well_formed_body_gets_a_documented_answer(body: Any) -> None:
    _check(body)


def _check(body: Any) -> None:
    planned: dict[str, Any] = {}
    refused: LockstitchError | None = None
    try:
        planned = changes.plan(changes.parse_body(body), STREAMS)
    except LockstitchError as error:
        refused = error
    if refused is not None:
        assert isinstance(refused, PlainError | InvalidFieldsError)
        assert refused.status_code == 400
        assert isinstance(refused.body(), str | dict)
    for tap_stream_id, chosen in planned.items():
        # What was accepted is something the run catalog can be built from.
        stream = STREAMS[tap_stream_id]
        accepted = FakeStream(
            stream.tap_stream_id,
            stream.stream_name,
            stream.schema,
            stream.discovered_metadata,
            chosen,
            stream.catalog_entry,
        )
        assert selection.singer_entry(accepted)["replication_method"] in selection.REPLICATION_METHODS
        selection.merged_metadata(accepted)
        selection.selection_complete([accepted])
