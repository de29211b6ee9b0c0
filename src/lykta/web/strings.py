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
    "read": N_("Read"),
    "removed": N_("[removed]"),
}

YOUTH_STRINGS: dict[str, str] = {
    **_COMMON,
    "you": N_("You"),
    "worker": N_("Worker"),
    "waiting": N_("Waiting for a worker to join. You can already write your message."),
    "question": N_(
        "We are closed now, so the answer comes later. Write your question, keep your code "
        "and come back with it to read the answer."
    ),
    "joined": N_("{name} has joined"),
    "queue": N_("You are number {position} in the queue"),
    "eta": N_("Estimated wait: about {minutes} min"),
    "typing": N_("{name} is writing…"),
    "requeued": N_("You are back in the queue; the next available worker will answer"),
    # Before sending what looks like personal details (found only in the browser).
    "pii_id": N_(
        "It looks like your message contains a personal identity number. You don't have to "
        "tell us who you are."
    ),
    "pii_phone": N_(
        "It looks like your message contains a phone number. You don't have to tell us who you are."
    ),
    "pii_email": N_(
        "It looks like your message contains an e-mail address. You don't have to tell us "
        "who you are."
    ),
    "pii_address": N_(
        "It looks like your message contains a home address. You don't have to tell us who you are."
    ),
    "pii_many": N_(
        "It looks like your message contains personal details, such as a personal number, "
        "phone number, e-mail or address. You don't have to tell us who you are."
    ),
}

# The default closing topics and outcomes (``lykta.teams.defaults``) arrive from the server
# as their English keys; the worker app shows them translated, or as they are.
_TOPICS: dict[str, str] = {
    "topic:family": N_("family"),
    "topic:friends": N_("friends"),
    "topic:school": N_("school"),
    "topic:mental health": N_("mental health"),
    "topic:self-harm": N_("self-harm"),
    "topic:substance use": N_("substance use"),
    "topic:sexuality": N_("sexuality"),
    "topic:relationships": N_("relationships"),
    "topic:violence": N_("violence"),
    "topic:crime": N_("crime"),
    "topic:money": N_("money"),
    "topic:housing": N_("housing"),
    "topic:other": N_("other"),
    "outcome:advice given": N_("advice given"),
    "outcome:referral": N_("referral"),
    "outcome:follow-up agreed": N_("follow-up agreed"),
    "outcome:emergency contact made": N_("emergency contact made"),
    "outcome:listened": N_("listened"),
    "outcome:no contact": N_("no contact"),
}

STAFF_STRINGS: dict[str, str] = {
    **_COMMON,
    **_TOPICS,
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
    "question": N_("Question"),
    "at_risk": N_("At risk"),
    "flag": N_("Mark as at risk"),
    "unflag": N_("Remove the risk mark"),
    "requeued_event": N_("Put back in the queue"),
    "youth_typing": N_("The young person is writing…"),
    "team_open": N_("Team open"),
    "team_closed": N_("Team closed"),
    "new_message": N_("New message in {chat}"),
    "handed_to_you": N_("{chat} was handed to you"),
    "notes_n": N_("Notes ({count})"),
    "back_to_queue": N_("Back to the queue"),
    "remove": N_("Remove"),
    # The "Notifications" button (push.js).
    "push_on": N_("Notifications are on for this device. They never show what anyone wrote."),
    "push_off": N_("Notifications are off for this device."),
    "push_blocked": N_(
        "Notifications are blocked for Lykta in this browser's settings. Allow them there, "
        "then try again."
    ),
    "push_declined": N_("Notifications were not allowed, so they stay off."),
    "push_unsupported": N_(
        "This browser cannot show notifications from Lykta. On an iPhone or iPad, add Lykta "
        "to the home screen first."
    ),
    "push_unavailable": N_("Notifications are not switched on for this Lykta server."),
    "push_failed": N_(
        "Notifications could not be switched on: the browser did not reach its push service. "
        "Try again later."
    ),
}

# The embedding widget's own controls on the host site (``web/widget.py`` puts every
# language in ``/widget.js``; the host page's ``lang`` picks one). The chat in its frame
# carries all other text.
WIDGET_STRINGS: dict[str, str] = {
    "open": N_("Chat with us"),
    "close": N_("Hide the chat"),
    "title": N_("Anonymous chat"),
}
