"""Which company a connection may be consented for: bound by organisation number, or any by explicit choice.

A consent link that leaks must not be able to connect whatever company the person who opens it picks, so a
connection is bound to ``spec.expectedCorporateIdentityNumber`` by default; ``spec.allowAnyCompany: true``
is the explicit opt-out (the CRD refuses both at once). A connection with neither cannot be consented: the
operator publishes no link and says what is missing, and the web refuses any link for it. Web and operator
read the spec through this one module so they can never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["NOT_BOUND_MESSAGE", "CompanyBinding", "binding_of"]

NOT_BOUND_MESSAGE = (
    "spec.expectedCorporateIdentityNumber is not set: set it to the company's organisation number "
    "(NNNNNN-NNNN), or set spec.allowAnyCompany: true to accept whichever company the consenting person "
    "picks; no consent link is published until then"
)


@dataclass(frozen=True)
class CompanyBinding:
    """``expected`` organisation number (empty when none) and whether any company is explicitly allowed."""

    expected: str
    any_company: bool

    @property
    def consentable(self) -> bool:
        """Whether a consent may be given at all."""
        return bool(self.expected) or self.any_company


def binding_of(connection_or_spec: Mapping[str, Any]) -> CompanyBinding:
    """The binding of a SpirisConnection (or of its ``spec``)."""
    spec = (connection_or_spec.get("spec") if "spec" in connection_or_spec else connection_or_spec) or {}
    return CompanyBinding(
        expected=str(spec.get("expectedCorporateIdentityNumber") or ""),
        any_company=spec.get("allowAnyCompany") is True,
    )
