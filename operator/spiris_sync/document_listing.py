"""List-driven document metadata for large documents passes: pages of ``GET /supplierinvoices`` and
``GET /attachments`` instead of one call per document.

A full year needs thousands of supplier invoices and attachments; one list page (1000 items) replaces up to
1000 single GETs. Paging only pays while more ids are still needed than pages are left, so each walk reads
``Meta.TotalNumberOfPages`` from every page and stops as soon as every needed id is found or paging no longer
pays; small incremental runs (fewer than :data:`MIN_NEEDED` documents) never list at all and keep the
per-document path. Attachment pages are asked for with ``includeTemporaryUrl=true`` and the needed attachments
of each page are downloaded right away (links expire within minutes and are never stored, spiris-api.md §5
pitfall 9); a download that fails, or an id the list does not contain, is left to the per-document path, which
fetches a fresh link and decides whether the document is missing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor
from typing import Any

from spiris_client.api import SpirisApi
from spiris_client.errors import SpirisApiError
from spiris_client.models import Attachment, Page
from spiris_store.records import DocumentRecord

from spiris_sync.document_fetcher import DocumentFetcher, DocumentRef, DocumentUnavailable

logger = logging.getLogger(__name__)

# Below this many needed documents a list walk saves at most a few calls but reads pages of up to 1000 items
# (and has 1000 fresh links issued); the per-document path keeps small re-syncs at a handful of calls.
MIN_NEEDED = 10


def _paging_pays(page: Page[Any], *, still_needed: int) -> bool:
    """Whether reading the rest of the list costs fewer calls than getting ``still_needed`` ids singly."""
    pages_left = page.meta.total_pages - page.meta.current_page
    return still_needed > 0 and not page.is_last and pages_left < still_needed


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def supplier_invoice_attachments(
    api: SpirisApi, invoice_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, tuple[uuid.UUID, ...]]:
    """The attachment ids of the needed supplier invoices that ``GET /supplierinvoices`` lists; ids left
    out are for the caller to fetch singly. Empty if too few are needed or list items lack ``Attachments``."""
    needed = set(invoice_ids)
    if len(needed) < MIN_NEEDED:
        return {}
    index: dict[uuid.UUID, tuple[uuid.UUID, ...]] = {}
    try:
        for page in api.supplier_invoices():
            if any("Attachments" not in invoice.raw for invoice in page.items):
                # INFERRED: spiris-api.md §3.9 does not promise that list items carry Attachments as the
                # single GET does; without them the list cannot replace that GET, so every invoice is
                # fetched singly.
                logger.warning("supplier invoice list items lack Attachments; fetching the invoices singly")
                return {}
            for invoice in page.items:
                invoice_id = _uuid(invoice.id)
                if invoice_id in needed:
                    attachments = (_uuid(a) for a in invoice.attachments)
                    index[invoice_id] = tuple(a for a in attachments if a is not None)
            if not _paging_pays(page, still_needed=len(needed) - len(index)):
                break
    except SpirisApiError as exc:
        # A variant without supplier invoices (4009), a refused scope or query: the per-document path then
        # decides, invoice by invoice, what is missing — the listing is an optimisation, never fatal.
        logger.warning("supplier invoice list refused (%s); fetching the rest one by one", exc.status)
    logger.info("supplier invoice list gave %d of %d needed invoices", len(index), len(needed))
    return index


def download_listed_attachments(
    *,
    fetcher: DocumentFetcher,
    wanted: Mapping[uuid.UUID, DocumentRef],
    pool: Executor,
    on_page: Callable[[list[DocumentRecord]], None],
) -> int:
    """Walk ``GET /attachments?includeTemporaryUrl=true`` and download each page's wanted attachments at once,
    in ``pool``; ``on_page`` gets each page's stored records (in the caller's thread, to commit them). Returns
    how many were stored; whatever failed or was not listed is left to the per-document path."""
    if len(wanted) < MIN_NEEDED:
        return 0
    seen: set[uuid.UUID] = set()
    stored = 0
    try:
        for page in fetcher.api.attachments(include_matched=True, include_temporary_url=True):
            listed: list[tuple[DocumentRef, Attachment]] = []
            for attachment in page.items:
                attachment_id = _uuid(attachment.id)
                if attachment_id is not None and attachment_id in wanted and attachment_id not in seen:
                    seen.add(attachment_id)
                    listed.append((wanted[attachment_id], attachment))
            records = [r for r in pool.map(lambda item: _download(fetcher, *item), listed) if r is not None]
            stored += len(records)
            on_page(records)
            if not _paging_pays(page, still_needed=len(wanted) - len(seen)):
                break
    except SpirisApiError as exc:
        # Refused listing (scope, variant, query): the per-document path fetches and judges each one.
        logger.warning("attachments list refused (%s); the rest go one by one", exc.status)
    logger.info(
        "attachments list: %d of %d wanted attachments listed, %d downloaded from list links",
        len(seen),
        len(wanted),
        stored,
    )
    return stored


def _download(fetcher: DocumentFetcher, ref: DocumentRef, attachment: Attachment) -> DocumentRecord | None:
    try:
        return fetcher.fetch_listed(ref, attachment)
    except DocumentUnavailable as exc:
        # Not missing yet: the per-document path tries again with a fresh link and records it if it fails.
        logger.info("listed attachment %s left to the per-document path: %s", ref.spiris_id, exc.reason)
        return None
