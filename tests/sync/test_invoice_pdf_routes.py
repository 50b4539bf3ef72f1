"""Customer-invoice PDFs are split evenly and stably between `/print` and `/pdf` by invoice id."""

from __future__ import annotations

import uuid

from spiris_sync import invoice_pdf_routes


def test_the_split_is_even_and_stable() -> None:
    ids = [uuid.UUID(int=n * 7919 + 13) for n in range(2000)] + [uuid.uuid4() for _ in range(2000)]
    routes = [invoice_pdf_routes.primary(i) for i in ids]
    assert set(routes) == {"print", "pdf"}
    assert 0.45 < routes.count("pdf") / len(routes) < 0.55
    # A retry of one invoice, in another process, takes the same route; the text form agrees with the UUID.
    assert [invoice_pdf_routes.primary(str(i)) for i in ids] == routes
    assert invoice_pdf_routes.primary(None) == "print"
