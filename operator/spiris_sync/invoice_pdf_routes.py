"""Which endpoint fetches a customer invoice's PDF: ``/print`` (the bytes) or ``/pdf`` (a temporary link).

Spiris counts its 600 requests per minute per client *and endpoint*, and a documents pass is bounded by one
call per customer invoice (there is no list of invoice PDFs). The two endpoints give identical bytes, so the
invoices are split evenly between them by their id — stable across runs and processes, so a retry of one
invoice takes the same route — and the two budgets run side by side. Plain function, no I/O.
"""

from __future__ import annotations

import uuid
from typing import Literal

__all__ = ["ROUTES", "primary"]

Route = Literal["print", "pdf"]
ROUTES: tuple[Route, ...] = ("print", "pdf")


def primary(invoice_id: uuid.UUID | str | None) -> Route:
    """The endpoint tried first for ``invoice_id`` (the other is the fallback)."""
    if invoice_id is None:
        return "print"
    value = invoice_id if isinstance(invoice_id, uuid.UUID) else uuid.UUID(str(invoice_id))
    return ROUTES[value.int % len(ROUTES)]
