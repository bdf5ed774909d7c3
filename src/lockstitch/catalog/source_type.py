"""A loaded source type: its definition plus what is precomputed from it for fast requests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import jsonschema_rs

from lockstitch.catalog.models import PropertyDef, SourceTypeFile, StepDef, TypeFile
from lockstitch.catalog.report_card import CardRenderer, SourceFacts

# Stitch's platform fills `product` on every source; it is not on any report card.
IMPLICIT_READ_ONLY = {"product": "pipeline"}


@dataclass(frozen=True)
class PropertySpec:
    definition: PropertyDef
    step: str
    validator: Any  # jsonschema_rs validator, or None when the property has no json_schema

    @property
    def name(self) -> str:
        return self.definition.name

    def is_valid(self, value: Any) -> bool:
        if self.validator is None:
            # Stitch's properties without a schema (cron_expression, a few keys) take strings.
            return isinstance(value, str)
        return bool(self.validator.is_valid(value))


def property_specs(steps: list[StepDef]) -> dict[str, PropertySpec]:
    """Every property of a type's card by name, with its step and its compiled ``json_schema``
    (formats checked), built once when the catalogue loads."""
    specs: dict[str, PropertySpec] = {}
    for step in steps:
        for prop in step.properties:
            schema = prop.json_schema
            validator = (
                jsonschema_rs.validator_for(schema, validate_formats=True) if schema is not None else None
            )
            specs[prop.name] = PropertySpec(prop, step.type, validator)
    return specs


Definition = TypeVar("Definition", bound=TypeFile)


class CardType(Generic[Definition]):
    """A loaded type of either kind: its definition, the file it came from, its properties'
    validators and its card renderer (destination cards carry no ``tap_mutable``)."""

    def __init__(self, definition: Definition, origin: str, *, tap_mutable: bool) -> None:
        self.definition = definition
        self.origin = origin
        self.type = definition.type
        self.details = definition.details
        self.properties = property_specs(definition.steps)
        self.renderer = CardRenderer(self.type, definition.steps, tap_mutable=tap_mutable)


class SourceType(CardType[SourceTypeFile]):
    def __init__(self, definition: SourceTypeFile, origin: str) -> None:
        super().__init__(definition, origin, tap_mutable=True)
        unfillable = [
            name
            for name, spec in self.properties.items()
            if spec.definition.is_required
            and spec.definition.property_type == "read_only"
            and name != "image_version"
            and name not in definition.system_values
        ]
        if unfillable:
            # A source of this type could never leave its step: nobody may set these values.
            raise ValueError(f"required read-only properties need system_values: {', '.join(unfillable)}")
        self.step_types = [s.type for s in definition.steps]
        self._details_json = {
            access: {**self.details.model_dump(), "access": access} for access in (True, False)
        }
        self.template = self.renderer.card(SourceFacts())

    @property
    def image_version(self) -> str:
        return self.details.image_version or "1.latest"

    @property
    def has_oauth_step(self) -> bool:
        return "oauth" in self.step_types

    def access_for(self, account_tier: str) -> bool:
        return self.details.access_for(account_tier)

    def type_card(self, account_tier: str) -> dict[str, Any]:
        """``GET /v4/source-types/{type}``: the template card with details and upgrade info."""
        return {
            **self.template,
            "details": self._details_json[self.access_for(account_tier)],
            "upgrade_available": self.definition.upgrade_available,
        }

    def system_values(self, account_id: int, source_id: int) -> dict[str, str]:
        """Values the system fills at creation for read-only properties."""
        values: dict[str, str] = {}
        if "image_version" in self.properties:
            values["image_version"] = self.image_version
        context = {"account_id": account_id, "source_id": source_id, "image_version": self.image_version}
        for name, template in self.definition.system_values.items():
            values[name] = template.format(**context)
        values.update(IMPLICIT_READ_ONLY)
        return values
