"""``docs/catalog.md``: the source-type catalogue as the verifier last found it.

One row per source type: what the YAML says (type, tap, version, OAuth provider, notes) and what
the verifier saw (outcome, its line). ``make test`` holds the YAML columns to the shipped
catalogue, so the document cannot drift from the files; the outcome columns are only what one
``make catalog`` run measured (its date and duration are in the header).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from lockstitch.catalog.source_type import SourceType
from lockstitch.runner.verify import Outcome, Verdict

COLUMNS = ("Type", "Tap", "Version", "OAuth provider", "Outcome", "Verifier saw", "Notes")
_HEADER = """# The source-type catalogue

Every source type Lockstitch serves, the Singer tap it runs and how that tap took a synthetic
source's config (dummy values valid for the card, network unreachable) in the last full
`make catalog` run (`lockstitch catalog verify --all --write docs/catalog.md`).

* **config accepted**: the tap got as far as the network (or discovered its streams offline).
* **config rejected**: the tap refused the config the mapping built (a mapping defect).
* **install failed** / **crashed**: the tap cannot be installed, or cannot run, on this Python.
* **no tap**: no runnable tap; the type is served with `details.access: false` (see Notes).
"""


@dataclass(frozen=True)
class Row:
    type: str
    tap: str
    version: str
    provider: str
    outcome: str
    detail: str
    notes: str

    def static(self) -> tuple[str, str, str, str, str]:
        """The columns that come from the YAML files (held to them by a test)."""
        return (self.type, self.tap, self.version, self.provider, self.notes)


def static_row(source_type: SourceType) -> tuple[str, str, str, str, str]:
    definition = source_type.definition
    tap = definition.tap
    return (
        source_type.type,
        tap.package if tap else "",
        tap.version if tap else "",
        definition.oauth.provider if definition.oauth else "",
        _cell(definition.notes),
    )


def rows_for(
    source_types: Iterable[SourceType], verdicts: dict[str, Verdict], kept: dict[str, Row]
) -> list[Row]:
    """A row per type: this run's verdict, else the kept row's outcome when its YAML columns are
    unchanged, else "not verified"."""
    rows = []
    for source_type in sorted(source_types, key=lambda t: t.type):
        static = static_row(source_type)
        verdict = verdicts.get(source_type.type)
        if verdict is not None:
            outcome, detail = str(verdict.outcome), _cell(verdict.detail)
        elif source_type.type in kept and kept[source_type.type].static() == static:
            outcome, detail = kept[source_type.type].outcome, kept[source_type.type].detail
        else:
            outcome, detail = "not verified", ""
        rows.append(Row(static[0], static[1], static[2], static[3], outcome, detail, static[4]))
    return rows


def render(rows: list[Row], produced: str) -> str:
    counts = Counter(row.outcome for row in rows)
    summary = ", ".join(f"{counts[o]} {o}" for o in [*(str(x) for x in Outcome), "not verified"] if counts[o])
    lines = [_HEADER, produced, "", f"{len(rows)} source types: {summary}.", ""]
    lines.append("| " + " | ".join(COLUMNS) + " |")
    lines.append("|" + "|".join("---" for _ in COLUMNS) + "|")
    for row in rows:
        cells = [row.type, row.tap, row.version, row.provider, row.outcome, row.detail, row.notes]
        lines.append("| " + " | ".join(_escape(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def parse(text: str) -> dict[str, Row]:
    """The rows of a rendered document, by type."""
    rows: dict[str, Row] = {}
    for line in text.splitlines():
        if not line.startswith("| ") or line.startswith("| Type |"):
            continue
        cells = [_unescape(c.strip()) for c in _split(line.strip()[1:-1])]
        if len(cells) == len(COLUMNS):
            row = Row(*cells)
            rows[row.type] = row
    return rows


def produced_line(text: str) -> str:
    """The "Produced by ..." line of a rendered document ("" when there is none)."""
    return next((line for line in text.splitlines() if line.startswith("Produced by ")), "")


def _cell(text: str) -> str:
    return " ".join(text.split())


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|")


def _unescape(text: str) -> str:
    return text.replace("\\|", "|").replace("\\\\", "\\")


def _split(inner: str) -> list[str]:
    cells, current, escaped = [], [], False
    for char in inner:
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "|":
            cells.append("".join(current))
            current = []
        else:
            current.append(char)
    cells.append("".join(current))
    return cells
