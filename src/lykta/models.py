"""Imports every model so that ``Base.metadata`` is complete (Alembic, tests)."""

from lykta.audit.models import AuditEntry
from lykta.conversations.models import Conversation, Message, Note
from lykta.db import Base
from lykta.push.models import PushSubscription, VapidKey
from lykta.retention.models import DailyStats, JobLease
from lykta.staff.models import Invitation, RecoveryCode, StaffSession, StaffUser
from lykta.teams.models import CannedReply, OpeningException, OpeningHours, RiskWord, Team

__all__ = [
    "AuditEntry",
    "Base",
    "CannedReply",
    "Conversation",
    "DailyStats",
    "Invitation",
    "JobLease",
    "Message",
    "Note",
    "OpeningException",
    "OpeningHours",
    "PushSubscription",
    "RecoveryCode",
    "RiskWord",
    "StaffSession",
    "StaffUser",
    "Team",
    "VapidKey",
]
