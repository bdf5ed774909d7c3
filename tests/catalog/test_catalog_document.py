"""docs/catalog.md (written by `make catalog`) says what the YAML files say."""

from __future__ import annotations

from pathlib import Path

from lockstitch.catalog.loader import load_catalog
from lockstitch.runner import catalog_report

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "catalog.md"
CATALOG = load_catalog()


def test_every_type_has_a_row_that_matches_its_yaml() -> None:
    """Type, tap, version, provider and notes of each row are the shipped YAML's; a changed pin
    or a new type without a `make catalog` run fails here."""
    rows = catalog_report.parse(DOCUMENT.read_text(encoding="utf-8"))
    shipped = {t.type: catalog_report.static_row(t) for t in CATALOG.source_types()}
    assert set(rows) == set(shipped)
    for name, static in shipped.items():
        assert rows[name].static() == static, name


def test_the_document_comes_from_a_full_run_and_every_type_was_verified() -> None:
    text = DOCUMENT.read_text(encoding="utf-8")
    assert catalog_report.produced_line(text).startswith("Produced by `make catalog` on ")
    rows = catalog_report.parse(text)
    assert all(row.outcome != "not verified" for row in rows.values())
    for row in rows.values():
        if row.outcome != "config accepted":
            assert row.detail or row.notes, f"{row.type}: {row.outcome} without a reason"


def test_a_rendered_document_parses_back() -> None:
    rows = catalog_report.parse(DOCUMENT.read_text(encoding="utf-8"))
    again = catalog_report.parse(catalog_report.render(list(rows.values()), "Produced by x"))
    assert again == rows
