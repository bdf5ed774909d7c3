"""Report cards: which step a source is at, and the Stitch JSON for a card.

The step is computed by ``current_step`` alone, from the source's *facts* (which properties are
provided, whether its last connection check succeeded, whether streams and fields are selected).
Nothing else decides ``current_step``. The transition table is ``STEP_DONE``: a step is done when
its predicate holds; the current step is the first step that is not done (``fully_configured`` is
terminal). Examples from the Stitch data: a form without properties is done at once, so
``import_api`` starts at ``2, fully_configured``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from lockstitch.catalog.models import PropertyDef, StepDef


@dataclass(frozen=True)
class SourceFacts:
    """What is known about a source. The default (nothing) describes a type's blank card."""

    provided: frozenset[str] = field(default_factory=frozenset)
    check_succeeded: bool = False
    selection_complete: bool = False


def _properties_done(step: StepDef, facts: SourceFacts) -> bool:
    # Required read-only properties count too: the system fills them when the source is created
    # (the loader insists that it can). That is why a blank card waits at its form while a
    # created source with the same user input moves on, exactly as Stitch's cards start:
    # platform.zoom (only optional inputs, but image_version) at "1, form", import_api (no
    # properties) and webhook.incoming-webhook (one optional) at "2, fully_configured".
    return all(p.name in facts.provided for p in step.properties if p.is_required)


STEP_DONE: dict[str, Callable[[StepDef, SourceFacts], bool]] = {
    "form": _properties_done,
    "oauth": _properties_done,
    "profile": _properties_done,
    "discover_schema": lambda _step, facts: facts.check_succeeded,
    "field_selection": lambda _step, facts: facts.selection_complete,
    "fully_configured": lambda _step, _facts: False,
}


def current_step(steps: list[StepDef], facts: SourceFacts) -> tuple[int, str]:
    """``(1-based index, step type)`` of the first step that is not done."""
    for index, step in enumerate(steps, start=1):
        if not STEP_DONE[step.type](step, facts):
            return index, step.type
    return len(steps), steps[-1].type


def property_json(prop: PropertyDef, provided: bool, *, tap_mutable: bool = True) -> dict[str, Any]:
    """One Property object, keys in Stitch's order. Destination cards' Property objects carry no
    ``tap_mutable`` (Stitch's ``destination-types`` examples), so they pass ``tap_mutable=False``."""
    rendered = {
        "name": prop.name,
        "is_required": prop.is_required,
        "is_credential": prop.is_credential,
        "system_provided": prop.system_provided,
        "property_type": prop.property_type,
        "json_schema": prop.json_schema,
        "provided": provided,
    }
    if tap_mutable:
        rendered["tap_mutable"] = prop.tap_mutable
    return rendered


# The schemas of ``property_json`` for the OpenAPI document (named as it names them; no
# docstrings, which would become schema descriptions): destination cards', then source cards'.
class DestinationPropertyOut(BaseModel):
    name: str
    is_required: bool
    is_credential: bool
    system_provided: bool
    property_type: str
    json_schema: dict[str, Any] | None
    provided: bool


class PropertyOut(DestinationPropertyOut):
    tap_mutable: bool


class CardRenderer:
    """Pre-renders every property twice (provided / not provided) so a card costs one list
    comprehension per step. The pieces are shared between responses and never mutated."""

    def __init__(self, source_type: str, steps: list[StepDef], *, tap_mutable: bool = True) -> None:
        self.source_type = source_type
        self.steps = steps
        self._rendered = [
            (
                step.type,
                [
                    (
                        p.name,
                        property_json(p, False, tap_mutable=tap_mutable),
                        property_json(p, True, tap_mutable=tap_mutable),
                    )
                    for p in step.properties
                ],
            )
            for step in steps
        ]

    def card(self, facts: SourceFacts) -> dict[str, Any]:
        index, step_type = current_step(self.steps, facts)
        provided = facts.provided
        return {
            "type": self.source_type,
            "current_step": index,
            "current_step_type": step_type,
            "steps": [
                {
                    "type": kind,
                    "properties": [yes if name in provided else no for name, no, yes in props],
                }
                for kind, props in self._rendered
            ],
        }
