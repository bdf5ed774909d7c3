"""ORM models, one per file. Import from here: ``from lockstitch.models import Source``."""

from lockstitch.kit.db import Base
from lockstitch.models.account import Account
from lockstitch.models.account_origin import AccountOrigin
from lockstitch.models.api_token import ApiToken
from lockstitch.models.audit_entry import AuditEntry
from lockstitch.models.connection_check import CheckState, ConnectionCheck
from lockstitch.models.destination import Destination
from lockstitch.models.event import Event
from lockstitch.models.extraction import Extraction, ExtractionState
from lockstitch.models.extraction_log import ExtractionLog
from lockstitch.models.load import Load
from lockstitch.models.oauth_app import OAuthAppFlag
from lockstitch.models.oauth_credential import OAuthCredential
from lockstitch.models.oauth_state import OAuthState
from lockstitch.models.source import Source
from lockstitch.models.source_state import SourceState
from lockstitch.models.stream import Stream

__all__ = [
    "Account",
    "AccountOrigin",
    "ApiToken",
    "AuditEntry",
    "Base",
    "CheckState",
    "ConnectionCheck",
    "Destination",
    "Event",
    "Extraction",
    "ExtractionLog",
    "ExtractionState",
    "Load",
    "OAuthAppFlag",
    "OAuthCredential",
    "OAuthState",
    "Source",
    "SourceState",
    "Stream",
]
