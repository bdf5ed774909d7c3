"""Destinations and destination types (spec 2.3, 3.14)."""
