"""Names and label values of a connection's children, kept within Kubernetes' 63-character limits.

A connection's FiscalYearSyncs are named ``{connection}-{year}`` and their Jobs
``{fiscalyearsync}-sync-{run}``; both names are also label values (``job-name``, the connection and
FiscalYearSync labels), which Kubernetes caps at 63 characters. A name that would be longer keeps as much of
its base as fits, then a short hash of the whole base, then its suffix — deterministic, so the operator finds
the same child again after a restart, and distinct for two long bases that share a prefix.
"""

from __future__ import annotations

import hashlib

__all__ = ["MAX_LABEL_VALUE", "bounded_name", "label_value"]

MAX_LABEL_VALUE = 63
_DIGEST = 8


def bounded_name(base: str, suffix: str = "", *, limit: int = MAX_LABEL_VALUE) -> str:
    """``base + suffix``, or ``{base prefix}-{hash of base}{suffix}`` when that would exceed ``limit``."""
    if len(base) + len(suffix) <= limit:
        return f"{base}{suffix}"
    digest = hashlib.sha256(base.encode()).hexdigest()[:_DIGEST]
    keep = limit - len(suffix) - _DIGEST - 1
    return f"{base[:keep].rstrip('-.')}-{digest}{suffix}"


def label_value(name: str) -> str:
    """``name`` as a label value (names up to 63 characters are kept as they are)."""
    return bounded_name(name)
