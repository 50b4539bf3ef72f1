"""Swedish organisation numbers (organisationsnummer) compared the way people and Spiris write them.

Spiris may report a company's number as ``556585-4444``, ``5565854444``, ``556585 4444`` or with an en dash;
the CRD asks for ``NNNNNN-NNNN``. The web component (at consent) and the operator (when it verifies the token)
must agree on what "the same company" means, or a consent the web accepted is flagged WrongCompany by the
operator forever, so both compare through :func:`normalise` here. Letters are kept (upper-cased) so foreign
identifiers never collapse into each other.
"""

from __future__ import annotations

import re

__all__ = ["normalise", "same_company"]

# Whitespace (incl. no-break and thin spaces), ASCII hyphen, the Unicode hyphens and dashes, the minus sign.
_SEPARATORS = re.compile(r"[\s\u00a0\u2009\u202f\-\u2010-\u2015\u2212]")


def normalise(value: str | None) -> str:
    r"""``556677-8899``, ``5566778899``, ``556677 8899`` and ``556677\u20138899`` all give ``5566778899``."""
    return _SEPARATORS.sub("", value or "").upper()


def same_company(reported: str | None, expected: str | None) -> bool:
    """Whether the number Spiris reported is the expected one (an empty report never matches)."""
    left = normalise(reported)
    return bool(left) and left == normalise(expected)
