"""Errors meant for a person: a gettext msgid with named parameters.

``str(error)`` is the English text (for the CLI and logs); ``translated(locale)`` is what a
page shows.
"""

from __future__ import annotations

from lykta.i18n import get_translations


class UserError(ValueError):
    def __init__(self, message: str, **params: object) -> None:
        self.message = message
        self.params = params
        super().__init__(message % params if params else message)

    def translated(self, locale: str) -> str:
        text = get_translations(locale).gettext(self.message)
        return text % self.params if self.params else text
