"""Fetching one document from Spiris and streaming it into the object store.

Three ways a voucher leads to a file (spiris-api.md §3.11): an attachment id (``GET /attachments/{id}`` then
its expiring ``TemporaryUrl``), a customer invoice (``/customerinvoices/{id}/print`` bytes, else the ``/pdf``
URL) and a supplier invoice (``/supplierinvoices/{id}`` → its attachment ids → attachments). Bytes are
streamed straight into ``DocumentStore.put_stream`` (hashed while streaming, content-addressed), never held in
memory. A document that cannot be had — 404, a link still expired after fresh ones, a broken download, a
refused scope or product variant (4009), any other 400 refusal of this one document, one object the store
rejects — raises :class:`DocumentUnavailable` with the reason, so it is recorded as missing and retried next
run; not-found is recognised by ErrorCode (Spiris answers 400 + 3000 where its spec declares no 404). Spiris
or the store being down altogether propagates and stops the run, and so does a store that answers but refuses
upload after upload (`RefusalStreak`): each refused document would still cost its Spiris call.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Callable, Iterable

from spiris_client.api import SpirisApi
from spiris_client.downloads import Downloader
from spiris_client.errors import (
    BadRequest,
    DownloadError,
    DownloadExpired,
    DownloadRefused,
    DownloadTooLarge,
    Forbidden,
    NotFound,
    SpirisApiError,
)
from spiris_client.models import Attachment
from spiris_store.documents import DocumentStore
from spiris_store.errors import DocumentIntegrityError, StorageUnavailable
from spiris_store.records import DocumentRecord, DocumentSource

from spiris_sync import invoice_pdf_routes

CUSTOMER_INVOICE_TYPES = frozenset({14, 15, 23, 24})
SUPPLIER_INVOICE_TYPES = frozenset({12, 13, 25, 26})
PDF = "application/pdf"
# Refused uploads with none stored in between after which the store counts as down (see RefusalStreak).
REFUSALS_IN_A_ROW = 5


PRODUCT_VARIANT_CODE = 4009


def _code(exc: SpirisApiError) -> str:
    return f"{exc.status}" + (f", ErrorCode {exc.error_code}" if exc.error_code is not None else "")


def refusal_reason(exc: Forbidden) -> str:
    """A stored, human reason for a 403 on one document."""
    if exc.error_code == PRODUCT_VARIANT_CODE:
        return "the company's Spiris product variant does not include this document type (ErrorCode 4009)"
    return exc.guidance


class DocumentUnavailable(Exception):
    """This one document cannot be fetched now; ``reason`` is short and safe to store."""

    def __init__(self, reason: str, *, retryable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


@dataclasses.dataclass(frozen=True)
class DocumentRef:
    """One document a voucher refers to. For a supplier invoice ref, ``spiris_id`` is the invoice id until it
    is expanded into its attachments."""

    source: DocumentSource
    spiris_id: uuid.UUID
    invoice_id: uuid.UUID | None = None


class RefusalStreak:
    """The object store's refusals since its last stored document, across the pass's threads.

    One refused object (too large for this store, say) is that document's problem: it is recorded as missing
    and the pass goes on. A store that answers but refuses every upload (full volumes, a read-only bucket) is
    an outage, yet each document would still cost its Spiris call before being refused. So after `limit`
    refusals with no document stored in between the streak trips: that upload and every fetch started after
    it (before any Spiris call) raise `StorageUnavailable`, and the pass stops as "storage unavailable".
    """

    def __init__(self, limit: int = REFUSALS_IN_A_ROW) -> None:
        self._limit = limit
        self._count = 0
        self._tripped: str | None = None
        self._lock = threading.Lock()

    def refused(self, error: StorageUnavailable) -> StorageUnavailable | None:
        """Count one refusal; the error that stops the pass once the streak has tripped, else None."""
        with self._lock:
            self._count += 1
            if self._count >= self._limit and self._tripped is None:
                self._tripped = (
                    f"the object store answers but refused {self._count} documents in a row, "
                    f"the last: {error}"
                )
        return self.tripped()

    def stored(self) -> None:
        with self._lock:
            self._count = 0

    def tripped(self) -> StorageUnavailable | None:
        """The error to stop with, once the streak has tripped (it stays tripped for the pass)."""
        return StorageUnavailable(self._tripped) if self._tripped is not None else None


class DocumentFetcher:
    """Fetches documents for one company; safe to use from several threads."""

    def __init__(
        self, *, api: SpirisApi, downloader: Downloader, store: DocumentStore, company_key: str
    ) -> None:
        self._api = api
        self._downloader = downloader
        self._store = store
        self._company_key = company_key
        self._refusals = RefusalStreak()

    @property
    def api(self) -> SpirisApi:
        return self._api

    def supplier_invoice_attachments(self, invoice_id: uuid.UUID) -> tuple[uuid.UUID, ...]:
        """The attachment ids of a supplier invoice."""
        try:
            invoice = self._api.supplier_invoice(str(invoice_id))
        except NotFound as exc:
            raise DocumentUnavailable(f"supplier invoice not found in Spiris ({_code(exc)})") from None
        except Forbidden as exc:
            raise DocumentUnavailable(f"no access to supplier invoices: {refusal_reason(exc)}") from None
        except BadRequest as exc:
            raise DocumentUnavailable(f"Spiris refused the supplier invoice ({_code(exc)})") from None
        ids = []
        for value in invoice.attachments:
            try:
                ids.append(uuid.UUID(value))
            except ValueError:
                continue
        return tuple(ids)

    def fetch(self, ref: DocumentRef, *, attempts: int = 3) -> DocumentRecord:
        """Download ``ref`` into the store and return the document's metadata record.

        A download that breaks off midway is started over (with fresh metadata and link) ``attempts`` times in
        all before the document counts as missing.
        """
        self._stop_if_store_refuses()
        for attempt in range(1, attempts + 1):
            try:
                return self._fetch_once(ref)
            except DocumentUnavailable as exc:
                if not exc.retryable or attempt == attempts:
                    raise
        raise AssertionError("unreachable")

    def fetch_listed(self, ref: DocumentRef, attachment: Attachment) -> DocumentRecord:
        """Download an attachment through the ``TemporaryUrl`` an attachments list page just gave, once,
        without renewing the link: any failure raises :class:`DocumentUnavailable` and the caller falls back
        to :meth:`fetch` (``GET /attachments/{id}`` → a fresh link), which decides if it is missing."""
        self._stop_if_store_refuses()
        url = attachment.temporary_url
        if not url:
            raise DocumentUnavailable("the attachments list gave no download link")
        return self._mapped(
            lambda: self._put(
                ref,
                self._downloader.stream(url),
                content_type=attachment.content_type,
                file_name=attachment.file_name,
                attachment_id=ref.spiris_id,
            )
        )

    def _fetch_once(self, ref: DocumentRef) -> DocumentRecord:
        if ref.source == "customer_invoice_pdf":
            return self._mapped(lambda: self._customer_invoice_pdf(ref))
        return self._mapped(lambda: self._attachment(ref))

    def _mapped(self, download: Callable[[], DocumentRecord]) -> DocumentRecord:
        """Run ``download``, turning what makes this one document unavailable into DocumentUnavailable."""
        try:
            return download()
        except DocumentIntegrityError as exc:
            raise DocumentUnavailable(f"download corrupted: {exc}", retryable=True) from None
        except NotFound as exc:
            raise DocumentUnavailable(f"not found in Spiris ({_code(exc)})") from None
        except Forbidden as exc:
            raise DocumentUnavailable(f"no access: {refusal_reason(exc)}") from None
        except BadRequest as exc:
            # Any other refusal of this one document (e.g. a SourceId that is no invoice): missing, not fatal.
            raise DocumentUnavailable(f"Spiris refused this document ({_code(exc)})") from None
        except DownloadExpired:
            raise DocumentUnavailable(
                "temporary download link expired, also after fetching fresh ones"
            ) from None
        except DownloadTooLarge as exc:
            # The same bytes come back on every retry: recorded missing with the reason, never re-fetched now.
            raise DocumentUnavailable(f"too large: {exc}") from None
        except DownloadRefused as exc:
            raise DocumentUnavailable(f"download link refused: {exc}") from None
        except DownloadError as exc:
            raise DocumentUnavailable(f"download failed: {exc}", retryable=True) from None

    def _attachment(self, ref: DocumentRef) -> DocumentRecord:
        attachment_id = str(ref.spiris_id)
        attachment = self._api.attachment(attachment_id)

        def fresh_url() -> str | None:
            return self._api.attachment(attachment_id).temporary_url

        if not attachment.temporary_url:
            raise DocumentUnavailable("Spiris gave no download link for the attachment")
        chunks = self._downloader.stream(attachment.temporary_url, refresh_url=fresh_url)
        return self._put(
            ref,
            chunks,
            content_type=attachment.content_type,
            file_name=attachment.file_name,
            attachment_id=ref.spiris_id,
        )

    def _customer_invoice_pdf(self, ref: DocumentRef) -> DocumentRecord:
        invoice_id = str(ref.spiris_id)
        # Spiris limits each endpoint on its own: half the invoices go through `/print`, half through `/pdf`
        # (a temporary link, then a download from storage, which no API limit counts), so the two budgets
        # run side by side and the pass's floor halves. Either refused for another reason than a missing or
        # forbidden invoice: the other route is the documented alternative.
        routes = (self._invoice_print, self._invoice_link)
        first, second = routes if invoice_pdf_routes.primary(ref.spiris_id) == "print" else routes[::-1]
        try:
            return first(ref, invoice_id)
        except (NotFound, Forbidden):
            raise
        except (SpirisApiError, DownloadExpired):
            # DownloadExpired: the `/pdf` link was dead even when fetched again; `/print` needs no link.
            return second(ref, invoice_id)

    def _invoice_print(self, ref: DocumentRef, invoice_id: str) -> DocumentRecord:
        return self._put(ref, self._api.customer_invoice_print(invoice_id), content_type=PDF)

    def _invoice_link(self, ref: DocumentRef, invoice_id: str) -> DocumentRecord:
        url = self._api.customer_invoice_pdf_url(invoice_id)
        chunks = self._downloader.stream(
            url, refresh_url=lambda: self._api.customer_invoice_pdf_url(invoice_id)
        )
        return self._put(ref, chunks, content_type=PDF)

    def _put(
        self,
        ref: DocumentRef,
        chunks: Iterable[bytes],
        *,
        content_type: str | None,
        file_name: str | None = None,
        attachment_id: uuid.UUID | None = None,
    ) -> DocumentRecord:
        try:
            stored = self._store.put_stream(
                self._company_key,
                chunks,
                content_type=content_type,
                original_file_name=file_name,
                source=ref.source,
                spiris_id=ref.spiris_id,
                spiris_attachment_id=attachment_id,
                spiris_invoice_id=ref.invoice_id if ref.source != "customer_invoice_pdf" else ref.spiris_id,
            )
        except StorageUnavailable as exc:
            if not self.store_reachable():
                raise
            stop = self._refusals.refused(exc)
            if stop is not None:
                raise stop from None
            raise DocumentUnavailable(f"the object store refused this document ({exc})") from None
        self._refusals.stored()
        return DocumentRecord(
            company_key=self._company_key,
            source=ref.source,
            spiris_id=ref.spiris_id,
            sha256=stored.sha256,
            object_key=stored.object_key,
            content_type=stored.content_type,
            size_bytes=stored.size_bytes,
            original_file_name=file_name,
            spiris_attachment_id=attachment_id,
            spiris_invoice_id=ref.invoice_id if ref.source != "customer_invoice_pdf" else ref.spiris_id,
        )

    def _stop_if_store_refuses(self) -> None:
        stop = self._refusals.tripped()
        if stop is not None:
            raise stop

    def store_reachable(self) -> bool:
        """Whether the object store answers at all (tells one bad object from an outage)."""
        try:
            return bool(self._store.client.bucket_exists(self._store.bucket))
        except Exception:
            return False
