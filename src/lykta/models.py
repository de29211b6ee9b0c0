"""Imports every model so that ``Base.metadata`` is complete (Alembic, tests)."""

from lykta.conversations.models import Conversation, Message
from lykta.db import Base
from lykta.staff.models import StaffSession, StaffUser
from lykta.teams.models import Team

__all__ = ["Base", "Conversation", "Message", "StaffSession", "StaffUser", "Team"]
