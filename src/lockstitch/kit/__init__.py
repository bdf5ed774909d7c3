"""Shared toolkit: database, crypto, errors, time, logging, JSON responses, path ids, names.

Nothing in here knows about a domain (sources, accounts...); domains build on it.
"""
