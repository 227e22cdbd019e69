"""Values shown in messages: never raises, whatever the value.

A diagnostic quotes what the user wrote.  Python refuses to turn an integer of
more than 4300 decimal digits into text (`sys.set_int_max_str_digits`), a
string may hold control characters, bidirectional controls or lone surrogates
that a terminal would act on or could not print, and a value may be of any
type.  `shown(value)` gives a short, printable form of anything:
integers above 24 decimal digits abbreviated (first digits and count; beyond
thousands of digits by their hex form and bit count),
text escaped and cut to 40 characters, other values by their type.
`did_you_mean(word, options)` is the hint every "unknown name" message gives.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MAX_DIGITS = 24
MAX_TEXT = 40


def shown_int(n: int) -> str:
    """`n` in decimal, abbreviated when long: `100000...(31 digits)`, `0x1234...(20000 bits)`."""
    if -(10**MAX_DIGITS) < n < 10**MAX_DIGITS:
        return str(n)
    sign = "-" if n < 0 else ""
    if abs(n).bit_length() < 4000 * 3:  # well below Python's 4300-digit limit
        text = str(abs(n))
        return f"{sign}{text[:6]}...({len(text)} digits)"
    digits = f"{abs(n):x}"  # hex has no digit limit
    return f"{sign}0x{digits[:6]}...({abs(n).bit_length()} bits)"


def shown_size(n: int) -> str:
    """A size or address in hex, abbreviated when it is long."""
    return f"0x{n:x}" if n.bit_length() <= 80 else shown_int(n)


def shown_text(text: str, limit: int = MAX_TEXT) -> str:
    """`text` escaped to printable ASCII (`\\n`, `\\u202e`, `\\ud800`) and cut to `limit`."""
    escaped = text.encode("unicode_escape", "backslashreplace").decode("ascii")
    return escaped if len(escaped) <= limit else escaped[: limit - 3] + "..."


def shown(value: Any) -> str:
    """Any value, short and printable: text quoted and escaped, integers abbreviated."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return shown_int(value)
    if isinstance(value, str):
        return f"'{shown_text(value)}'"
    if isinstance(value, float):
        return repr(value)
    return type(value).__name__


def did_you_mean(word: str, options: Iterable[str], cutoff: float = 0.6) -> str | None:
    """`did you mean 'x'?` for the option most like `word` (difflib's ratio at least
    `cutoff`), or None when none is close."""
    import difflib  # only when a name is unknown: the clean start does without it

    close = difflib.get_close_matches(word, list(options), n=1, cutoff=cutoff)
    return f"did you mean '{close[0]}'?" if close else None
