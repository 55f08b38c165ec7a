"""Texts shown to people (rejected-pair samples, report tables) are cut to a readable length: one 10 MB
line in a corpus must not make a 10 MB report."""
from __future__ import annotations

# Characters of a text kept for display.
DISPLAY_CHARS = 500


def shorten(text: str, limit: int = DISPLAY_CHARS) -> str:
    """`text` itself when at most `limit` characters long; else its first `limit` characters followed by
    " … [N more characters]"."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]} … [{len(text) - limit} more characters]"
