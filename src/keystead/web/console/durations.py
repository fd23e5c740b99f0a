"""Durations as people say them ("1 day", "1 hour 30 minutes"), not as stored (86400 seconds)."""

from __future__ import annotations

# Largest unit first. No weeks: "14 days" reads better than "2 weeks" for the windows and
# lifetimes the console shows.
UNITS = (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1))


def duration(seconds: int | str | None) -> str:
    """``seconds`` in days, hours, minutes and seconds, exactly (the ``duration`` filter).

    Units with nothing in them are left out: 86_430 is "1 day 30 seconds". Zero is
    "0 seconds" and ``None`` "—"; text that is not a whole number, and a negative number, come
    back as they are (a form may show again what was typed).
    """
    if seconds is None:
        return "—"
    if isinstance(seconds, str):
        if not (seconds.isascii() and seconds.isdigit()) or len(seconds) > 12:
            return seconds
        seconds = int(seconds)
    if seconds <= 0:
        return "0 seconds" if seconds == 0 else str(seconds)
    said = []
    left = seconds
    for name, size in UNITS:
        count, left = divmod(left, size)
        if count:
            said.append(f"{count:,} {name}{'' if count == 1 else 's'}")
    return " ".join(said)
