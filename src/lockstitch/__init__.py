"""Lockstitch: a self-hosted server for the Stitch Connect API v4."""

__version__ = "0.1.0"
