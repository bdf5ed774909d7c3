"""HTTP routes (thin): shapes in schemas, rules in service."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
