"""The strings the page scripts show, translated by the server and embedded in the page.

Keys are what ``chat.js`` and ``app.js`` look up; values are English source strings marked
with ``N_`` for extraction. ``{name}``-style placeholders are filled in by the scripts and
must be kept as they are in translations.
"""

from __future__ import annotations

from lykta.i18n import N_

_COMMON: dict[str, str] = {
    "pending": N_("Sending…"),
    "sent": N_("Sent"),
    "failed": N_("Not sent: {reason}"),
    "counter": N_("{count} / {max}"),
    "joined_event": N_("{name} joined the conversation"),
    "ended": N_("The conversation has ended"),
    "error": N_("Something went wrong. Please try again."),
}

YOUTH_STRINGS: dict[str, str] = {
    **_COMMON,
    "you": N_("You"),
    "worker": N_("Worker"),
    "waiting": N_("Waiting for a worker to join. You can already write your message."),
    "joined": N_("{name} has joined"),
}

STAFF_STRINGS: dict[str, str] = {
    **_COMMON,
    "youth": N_("Young person"),
    "staff": N_("Worker"),
    "chat_n": N_("Chat {number}"),
    "state_queued": N_("Waiting"),
    "state_active": N_("Active"),
    "state_closed": N_("Closed"),
    "with": N_("With {name}"),
    "waiting_for": N_("Waiting for {time}"),
    "last_activity": N_("Last activity {time}"),
    "unread": N_("{count} unread"),
}
