"""Cleaning text from Spiris JSON: NUL characters and lone surrogates become U+FFFD where the JSON is parsed.

JSON may carry ``\\u0000`` and unpaired ``\\ud800``-style escapes; Python parses both into ``str``, but
PostgreSQL refuses NUL in text and UTF-8 cannot encode a lone surrogate, so one such voucher text would make
every run fail at the same page for good. Each offending character is replaced with the replacement character
(the text stays recognisable, the change is visible) and the number of cleaned strings is counted, so the run
record can say that its copy differs from Spiris' bytes and how often.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["REPLACEMENT", "clean_tree"]

REPLACEMENT = "\ufffd"
_BAD = re.compile("[\x00\ud800-\udfff]")


def clean_tree(value: Any) -> tuple[Any, int]:
    """``value`` (parsed JSON) with every string cleaned, and how many strings (keys too) were changed."""
    if isinstance(value, str):
        cleaned, n = _BAD.subn(REPLACEMENT, value)
        return cleaned, int(n > 0)
    if isinstance(value, list):
        total = 0
        items = []
        for item in value:
            cleaned, n = clean_tree(item)
            items.append(cleaned)
            total += n
        return (items, total) if total else (value, 0)
    if isinstance(value, dict):
        total = 0
        entries = {}
        for key, item in value.items():
            clean_key, nk = clean_tree(key) if isinstance(key, str) else (key, 0)
            cleaned, n = clean_tree(item)
            entries[clean_key] = cleaned
            total += nk + n
        return (entries, total) if total else (value, 0)
    return value, 0
