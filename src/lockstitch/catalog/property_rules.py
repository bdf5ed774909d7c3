"""The rules a POST or PUT meets when it sets the properties of a card, sources' and destinations'
alike (``sources.properties`` and ``destinations.properties`` say how each stores a value):

* unknown names are rejected;
* ``read_only`` ones (and a kind's implicit ones, the sources' ``product``) cannot be set:
  re-sending the current value is accepted as a no-op, so clients that PUT back what they GET
  keep working;
* ``user_provided_immutable`` cannot change once set;
* ``null`` clears an optional property; a required or immutable one cannot be cleared;
* a value with no stored form, an empty string, or one holding a NUL character is never a value;
  every other value must pass the kind's validity check against the property's ``json_schema``.

Rejections are collected, not raised one by one: the client gets every bad name at once.
Values are never echoed: ``bad`` carries names only, since some are credentials.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from lockstitch.catalog.source_type import PropertySpec


@dataclass
class PropertyChanges:
    plain: dict[str, Any] = field(default_factory=dict)  # non-credential: name -> value (None clears)
    secrets: dict[str, Any] = field(default_factory=dict)  # credential: name -> value (None clears)
    bad: list[str] = field(default_factory=list)

    @property
    def names(self) -> set[str]:
        return set(self.plain) | set(self.secrets)

    def applied_to(self, properties: Mapping[str, Any]) -> dict[str, Any]:
        """``properties`` with the plain changes made: a value set, or removed when None."""
        updated = dict(properties)
        for name, value in self.plain.items():
            if value is None:
                updated.pop(name, None)
            else:
                updated[name] = value
        return updated


def has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    return False


@dataclass(frozen=True)
class ValueRules:
    """How one kind of object keeps its property values: ``stored(value)`` is the form a value
    is kept (and compared) in, None when it can have none; ``valid(spec, value, stored_value)``
    checks a value against its property's schema; ``implicit_read_only`` names properties no card
    lists that still cannot be set."""

    stored: Callable[[Any], Any]
    valid: Callable[[PropertySpec, Any, Any], bool]
    implicit_read_only: Collection[str] = ()

    def review(
        self,
        properties: Mapping[str, PropertySpec],
        incoming: Mapping[str, Any],
        current: Mapping[str, Any],
        current_secrets: frozenset[str],
    ) -> PropertyChanges:
        """The changes ``incoming`` asks of an object of a type with these ``properties`` whose
        values are ``current`` (plain) and ``current_secrets`` (names of sealed credentials)."""
        stored = self.stored
        changes = PropertyChanges()
        for name, value in incoming.items():
            spec = properties.get(name)
            if name in self.implicit_read_only or (
                spec is not None and spec.definition.property_type == "read_only"
            ):
                if stored(value) != stored(current.get(name)):
                    changes.bad.append(name)
                continue
            if spec is None:
                changes.bad.append(name)
                continue
            definition = spec.definition
            is_set = current.get(name) is not None or name in current_secrets
            target = changes.secrets if definition.is_credential else changes.plain
            if value is None:
                if is_set and (
                    definition.is_required or definition.property_type == "user_provided_immutable"
                ):
                    changes.bad.append(name)
                elif is_set:
                    target[name] = None
                continue
            form = stored(value)
            if form is None or form == "" or has_nul(form) or not self.valid(spec, value, form):
                changes.bad.append(name)
                continue
            if definition.property_type == "user_provided_immutable" and is_set:
                # A credential cannot be compared without decrypting it; an immutable one is final.
                if definition.is_credential or form != stored(current.get(name)):
                    changes.bad.append(name)
                continue
            target[name] = form
        return changes
