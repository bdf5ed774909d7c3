"""The step function, exhaustively: every step sequence Stitch uses x every combination of facts."""

from __future__ import annotations

import itertools

import pytest

from lockstitch.catalog.models import PropertyDef, StepDef
from lockstitch.catalog.report_card import SourceFacts, current_step
from tests.stitch_docs import reference_cards


def _prop(name: str, *, required: bool = True, kind: str = "user_provided") -> PropertyDef:
    return PropertyDef(
        name=name,
        is_required=required,
        is_credential=False,
        system_provided=kind != "user_provided",
        property_type=kind,  # type: ignore[arg-type]
        json_schema=None,
    )


FORM = StepDef(
    type="form", properties=[_prop("a"), _prop("b", required=False), _prop("image_version", kind="read_only")]
)
OAUTH = StepDef(type="oauth", properties=[_prop("t", kind="system_provided_by_default"), _prop("v")])
DISCOVER = StepDef(type="discover_schema")
SELECT = StepDef(type="field_selection")
DONE = StepDef(type="fully_configured")
SEQUENCES = {
    "form-discover-select-done": [FORM, DISCOVER, SELECT, DONE],
    "form-oauth-discover-select-done": [FORM, OAUTH, DISCOVER, SELECT, DONE],
    "form-done": [FORM, DONE],
    "form-oauth-done": [FORM, OAUTH, DONE],
}
NAMES = ["a", "b", "image_version", "t", "v"]


def _expected(steps: list[StepDef], facts: SourceFacts) -> tuple[int, str]:
    """An independent statement of the rule, step by step."""
    for index, step in enumerate(steps, start=1):
        if step.type in ("form", "oauth"):
            needed = {p.name for p in step.properties if p.is_required}
            if not needed <= facts.provided:
                return index, step.type
        elif (
            (step.type == "discover_schema" and not facts.check_succeeded)
            or (step.type == "field_selection" and not facts.selection_complete)
            or step.type == "fully_configured"
        ):
            return index, step.type
    raise AssertionError("unreachable")


@pytest.mark.parametrize("sequence", SEQUENCES)
def test_every_combination_of_facts(sequence: str) -> None:
    steps = SEQUENCES[sequence]
    seen = set()
    for mask in range(2 ** len(NAMES)):
        provided = frozenset(n for i, n in enumerate(NAMES) if mask >> i & 1)
        for checked, selected in itertools.product([False, True], repeat=2):
            facts = SourceFacts(provided=provided, check_succeeded=checked, selection_complete=selected)
            result = current_step(steps, facts)
            assert result == _expected(steps, facts)
            assert steps[result[0] - 1].type == result[1]  # 1-based and consistent
            seen.add(result[1])
    assert seen == {s.type for s in steps}  # every step is reachable


def test_known_examples() -> None:
    steps = SEQUENCES["form-oauth-discover-select-done"]
    everything = frozenset({"a", "image_version", "t", "v"})
    assert current_step(steps, SourceFacts()) == (1, "form")
    # A blank card: the user's input alone does not complete a form whose read-only values
    # the system has not filled yet (it fills them when the source is created).
    assert current_step(steps, SourceFacts(provided=everything - {"image_version"})) == (1, "form")
    assert current_step(steps, SourceFacts(provided=frozenset({"a", "image_version"}))) == (2, "oauth")
    assert current_step(steps, SourceFacts(provided=everything)) == (3, "discover_schema")
    full = SourceFacts(provided=everything, check_succeeded=True)
    assert current_step(steps, full) == (4, "field_selection")
    done = SourceFacts(provided=everything, check_succeeded=True, selection_complete=True)
    assert current_step(steps, done) == (5, "fully_configured")
    # Selection alone does not skip a failed check.
    selected = SourceFacts(provided=everything, selection_complete=True)
    assert current_step(steps, selected) == (3, "discover_schema")
    # A form without properties needs nothing: Stitch's import_api starts at fully_configured.
    assert current_step([StepDef(type="form"), DONE], SourceFacts()) == (2, "fully_configured")


def test_initial_state_of_every_stitch_card() -> None:
    """Applied to Stitch's own 184 cards with steps, the function gives Stitch's initial state."""
    checked = 0
    for card in reference_cards().values():
        if "steps" not in card:
            continue
        steps = [
            StepDef.model_validate(
                {
                    "type": s["type"],
                    "properties": [{k: v for k, v in p.items() if k != "provided"} for p in s["properties"]],
                }
            )
            for s in card["steps"]
        ]
        assert current_step(steps, SourceFacts()) == (card["current_step"], card["current_step_type"]), card[
            "type"
        ]
        checked += 1
    assert checked > 180
