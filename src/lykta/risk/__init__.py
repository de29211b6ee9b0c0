"""Risk flags: word lists that mark a conversation for the workers' attention.

See :mod:`lykta.risk.matcher` for the word list format and matching rules.
"""

from lykta.risk.matcher import (
    CATEGORIES,
    LANGUAGES,
    MAX_GAP,
    Pattern,
    Word,
    WordList,
    load_builtin,
    normalise,
    parse_lines,
    parse_pattern,
)

__all__ = [
    "CATEGORIES",
    "LANGUAGES",
    "MAX_GAP",
    "Pattern",
    "Word",
    "WordList",
    "load_builtin",
    "normalise",
    "parse_lines",
    "parse_pattern",
]
