"""Property rules for sources: how a value is kept, for the rules of ``catalog.property_rules``.

A value must validate, as sent, against the property's ``json_schema`` (formats included);
without a schema it must be a string. A number or boolean is stored (and returned) as a string,
as Stitch's Source object carries them (spec 9.23); arrays and objects, which only array or
object schemas accept, stay as sent. The implicit ``product`` is read-only. Rejections name
properties in ``bad_properties``, never their values.
"""

from __future__ import annotations

from typing import Any

from lockstitch.catalog import property_rules
from lockstitch.catalog.property_rules import PropertyChanges
from lockstitch.catalog.source_type import IMPLICIT_READ_ONLY

# Changing these reschedules a source; it does not change what the tap connects to.
SCHEDULE_PROPERTIES = frozenset({"frequency_in_minutes", "anchor_time", "cron_expression"})


def touches_connection(changes: PropertyChanges) -> bool:
    """Whether the change could alter what the tap connects to (so a new check is due)."""
    return bool(changes.names - SCHEDULE_PROPERTIES)


def as_string(value: Any) -> Any:
    """Spec 9.23: ``5432`` reads ``"5432"``, ``true`` reads ``"true"``; strings, null, arrays and
    objects are unchanged. Applied when a value is stored and again when one is shown (rows
    written before the rule)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


# The rules of ``catalog.property_rules``: values kept by ``as_string``, checked as sent.
RULES = property_rules.ValueRules(
    stored=as_string,
    valid=lambda spec, value, _: spec.is_valid(value),
    implicit_read_only=IMPLICIT_READ_ONLY,
)
