"""The company a token is bound to, as Spiris names it: the one model the web (at the callback) and the
operator (when it verifies a connection) read from ``GET /v2/companysettings``."""

from __future__ import annotations

from dataclasses import dataclass

from spiris_client.models import CompanySettings

__all__ = ["CompanyIdentity"]


@dataclass(frozen=True)
class CompanyIdentity:
    """Name, organisation number and Spiris' company identifier (empty when Spiris sends none), plus the
    state the web's company checks look at (``CompanyStatus``, ``ProductVariant``, ``ActivatedModules``)."""

    name: str
    corporate_identity_number: str = ""
    identifier: str = ""
    company_status: int | None = None
    product_variant: int | None = None
    activated_modules: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: CompanySettings) -> CompanyIdentity:
        """The identity in a company-settings answer."""
        return cls(
            name=settings.name,
            corporate_identity_number=settings.corporate_identity_number or "",
            identifier=settings.company_identifier or "",
            company_status=settings.company_status,
            product_variant=settings.product_variant,
            activated_modules=tuple(settings.activated_modules),
        )
