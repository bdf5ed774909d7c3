"""Write (or refresh) a source-type YAML from Stitch's real report card.

    .venv/bin/python scripts/import_stitch_type.py platform.hubspot [more types...]

Reads tests/fixtures/stitch/source-types.json (a copy of Stitch's `GET /v4/source-types`) and
writes src/lockstitch/catalog/definitions/sources/<type>.yaml with the card's steps, properties
and details exactly as Stitch serves them (``details.access`` forced true: a type Lockstitch
ships is one it can run). Lockstitch's own sections of an existing file (tap, oauth,
system_values, description) are kept.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "tests" / "fixtures" / "stitch" / "source-types.json"
OUT = ROOT / "src" / "lockstitch" / "catalog" / "definitions" / "sources"
KEEP = ("description", "system_values", "tap", "oauth")


def build(card: dict[str, Any], existing: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": card["type"]}
    if "description" in existing:
        doc["description"] = existing["description"]
    doc["details"] = {**card["details"], "access": True}
    doc["upgrade_available"] = card.get("upgrade_available")
    doc["steps"] = [
        {
            "type": step["type"],
            "properties": [{k: v for k, v in p.items() if k != "provided"} for p in step["properties"]],
        }
        for step in card["steps"]
    ]
    for key in KEEP[1:]:
        if key in existing:
            doc[key] = existing[key]
    return doc


def main(types: list[str]) -> None:
    cards = {c["type"]: c for c in json.loads(REFERENCE.read_text())}
    for name in types:
        path = OUT / f"{name}.yaml"
        existing = yaml.safe_load(path.read_text()) if path.exists() else {}
        doc = build(cards[name], existing or {})
        header = f"# {name}: report card copied from Stitch's source types (scripts/import_stitch_type.py)\n"
        path.write_text(header + yaml.safe_dump(doc, sort_keys=False, width=110, allow_unicode=True))
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
