"""The S3 tests' context: the operator's S3 settings point at the session's local S3 server."""

from __future__ import annotations

import pytest

from lockstitch.context import Context
from tests.conftest import MakeContext
from tests.s3_server import S3Server, s3_server

__all__ = ["s3_server"]  # the fixture, for this folder's tests


@pytest.fixture
async def ctx(make_ctx: MakeContext, s3_server: S3Server) -> Context:
    return make_ctx(s3=s3_server.settings())
