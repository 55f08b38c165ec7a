"""Texts and durations shown to people. Texts (rejected-pair samples, report tables) are cut to a readable
length: one 10 MB line in a corpus must not make a 10 MB report."""
from __future__ import annotations

# Characters of a text kept for display.
DISPLAY_CHARS = 500


def shorten(text: str, limit: int = DISPLAY_CHARS) -> str:
    """`text` itself when at most `limit` characters long; else its first `limit` characters followed by
    " … [N more characters]"."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]} … [{len(text) - limit} more characters]"


def format_duration(seconds: float) -> str:
    """`1h 02m`, `4m 05s` or `17s` for a duration in seconds (rounded; negative counts as 0), for
    progress lines."""
    seconds = int(round(max(seconds, 0.0)))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"
