"""The pricing tiers (plans) an account can be on, and their one order.

A plan gates source and destination types (a type's ``details.pricing_tier``), cron schedules
(premium and above) and how many destinations an account may have. The values are Stitch's wire
strings, stored as they are in ``accounts.pricing_tier``.
"""

from __future__ import annotations

from enum import StrEnum


class PricingTier(StrEnum):
    STANDARD = "standard"
    PREMIUM = "premium"
    ENTERPRISE = "enterprise"


_RANK = {tier.value: rank for rank, tier in enumerate(PricingTier)}


def meets(tier: str, required: str) -> bool:
    """Whether an account on ``tier`` may use what ``required`` gates. A tier this server does
    not know ranks lowest, so an odd row can lose access but never gain it."""
    return _RANK.get(tier, 0) >= _RANK[required]
