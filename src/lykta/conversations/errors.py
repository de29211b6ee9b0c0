"""Errors the conversation layer reports to clients, each with a stable protocol code."""

from __future__ import annotations

from lykta.i18n import N_


class ConversationError(Exception):
    """An expected failure. ``code`` goes on the wire; ``message`` is a gettext msgid."""

    code = "error"
    message = N_("Something went wrong.")
    terminal = True
    """True when retrying the same frame can never succeed."""

    def __init__(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(self.message)


class NotFound(ConversationError):
    """Missing and forbidden look the same: nobody learns what exists elsewhere."""

    code = "not_found"
    message = N_("That conversation could not be found.")


class EmptyMessage(ConversationError):
    code = "empty"
    message = N_("Write something before sending.")


class MessageTooLong(ConversationError):
    code = "too_long"
    message = N_("The message is too long. Shorten it to 4,000 characters or fewer.")


class ConversationClosed(ConversationError):
    code = "closed"
    message = N_("This conversation has ended.")


class NotQueued(ConversationError):
    code = "not_queued"
    message = N_("Someone has already taken this conversation.")


class ResumeFailed(ConversationError):
    code = "resume_failed"
    message = N_("That code did not open a conversation. Check it and try again.")
    terminal = False


class Busy(ConversationError):
    code = "busy"
    message = N_("The message could not be saved just now. It will be sent again.")
    terminal = False
