"""Imports every model so that ``Base.metadata`` is complete (Alembic, tests)."""

from lykta.audit.models import AuditEntry
from lykta.conversations.models import Conversation, Message
from lykta.db import Base
from lykta.staff.models import Invitation, RecoveryCode, StaffSession, StaffUser
from lykta.teams.models import Team

__all__ = [
    "AuditEntry",
    "Base",
    "Conversation",
    "Invitation",
    "Message",
    "RecoveryCode",
    "StaffSession",
    "StaffUser",
    "Team",
]
