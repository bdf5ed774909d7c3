"""Shared toolkit: database, crypto, errors, time, logging, JSON responses.

Nothing in here knows about a domain (sources, accounts...); domains build on it.
"""
