"""ORM models, one per file. Import from here: ``from lockstitch.models import Source``."""

from lockstitch.kit.db import Base
from lockstitch.models.account import Account
from lockstitch.models.api_token import ApiToken
from lockstitch.models.connection_check import ConnectionCheck
from lockstitch.models.source import Source

__all__ = ["Account", "ApiToken", "Base", "ConnectionCheck", "Source"]
